/**
 * Sections 1 and 2: activation and install latency, in process, against
 *   the floor      bench/floor.c issuing the same system calls from C (and the textbook minimum:
 *                  symlink + rename + fsync of the directory),
 *   naive          pending files, a backup copy, rename the certificate, rename the key (no fsync;
 *                  the same code the power-loss suite runs as the naive baseline),
 *   w-f-a          write-file-atomic of the certificate, then of the key (fsync each, no dir fsync).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { validatePair } from '../dist/index.js';
import { fsOps, useBlockingIo } from '../dist/io/fs.js';
import { naiveInstall } from '../test/powerloss/naive-swap.mjs';
import type { BenchFs } from './filesystems.js';
import { storeWithTwo, type BenchPair } from './fixture.js';
import { summarise, timeEach, type Summary } from './stats.js';

export interface Row extends Summary {
  method: string;
}

function floor(bin: string, args: string[], warmup: number): number[] {
  const out = JSON.parse(execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26 })) as { ns: number[] };
  return out.ns.slice(warmup).map((ns) => ns / 1e6);
}

function seedSwap(dir: string, pairs: BenchPair[]): (i: number) => void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'cert.pem'), pairs[0]!.input.cert);
  writeFileSync(path.join(dir, 'key.pem'), pairs[0]!.input.key);
  return (i) => {
    const p = pairs[i % 2]!.input;
    naiveInstall(dir, p.cert, p.key, () => undefined);
  };
}

function wfaSwap(dir: string, pairs: BenchPair[]): (i: number) => Promise<void> {
  return async (i) => {
    const p = pairs[i % 2]!.input;
    await writeFileAtomic(path.join(dir, 'cert.pem'), p.cert);
    await writeFileAtomic(path.join(dir, 'key.pem'), p.key, { mode: 0o600 });
  };
}

export async function activation(
  where: BenchFs,
  pairs: BenchPair[],
  floorBin: string | null,
  n: number,
): Promise<Row[]> {
  const warmup = Math.ceil(n / 10);
  const rows: Row[] = [];
  const store = await storeWithTwo(path.join(where.dir, 'act-certswap'), pairs[0]!, pairs[1]!);
  rows.push({
    method: 'certswap activate',
    ...summarise(await timeEach(n, warmup, (i) => store.activate(i % 2 ? 2 : 1))),
  });
  useBlockingIo(true);
  try {
    rows.push({
      method: 'certswap activate, blocking I/O',
      ...summarise(await timeEach(n, warmup, (i) => store.activate(i % 2 ? 2 : 1))),
    });
  } finally {
    useBlockingIo(false);
  }
  if (floorBin) {
    const dir = path.join(where.dir, 'act-floor');
    await storeWithTwo(dir, pairs[0]!, pairs[1]!);
    rows.push({
      method: 'floor: same syscalls (C)',
      ...summarise(floor(floorBin, ['activate', dir, `${n + warmup}`], warmup)),
    });
    rows.push({
      method: 'floor: symlink+rename+fsync dir (C)',
      ...summarise(floor(floorBin, ['minimal', dir, `${n + warmup}`], warmup)),
    });
  }
  const seed = seedSwap(path.join(where.dir, 'act-seed'), pairs);
  rows.push({ method: 'naive: backup + 2 renames, no fsync', ...summarise(await timeEach(n, warmup, seed)) });
  const wfaDir = path.join(where.dir, 'act-wfa');
  mkdirSync(wfaDir);
  rows.push({
    method: 'write-file-atomic cert, then key',
    ...summarise(await timeEach(n, warmup, wfaSwap(wfaDir, pairs))),
  });
  return rows;
}

export interface InstallBreakdown {
  /** Median per install, ms, by kind of work: wall time with such a call in flight. */
  writeMs: number;
  fsyncMs: number;
  swapMs: number;
  readMs: number;
  /** Wall time with no file system call in flight: validation, JSON, the runtime. */
  cpuMs: number;
  /** validatePair alone, median, times the passes install makes (once: in memory). */
  validationMs: number;
  validationPasses: number;
}

const KIND: Record<string, keyof Omit<InstallBreakdown, 'cpuMs' | 'validationMs' | 'validationPasses'>> = {
  open: 'writeMs',
  write: 'writeMs',
  fchmod: 'writeMs',
  close: 'writeMs',
  mkdir: 'writeMs',
  fsync: 'fsyncMs',
  rename: 'swapMs',
  symlink: 'swapMs',
  read: 'readMs',
  fstat: 'readMs',
  readlink: 'readMs',
  readdir: 'readMs',
  lstat: 'readMs',
  stat: 'readMs',
};

