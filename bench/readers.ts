/** Section 5: readActive throughput from several processes while another activates non-stop. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeWithTwo, type BenchPair } from './fixture.js';
import { round } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function run([cmd, ...args]: string[], stdin = false): { done: Promise<string>; ready: Promise<void>; end(): void } {
  const child = spawn(cmd!, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  let out = '';
  let readyResolve: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout!.on('data', (d) => {
    out += d;
    if (out.includes('ready\n')) readyResolve();
  });
  const done = new Promise<string>((resolve, reject) =>
    child.on('close', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop()!) : reject(new Error(`${args[0]} exited ${code}`)),
    ),
  );
  return { done, ready, end: () => child.stdin?.end() };
}

export interface ReadersResult {
  /** Who activates: certswap's own activate in a loop, or the C floor issuing the same calls. */
  swapper: string;
  readers: number;
  activationsPerSecond: number;
  readsPerSecond: number;
  reads: number;
  torn: number;
  errors: number;
}

/**
 * Readers in `readers` processes while one process activates back and forth for `durationMs`.
 * `swapper` is argv for that process; it prints JSON with {activations|count, ms}.
 */
async function phase(
  dir: string,
  pairs: BenchPair[],
  readers: number,
  swapper: string[],
  label: string,
): Promise<ReadersResult> {
  const rs = Array.from({ length: readers }, () =>
    run([process.execPath, path.join(here, 'read-worker.mjs'), dir, pairs[0]!.files.cert, pairs[1]!.files.cert], true),
  );
  await Promise.all(rs.map((r) => r.ready));
  const swap = JSON.parse(await run(swapper).done) as { activations?: number; count?: number; ms: number };
  for (const r of rs) r.end();
  const results = (await Promise.all(rs.map((r) => r.done))).map(
    (s) => JSON.parse(s) as { reads: number; torn: number; errors: number; ms: number },
  );
  return {
    swapper: label,
    readers,
    activationsPerSecond: round(((swap.activations ?? swap.count)! / swap.ms) * 1000),
    readsPerSecond: round(results.reduce((a, r) => a + (r.reads / r.ms) * 1000, 0)),
    reads: results.reduce((a, r) => a + r.reads, 0),
    torn: results.reduce((a, r) => a + r.torn, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
  };
}

export async function readersUnderSwaps(
  base: string,
  pairs: BenchPair[],
  readers: number,
  durationMs: number,
  floorBin: string | null,
): Promise<ReadersResult[]> {
  const out: ReadersResult[] = [];
  const dir = path.join(base, 'readers');
  await storeWithTwo(dir, pairs[0]!, pairs[1]!);
  out.push(
    await phase(
      dir,
      pairs,
      readers,
      [process.execPath, path.join(here, 'swap-worker.mjs'), dir, `${durationMs}`],
      'certswap activate',
    ),
  );
  if (floorBin) {
    const fdir = path.join(base, 'readers-floor');
    await storeWithTwo(fdir, pairs[0]!, pairs[1]!);
    out.push(
      await phase(fdir, pairs, readers, [floorBin, 'activate-for', fdir, `${durationMs}`], 'floor (C), same calls'),
    );
  }
  return out;
}
