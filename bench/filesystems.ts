/**
 * Where the bench runs: tmpfs (an fsync costs nothing, so the library's own overhead shows) and a
 * loop-mounted ext4 (fsyncs reach the disk). Without root there is no loop device; the bench then
 * uses the machine's temporary directory and says so.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchFs {
  name: string;
  /** What it really is, for the report. */
  detail: string;
  dir: string;
  cleanup(): void;
}

function fsType(dir: string): string {
  return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
}

function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

export function tmpfs(): BenchFs {
  if (fs.existsSync('/dev/shm') && fsType('/dev/shm') === 'tmpfs') {
    const dir = fs.mkdtempSync('/dev/shm/certswap-bench-');
    return { name: 'tmpfs', detail: '/dev/shm', dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  if (!isRoot()) throw new Error('no tmpfs at /dev/shm and not root to mount one');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certswap-bench-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', dir]);
  return {
    name: 'tmpfs',
    detail: `tmpfs mounted at ${dir}`,
    dir,
    cleanup: () => {
      execFileSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true });
    },
  };
}

export function ext4(): BenchFs {
  if (!isRoot()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certswap-bench-disk-'));
    return {
      name: fsType(dir),
      detail: `${os.tmpdir()} (not root: no loop device)`,
      dir,
      cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'certswap-bench-ext4-'));
  const image = path.join(base, 'ext4.img');
  const mnt = path.join(base, 'mnt');
  fs.mkdirSync(mnt);
  execFileSync('truncate', ['-s', '1G', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  execFileSync('mount', ['-o', 'loop', image, mnt]);
  const hostFs = fsType(base);
  return {
    name: 'ext4',
    detail: `ext4 on a loop device (1 GiB image on the host's ${hostFs})`,
    dir: mnt,
    cleanup: () => {
      execFileSync('umount', [mnt]);
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
