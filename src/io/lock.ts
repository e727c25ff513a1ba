/**
 * The store's cross-process lock: flock(2) on <dir>/.lock.
 *
 * flock is chosen over a pid file because the kernel releases it the instant its holder dies
 * (kill -9 included) and it does not survive a power cut. There is therefore never a stale lock
 * to detect or break, and no race between two processes breaking the same stale lock. The lock
 * file itself is never removed: unlinking a flock file lets a waiter lock an orphaned inode
 * while a newcomer locks a new one.
 *
 * Node has no flock; fs-ext provides it (a small native addon).
 */
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { fsOps, O } from './fs.js';
import { untrustedFileProblem } from './ownership.js';
import { STATE_FILE_MODE } from '../store/layout.js';

const require = createRequire(import.meta.url);
const { flockSync } = require('fs-ext') as { flockSync(fd: number, flags: 'exnb' | 'un'): void };

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the exclusive lock on `file`, waiting up to `timeoutMs`. Raises CERTSWAP_BUSY when another
 * process (or another operation in this process) still holds it after that.
 */
export async function acquireLock(file: string, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Promise<HeldLock> {
  // O_CLOEXEC is Node's default, so hook commands we spawn never inherit the lock.
  let fd: number;
  try {
    // O_NOFOLLOW: a link planted at the name is refused, not followed (O_CREAT would create its
    // target). O_NONBLOCK: a FIFO opens at once, and is then refused below.
    fd = await fsOps.open(file, O.O_RDWR | O.O_CREAT | O.O_NOFOLLOW | O.O_NONBLOCK | O.O_NOCTTY, STATE_FILE_MODE);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'ENODEV') {
      throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} is not a regular file (${code}); move it away`, {
        path: file,
        cause: err,
      });
    }
    throw err;
  }
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  try {
    // Anything but our own file, with one name: a hard link to another file (or a file another
    // user can open) lets whoever can open that file hold our lock for ever.
    const problem = untrustedFileProblem(await fsOps.fstat(fd));
    if (problem !== null) {
      throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} ${problem}: not a lock file of ours; move it away`, {
        path: file,
      });
    }
    for (;;) {
      try {
        // Non-blocking, polled: a blocking flock would hold a libuv thread for as long as it waits.
        flockSync(fd, 'exnb');
        break;
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw err;
      }
      if (Date.now() >= deadline) {
        throw new CertswapError(
          ErrorCodes.BUSY,
          `store is busy: another certswap operation holds ${file} (waited ${(timeoutMs / 1000).toFixed(1)} s)`,
          { path: file },
        );
      }
      await sleep(Math.min(wait, Math.max(1, deadline - Date.now())));
      wait = Math.min(wait * 2, 50);
    }
  } catch (err) {
    await fsOps.close(fd).catch(() => undefined);
    throw err;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Closing the descriptor drops the flock.
      await fsOps.close(fd);
    },
  };
}
