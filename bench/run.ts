/**
 * `npm run bench`: the performance figures of docs/performance.md, and PEM framing under hostile input (section 8),
 * measured in one run on this machine, each as a median and p99 over its repetitions with its
 * ratio to a baseline measured in the same run.
 * Prints a table and writes bench/results.json. Not part of `npm test`.
 *
 *   npm run bench             the full run (a few minutes)
 *   npm run bench -- --quick  fewer repetitions, to check the bench itself works
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coldStart } from './coldstart.js';
import { benchPair, storeWithTwo } from './fixture.js';
import { ext4, tmpfs, type BenchFs } from './filesystems.js';
import { activation, install, type Row } from './latency.js';
import { memory } from './memory.js';
import { pemFraming, pemTable } from './pem.js';
import { readersUnderSwaps } from './readers.js';
import { scale } from './scale.js';
import { ratio } from './stats.js';
import { MINIMUM, straceAvailable, syscalls } from './syscalls.js';
import { table } from './table.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const CLI = path.join(root, 'dist', 'cli', 'certswap.cjs');
const quick = process.argv.includes('--quick');
const N = quick
  ? { act: 20, inst: 10, cold: 3, readMs: 500, sizes: [10, 100] }
  : { act: 200, inst: 100, cold: 15, readMs: 4000, sizes: [10, 100, 1000, 10000] };

function buildFloor(): string | null {
  const out = path.join(os.tmpdir(), `certswap-floor-${process.pid}`);
  const r = spawnSync('cc', ['-O2', '-Wall', '-Wno-format-truncation', '-o', out, path.join(here, 'floor.c')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(
      `bench: cannot compile bench/floor.c (${r.error?.message ?? r.stderr.trim()}); floor rows are left out`,
    );
    return null;
  }
  return out;
}

function latencyTable(title: string, rows: Row[], base: string): void {
  const b = rows.find((r) => r.method.startsWith(base))?.medianMs;
  table(
    title,
    ['method', 'median ms', 'p99 ms', 'n', `x ${base}`],
    rows.map((r) => [r.method, r.medianMs, r.p99Ms, r.n, b ? ratio(r.medianMs, b) : '-']),
  );
}

const started = Date.now();
execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
const floorBin = buildFloor();
const results: Record<string, unknown> = {
  when: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
  },
  quick,
};
const mounts: BenchFs[] = [tmpfs(), ext4()];
try {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'certswap-bench-'));
  const pairs = [await benchPair(work, 'a'), await benchPair(work, 'b')];
  const perFs: Record<string, unknown> = {};
  for (const m of mounts) {
    const act = await activation(m, pairs, floorBin, N.act);
    const inst = await install(m, pairs, floorBin, N.inst);
    perFs[m.name] = { detail: m.detail, activation: act, install: inst };
    latencyTable(`1. activation latency on ${m.name} (${m.detail})`, act, 'floor: same syscalls');
    latencyTable(`2. install latency on ${m.name}`, inst.rows, 'floor: same syscalls');
    const b = inst.breakdown;
    const floor = inst.rows.find((r) => r.method.startsWith('floor: same'))?.medianMs;
    const cs = inst.rows[0]!.medianMs;
    console.log(
      `   install breakdown (medians, ms): write ${b.writeMs}, fsync ${b.fsyncMs}, rename/symlink ${b.swapMs}, read ${b.readMs}, ` +
        `outside fs calls ${b.cpuMs} (of which validation ${b.validationMs} = ${b.validationPasses} passes)` +
        (floor ? `; (install - validation) / floor = ${ratio(cs - b.validationMs, floor)}` : ''),
    );
  }
  results.latency = perFs;

  const disk = mounts[1]!;
  if (straceAvailable()) {
    const sc = await syscalls(disk.dir, pairs, floorBin);
    results.syscalls = { ...sc, minimum: MINIMUM };
    const kinds = [
      'fsync',
      'rename',
      'symlink',
      'write',
      'create',
      'mkdir',
      'fchmod',
      'open',
      'read',
      'stat',
      'readlink',
      'readdir',
      'lock',
      'unlink',
    ];
    table(
      '3. system calls per operation on the store (strace -f; N=20, minus N=0)',
      ['syscall', 'install', 'floor', 'minimum', 'activate', 'floor', 'minimum'],
      kinds.map((k) => [
        k,
        sc.install.certswap[k] ?? 0,
        sc.install.floor?.[k] ?? '-',
        (MINIMUM.install as Record<string, number>)[k] ?? '-',
        sc.activate.certswap[k] ?? 0,
        sc.activate.floor?.[k] ?? '-',
        (MINIMUM.activate as Record<string, number>)[k] ?? '-',
      ]),
    );
  } else {
    console.log('\n3. system calls: strace is not installed (apt-get install strace); left out');
  }

  const coldDir = path.join(disk.dir, 'cold');
  await storeWithTwo(coldDir, pairs[0]!, pairs[1]!);
  const cold = coldStart(CLI, coldDir, N.cold);
  results.coldStart = cold;
  const nodeMs = cold['node -e 0']!.medianMs;
  table(
    '4. CLI cold start (whole process, wall)',
    ['command', 'median ms', 'p99 ms', 'n', 'x node -e 0'],
    Object.entries(cold).map(([k, s]) => [k, s.medianMs, s.p99Ms, s.n, ratio(s.medianMs, nodeMs)]),
  );

  const readers = await readersUnderSwaps(mounts[0]!.dir, pairs, 4, N.readMs, floorBin);
  results.readers = readers;
  table(
    '5. readers under swaps (tmpfs; 4 reader processes)',
    ['swapper', 'activations/s', 'reads/s', 'reads', 'torn', 'errors'],
    readers.map((r) => [r.swapper, r.activationsPerSecond, r.readsPerSecond, r.reads, r.torn, r.errors]),
  );

  const sc = await scale(disk.dir, pairs, N.sizes);
  results.scale = sc;
  table(
    `6. scale on ${disk.name} (in process)`,
    ['generations', 'status ms', 'recover ms', 'prune ms', 'pruned'],
    sc.map((r) => [r.generations, r.statusMs, r.recoverMs, r.pruneMs, r.pruned]),
  );

  const mem = await memory(work, CLI, pairs[0]!);
  results.memory = mem;
  table(
    '7. memory (peak RSS, MiB)',
    ['process', 'MiB'],
    [
      ...Object.entries(mem.cliPeakMiB).map(([k, v]) => [k, v]),
      ['agent, idle', mem.agent.idleRssMiB],
      ['agent, peak incl. a rotation', mem.agent.peakAfterRotationMiB],
      ['agent, after the rotation', mem.agent.rssAfterRotationMiB],
    ],
  );

  const pem = await pemFraming({ quick });
  results.pem = pem;
  pemTable(pem);
  fs.rmSync(work, { recursive: true, force: true });
} finally {
  for (const m of mounts) m.cleanup();
  if (floorBin) fs.rmSync(floorBin, { force: true });
}
results.seconds = Math.round((Date.now() - started) / 1000);
// A --quick run must not replace the full run's figures, which docs/performance.md quotes.
const out = quick ? 'results-quick.json' : 'results.json';
fs.writeFileSync(path.join(here, out), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nbench: wrote bench/${out} in ${results.seconds} s`);
