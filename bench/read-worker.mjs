// Bench worker: readActive in a loop until stdin closes; counts reads and torn reads (a
// certificate and key that are not one generation's pair, or a number that is not theirs).
// Usage: node read-worker.mjs DIR CERT1 CERT2 (the certificates of generations 1 and 2)
import fs from 'node:fs';
import { GenerationStore } from '../dist/index.js';

const [dir, cert1, cert2] = process.argv.slice(2);
const certOf = { 1: fs.readFileSync(cert1), 2: fs.readFileSync(cert2) };
const store = await GenerationStore.open(dir, { create: false });
const keyOf = {};
for (const g of [1, 2]) keyOf[g] = fs.readFileSync(`${dir}/generations/${g}/key.pem`);
let stop = false;
process.stdin.on('end', () => (stop = true));
process.stdin.resume();
process.stdout.write('ready\n');
const c = { reads: 0, torn: 0, errors: 0 };
const t0 = performance.now();
while (!stop) {
  try {
    const r = await store.readActive();
    c.reads++;
    if (!r.cert.equals(certOf[r.generation]) || !r.key.equals(keyOf[r.generation])) c.torn++;
  } catch {
    c.errors++;
  }
  if (c.reads % 64 === 0) await new Promise((r) => setImmediate(r));
}
process.stdout.write(`${JSON.stringify({ ...c, ms: performance.now() - t0 })}\n`);
