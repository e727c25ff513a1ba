/**
 * Section 3: system calls per operation, counted with `strace -f`. Only calls on paths inside the
 * store (or on descriptors opened there) count, so module loading and the runtime's own eventfd
 * traffic do not; setup is cancelled by running the same probe with N = 0. The C floor is traced
 * the same way, which shows it makes the calls the library makes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { storeWithTwo, type BenchPair } from './fixture.js';
import { round } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export type Counts = Record<string, number>;

const KINDS: Record<string, string> = {
  fsync: 'fsync',
  fdatasync: 'fsync',
  rename: 'rename',
  renameat: 'rename',
  renameat2: 'rename',
  symlink: 'symlink',
  symlinkat: 'symlink',
  write: 'write',
  pwrite64: 'write',
  writev: 'write',
  mkdir: 'mkdir',
  mkdirat: 'mkdir',
  unlink: 'unlink',
  unlinkat: 'unlink',
  rmdir: 'unlink',
  fchmod: 'fchmod',
  fcntl: 'lock',
  openat: 'open',
  read: 'read',
  pread64: 'read',
  readlink: 'readlink',
  statx: 'stat',
  newfstatat: 'stat',
  lstat: 'stat',
  fstat: 'stat',
  getdents64: 'readdir',
};

/**
 * Counts the store's system calls in the output of `strace -f`. One file, in time order, so a
 * descriptor opened on one thread of the thread pool and fsynced on another is still known;
 * a call split across lines ("<unfinished ...>" then "<... resumed>") is joined first.
 */
function parse(file: string, store: string): Counts {
  const counts: Counts = {};
  const fds = new Map<string, string>();
  const pending = new Map<string, string>();
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const m0 = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m0) continue;
    const [, tid, body] = m0 as unknown as [string, string, string];
    let line = body;
    if (line.endsWith('<unfinished ...>')) {
      pending.set(tid, line.slice(0, -'<unfinished ...>'.length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(tid) ?? '') + resumed[1];
      pending.delete(tid);
    }
    const m = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!m) continue;
    const [, call, args, ret] = m as unknown as [string, string, string, string];
    // Paths: every quoted argument (symlink's first one is the link's target, not a path).
    const paths = [...args.matchAll(/"([^"]*)"/g)].map((x) => x[1]!);
    const fd = /^(\d+)/.exec(args)?.[1];
    if (call === 'openat' && Number(ret) >= 0 && paths[0]) fds.set(ret, paths[0]);
    const onPath = paths.some((p) => p.startsWith(store)) || (fd !== undefined && fds.get(fd)?.startsWith(store));
    if (call === 'close' && fd) fds.delete(fd);
    const kind = KINDS[call];
    if (!kind || !onPath) continue;
    if (call === 'openat' && /O_CREAT/.test(args)) counts.create = (counts.create ?? 0) + 1;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function trace(argv: string[], store: string): Counts {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'certswap-strace-'));
  try {
    const out = path.join(tmp, 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-o', out, ...argv], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`strace ${argv.join(' ')}: ${r.stderr}`);
    return parse(out, store);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function perOp(a: Counts, b: Counts, n: number): Counts {
  const out: Counts = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out[k] = round(((b[k] ?? 0) - (a[k] ?? 0)) / n, 3);
  return out;
}

export function straceAvailable(): boolean {
  return spawnSync('strace', ['-V']).status === 0;
}

export interface SyscallTable {
  install: { certswap: Counts; floor?: Counts };
  activate: { certswap: Counts; floor?: Counts };
}

export async function syscalls(
  base: string,
  pairs: BenchPair[],
  floorBin: string | null,
  n = 20,
): Promise<SyscallTable> {
  const f = pairs[0]!.files;
  const node = process.execPath;
  const probe = path.join(here, 'syscall-probe.mjs');
  const run = async (op: 'install' | 'activate', count: number): Promise<Counts> => {
    const dir = path.join(base, `sys-${op}-${count}`);
    await storeWithTwo(dir, pairs[0]!, pairs[1]!);
    return trace([node, probe, op, dir, `${count}`, f.cert, f.key, f.ca], dir);
  };
  const runFloor = async (op: 'install' | 'activate'): Promise<Counts | undefined> => {
    if (!floorBin) return undefined;
    const dir = path.join(base, `sys-floor-${op}`);
    await storeWithTwo(dir, pairs[0]!, pairs[1]!);
    const args = op === 'install' ? [f.cert, f.key, f.ca, f.meta] : [];
    return perOp({}, trace([floorBin, op, dir, `${n}`, ...args], dir), n);
  };
  const table: SyscallTable = {
    install: { certswap: perOp(await run('install', 0), await run('install', n), n), floor: await runFloor('install') },
    activate: {
      certswap: perOp(await run('activate', 0), await run('activate', n), n),
      floor: await runFloor('activate'),
    },
  };
  return table;
}

/** What the durability recipe cannot do without, per operation (docs/performance.md explains each line). */
export const MINIMUM = {
  activate: { symlink: 1, rename: 1, fsync: 1 },
  /** cert + key + ca written and fsynced, the new directory fsynced, renamed, its parent fsynced, then the switch. */
  install: { create: 3, write: 3, fsync: 6, mkdir: 1, rename: 2, symlink: 1 },
};
