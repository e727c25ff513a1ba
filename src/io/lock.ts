/**
 * The store's cross-process lock: an open file description lock (fcntl F_OFD_SETLK, write lock on
 * the whole file) on <dir>/.lock.
 *
 * A kernel lock is chosen over a pid file because the kernel releases it the instant its holder
 * dies (kill -9 included) and it does not survive a power cut. There is therefore never a stale
 * lock to detect or break, and no race between two processes breaking the same stale lock. The lock
 * file itself is never removed: unlinking a lock file lets a waiter lock an orphaned inode while a
 * newcomer locks a new one.
 *
 * An OFD lock has flock(2)'s ownership (the open file description, so two opens in one process
 * exclude each other, and a hook we spawn inherits nothing: Node opens with O_CLOEXEC), not the
 * classic POSIX record lock's (the process, dropped when it closes any descriptor of the file).
 * It is not a flock: the kernel keeps the two kinds apart, so a flock(1) on .lock, or a certswap
 * built on flock, does not exclude this one (docs/design.md, The lock).
 *
 * Node has no file locks; fs-native-extensions provides them from an N-API addon with prebuilt
 * binaries, so installing needs no compiler and one build loads under every Node version.
 */
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { fsOps, O } from './fs.js';
import { untrustedFileProblem } from './ownership.js';
import { STATE_FILE_MODE } from '../store/layout.js';

const require = createRequire(import.meta.url);
/** Whole-file write lock (offset 0, length 0 = to the end, however the file grows); false when held elsewhere. */
type TryLock = (fd: number) => boolean;
let tryLock: TryLock | undefined;

/**
 * The addon, loaded by the first lock rather than at import: finding it (require-addon resolves
 * the prebuild for the platform) is a measurable part of the CLI's start-up (docs/performance.md),
 * and the commands that take no lock (status, verify) need not pay it.
 */
function lockAddon(): TryLock {
  tryLock ??= (require('fs-native-extensions') as { tryLock: TryLock }).tryLock;
  return tryLock;
}

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
      // Non-blocking, polled: a blocking F_OFD_SETLKW would hold a libuv thread for as long as it
      // waits, and could not be given up at the deadline.
      // A conflict is EAGAIN on Linux (POSIX also allows EACCES; Linux does not use it), which
      // tryLock returns as false; any other error is thrown as it is.
      if (lockAddon()(fd)) break;
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
      // Closing the descriptor (the only one on this open file description) drops the lock.
      await fsOps.close(fd);
    },
  };
}