/** Records the interval of every fsOps call, by kind, while `fn` runs. */
async function withFsTimers<T>(spans: Array<[string, number, number]>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...fsOps };
  const ops = fsOps as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const [name, kind] of Object.entries(KIND)) {
    const real = saved[name as keyof typeof saved] as (...a: unknown[]) => Promise<unknown>;
    ops[name] = async (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return await real(...args);
      } finally {
        spans.push([kind, t0, performance.now()]);
      }
    };
  }
  try {
    return await fn();
  } finally {
    Object.assign(fsOps, saved);
  }
}

/** Wall time covered by at least one of `spans` (calls run side by side, so durations overlap). */
function covered(spans: Array<[string, number, number]>): number {
  const s = [...spans].sort((a, b) => a[1] - b[1]);
  let total = 0;
  let end = -Infinity;
  for (const [, a, b] of s) {
    if (a > end) {
      total += b - a;
      end = b;
    } else if (b > end) {
      total += b - end;
      end = b;
    }
  }
  return total;
}

export async function install(
  where: BenchFs,
  pairs: BenchPair[],
  floorBin: string | null,
  n: number,
): Promise<{ rows: Row[]; breakdown: InstallBreakdown }> {
  const warmup = Math.ceil(n / 10);
  const rows: Row[] = [];
  const store = await storeWithTwo(path.join(where.dir, 'inst-certswap'), pairs[0]!, pairs[1]!);
  /** n timed installs after `warmup`, pruning (untimed) every 25 to keep the directory small, as the agent does. */
  const installs = async (
    onSample?: (ms: number, spans: Array<[string, number, number]>) => void,
  ): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < n + warmup; i++) {
      if (i % 25 === 0) await store.prune(3);
      const spans: Array<[string, number, number]> = [];
      const t0 = performance.now();
      await (onSample
        ? withFsTimers(spans, () => store.install(pairs[i % 2]!.input))
        : store.install(pairs[i % 2]!.input));
      const ms = performance.now() - t0;
      if (i < warmup) continue;
      samples.push(ms);
      onSample?.(ms, spans);
    }
    return samples;
  };
  const parts: Record<string, number[]> = {};
  const threadPool = await installs((total, spans) => {
    // Each kind: the wall time during which a call of that kind was in flight.
    for (const kind of new Set(Object.values(KIND))) {
      parts[kind] ??= [];
      parts[kind].push(covered(spans.filter((x) => x[0] === kind)));
    }
    parts.cpuMs ??= [];
    parts.cpuMs.push(total - covered(spans));
  });
  rows.push({ method: 'certswap install', ...summarise(threadPool) });
  useBlockingIo(true);
  try {
    rows.push({ method: 'certswap install, blocking I/O', ...summarise(await installs()) });
  } finally {
    useBlockingIo(false);
  }
  if (floorBin) {
    const dir = path.join(where.dir, 'inst-floor');
    await storeWithTwo(dir, pairs[0]!, pairs[1]!);
    const f = pairs[0]!.files;
    rows.push({
      method: 'floor: same syscalls (C)',
      ...summarise(floor(floorBin, ['install', dir, `${n + warmup}`, f.cert, f.key, f.ca, f.meta], warmup)),
    });
  }
  const seed = seedSwap(path.join(where.dir, 'inst-seed'), pairs);
  rows.push({ method: 'naive: backup + 2 renames, no fsync', ...summarise(await timeEach(n, warmup, seed)) });
  const wfaDir = path.join(where.dir, 'inst-wfa');
  mkdirSync(wfaDir);
  rows.push({
    method: 'write-file-atomic cert, then key',
    ...summarise(await timeEach(n, warmup, wfaSwap(wfaDir, pairs))),
  });

  const validation = summarise(await timeEach(50, 5, () => validatePair(pairs[0]!.input)));
  const med = (k: string): number => summarise(parts[k] ?? [0]).medianMs;
  return {
    rows,
    breakdown: {
      writeMs: med('writeMs'),
      fsyncMs: med('fsyncMs'),
      swapMs: med('swapMs'),
      readMs: med('readMs'),
      cpuMs: med('cpuMs'),
      validationMs: validation.medianMs,
      validationPasses: 1,
    },
  };
}
