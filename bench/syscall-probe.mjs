// Runs N installs or N activations on a prepared store, for `strace -ff`: the bench counts the
// system calls that touch the store, with N = 0 and N = n, and divides the difference by n.
// Usage: node syscall-probe.mjs install|activate DIR N CERT KEY CA
import fs from 'node:fs';
import { GenerationStore } from '../dist/index.js';

const [op, dir, n, cert, key, ca] = process.argv.slice(2);
const store = await GenerationStore.open(dir);
const input = { cert: fs.readFileSync(cert), key: fs.readFileSync(key), ca: fs.readFileSync(ca) };
for (let i = 0; i < Number(n); i++) {
  if (op === 'install') await store.install(input);
  else await store.activate(i % 2 ? 2 : 1);
}
