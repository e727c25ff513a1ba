/**
 * Section 6: status, recover and prune with 10 to 10,000 generations, in process. The store is
 * made with two real installs, then generations/1 is copied to 3..N (what a long-lived device
 * that never pruned would have); status, recover and prune then run against it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { GenerationStore } from '../dist/index.js';
import { storeWithTwo, type BenchPair } from './fixture.js';
import { summarise, timeEach } from './stats.js';

export interface ScaleRow {
  generations: number;
  statusMs: number;
  recoverMs: number;
  /** One run (it is destructive): removes all but 3 (plus the active one and its rollback target). */
  pruneMs: number;
  pruned: number;
}

export async function scale(base: string, pairs: BenchPair[], sizes: number[]): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const size of sizes) {
    const dir = path.join(base, `scale-${size}`);
    await storeWithTwo(dir, pairs[0]!, pairs[1]!);
    const one = path.join(dir, 'generations', '1');
    for (let g = 3; g <= size; g++) fs.cpSync(one, path.join(dir, 'generations', `${g}`), { recursive: true });
    const store = await GenerationStore.open(dir);
    const st = await store.status();
    if (st.generations.length !== size)
      throw new Error(`expected ${size} generations, status lists ${st.generations.length}`);
    const statusMs = summarise(await timeEach(5, 1, () => store.status())).medianMs;
    const recoverMs = summarise(await timeEach(3, 1, () => store.recover())).medianMs;
    const t0 = process.hrtime.bigint();
    const pruned = (await store.prune(3)).removed.length;
    const pruneMs = Number(process.hrtime.bigint() - t0) / 1e6;
    rows.push({ generations: size, statusMs, recoverMs, pruneMs: Number(pruneMs.toPrecision(4)), pruned });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
