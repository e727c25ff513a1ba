// Runs one store operation in its own process and kills itself with SIGKILL right after the k-th
// mutating system call (k = 0: before the first). With k = -1 it runs to the end and reports the
// calls it made. Plain JavaScript over dist/, so that each of the hundreds of runs starts fast.
//
//   node op-child.mjs '{"op":"install","dir":"...","k":3,"cert":"...","key":"..."}'
// Prints one JSON line {"ok": true, "calls": [...]} if the operation reported success.
import fs from 'node:fs';
import path from 'node:path';
import { GenerationStore } from '../../dist/store/store.js';
import { fsHooks } from '../../dist/io/fs.js';
import { naiveInstall } from './naive-swap.mjs';

const spec = JSON.parse(process.argv[2]);
const calls = [];
let n = 0;
// Temporary names carry a pid and random hex; the matrix shows them as '*' so that it is stable.
const label = (file) => (path.relative(spec.dir, file) || '.').replace(/-\d+-[0-9a-f]{8,12}(?=$|\/)/g, '-*');
function step(op, file) {
  calls.push(`${op} ${label(file)}`);
  if (++n === spec.k) process.kill(process.pid, 'SIGKILL');
}
if (spec.k === 0) process.kill(process.pid, 'SIGKILL');

let result;
if (spec.op === 'naive-install') {
  naiveInstall(spec.dir, fs.readFileSync(spec.cert), fs.readFileSync(spec.key), step);
} else {
  const store = await GenerationStore.open(spec.dir, { lockTimeoutMs: 60_000, create: false });
  fsHooks.afterMutation = step;
  const input = spec.cert ? { cert: fs.readFileSync(spec.cert), key: fs.readFileSync(spec.key) } : undefined;
  switch (spec.op) {
    case 'install': result = await store.install(input); break;
    case 'activate': result = await store.activate(spec.generation); break;
    case 'rollback': result = await store.rollback(); break;
    case 'prune': result = await store.prune(spec.keep); break;
    case 'recover': result = await store.recover(); break;
    case 'commit': result = await store.commit(); break;
    default: throw new Error(`unknown op ${spec.op}`);
  }
}
process.stdout.write(`${JSON.stringify({ ok: true, calls, generation: result?.generation ?? null })}\n`);
