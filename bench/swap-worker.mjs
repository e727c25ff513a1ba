// Bench worker: activates generations 1 and 2 of a store alternately, as fast as it can, for
// DURATION ms; prints {"activations": n, "ms": elapsed}. Usage: node swap-worker.mjs DIR DURATION
// Blocking I/O, as the CLI and the agent use it: this process does nothing else.
import { GenerationStore, useBlockingIo } from '../dist/index.js';

useBlockingIo();
const [dir, duration] = process.argv.slice(2);
const store = await GenerationStore.open(dir);
const t0 = performance.now();
let n = 0;
while (performance.now() - t0 < Number(duration)) await store.activate(n++ % 2 ? 2 : 1);
process.stdout.write(`${JSON.stringify({ activations: n, ms: performance.now() - t0 })}\n`);
