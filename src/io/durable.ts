/**
 * The durable file system primitives, and the only module that changes anything on disk, with
 * one exception: lock.ts creates the lock file itself (O_CREAT with the open that locks it). It
 * need not be durable: the lock does not outlive its holder, let alone a power cut, and a lock file
 * lost in one is created again by the next lock. The invariants cited (I3) are docs/design.md's.
 *
 * rename(2) is atomic but not durable: a file's data must reach the disk before the name that
 * points to it does, and a directory must be fsynced after a rename, symlink, mkdir or unlink
 * inside it, or a power cut can undo that change (or, on ext4 with delayed allocation, keep the
 * new name pointing at an empty file). Each primitive here does exactly the calls that make its
 * one change durable, and no more; callers compose them and argue the order.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { closeInBackground, fsOps, O } from './fs.js';
import { mapLimit } from './concurrency.js';

/** Calls in flight at once for batches (more than the thread pool's 4 threads keeps them busy). */
const RENAME_CONCURRENCY = 16;

/** A name for a temporary entry beside `target`; starts with '.' so it never looks like a generation. */
export function tempNameFor(target: string): string {
  const base = path.basename(target).replace(/^\.+/, '');
  return path.join(path.dirname(target), `.${base}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Who owns a file or directory certswap creates for a consumer (io/ownership.ts says whom it trusts). */
export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Creates `file` (which must not exist) with exactly `data` and `mode`, and fsyncs it.
 * O_EXCL|O_NOFOLLOW: a planted file or symlink at that name is refused rather than followed or
 * overwritten. The file is created with `mode` already, and fchmod then restores the bits a umask
 * may have cleared, so there is no moment at which it is more open than `mode`.
 * With `owner`, the file is created readable by its creator only, given to `owner` (fchown on the
 * descriptor, never by name: the name could be swapped in between), and only then opened to
 * `mode`: the group it is opened to is already the consumer's. fchown comes before fchmod because
 * a chown may clear mode bits.
 * On failure the partial file is removed.
 */
export async function writeNewFile(file: string, data: Uint8Array, mode: number, owner?: Owner): Promise<void> {
  const fd = await fsOps.open(file, O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW, owner ? mode & 0o600 : mode);
  let ok = false;
  try {
    if (owner) await fsOps.fchown(fd, owner.uid, owner.gid, file);
    await fsOps.fchmod(fd, mode, file);
    await fsOps.write(fd, data, file);
    // The data must be on disk before any rename makes this file reachable under its final name.
    await fsOps.fsync(fd, file);
    ok = true;
  } finally {
    if (ok) closeInBackground(fd);
    else {
      await fsOps.close(fd).catch(() => undefined);
      await fsOps.unlink(file).catch(() => undefined);
    }
  }
}

/**
 * Gives the existing directory `dir` to `owner` with `mode`, through a descriptor opened without
 * following a link (O_NOFOLLOW|O_DIRECTORY: a link or a file planted at the name is refused), and
 * fsyncs it so that the change survives a power cut. Calls only what differs: an unchanged
 * directory costs an open and an fstat. fchown before fchmod, as in writeNewFile.
 */
export async function setDirAccess(dir: string, owner: Owner, mode: number): Promise<void> {
  const fd = await fsOps.open(dir, O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW);
  try {
    const st = await fsOps.fstat(fd);
    if (st.uid === owner.uid && st.gid === owner.gid && (st.mode & 0o7777) === mode) return;
    if (st.uid !== owner.uid || st.gid !== owner.gid) await fsOps.fchown(fd, owner.uid, owner.gid, dir);
    await fsOps.fchmod(fd, mode, dir);
    // An inode's owner and mode are metadata a power cut can lose: without this, a store closed
    // again (0700, our group) could come back 0710 to a consumer group, which would then reach
    // older generations' keys; or a generation given to the group could come back closed to it.
    await fsOps.fsync(fd, dir);
  } finally {
    closeInBackground(fd);
  }
}

/** Makes the entries of `dir` (names created, renamed or removed in it) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await fsOps.open(dir, O.O_RDONLY | O.O_DIRECTORY);
  try {
    await fsOps.fsync(fd, dir);
  } finally {
    closeInBackground(fd);
  }
}

/**
 * Creates directory `dir` with exactly `mode` (whatever the umask). Not durable by itself: the
 * caller fsyncs the parent when the new name must survive a power cut.
 */
export async function makeDir(dir: string, mode: number): Promise<void> {
  await fsOps.mkdir(dir, mode);
  await fsOps.chmod(dir, mode);
}

/**
 * Points the symlink `link` at `target` in one rename(2), then fsyncs the directory.
 * A reader sees the old link or the new one, never neither: this is why the link is built under a
 * temporary name and renamed over the old one, rather than unlinked and recreated (the kubelet's
 * window with no certificate). The directory fsync is what makes the switch survive a power cut;
 * only after it returns may the caller report success.
 *
 * If that fsync fails, the switch is in the page cache but may not be on disk, and the caller is
 * about to report failure: `restore` (the old target, or null if there was no link) is put back,
 * so that a reported failure also leaves the active pair as it was (I3). Either state is a
 * complete generation, so if the restore fails too, a power cut still leaves a valid link.
 */
export async function replaceSymlink(link: string, target: string, restore?: string | null): Promise<void> {
  const tmp = tempNameFor(link);
  await fsOps.symlink(target, tmp);
  await renameTemp(tmp, link);
  await syncOrUndo(path.dirname(link), async () => {
    if (restore === undefined) return;
    if (restore === null) return fsOps.unlink(link);
    const back = tempNameFor(link);
    await fsOps.symlink(restore, back);
    await fsOps.rename(back, link);
  });
}

/**
 * Replaces the regular file `file` with `data` atomically and durably: write a temporary file,
 * fsync it, rename it over `file`, fsync the directory. A crash leaves the old content or the
 * new, never a truncated file; the temporary name is a leftover that recovery removes.
 */
export async function replaceFile(file: string, data: Uint8Array, mode: number): Promise<void> {
  const tmp = tempNameFor(file);
  await writeNewFile(tmp, data, mode);
  await renameTemp(tmp, file);
  await fsyncDir(path.dirname(file));
}

/**
 * Removes the temporaries of `target` (tempNameFor) that a dead process left beside it: a file
 * replaced with replaceFile outside a store (the metrics textfile), where no recover runs. A
 * temporary whose writer still runs (its pid is alive) is left alone. Returns the names removed.
 */
export async function removeDeadTemps(target: string): Promise<string[]> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target).replace(/^\.+/, '')}.tmp-`;
  const removed: string[] = [];
  for (const name of await fsOps.readdir(dir)) {
    if (!name.startsWith(prefix) || !leftByDeadWriter(name)) continue;
    await fsOps.unlink(path.join(dir, name));
    removed.push(name);
  }
  return removed;
}

/**
 * Whether the temporary `name` (tempNameFor: `.NAME.tmp-<pid>-<hex>`) was left by a process that
 * no longer runs. One whose writer is alive may be about to be renamed into place: removing it
 * would fail that write.
 */
export function leftByDeadWriter(name: string): boolean {
  const pid = Number(/\.tmp-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
  return Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid);
}

/** Whether process `pid` exists (ours or another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists under another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Renames the temporary entry `tmp` over `dest`; if the rename fails, `tmp` is removed. */
async function renameTemp(tmp: string, dest: string): Promise<void> {
  try {
    await fsOps.rename(tmp, dest);
  } catch (err) {
    await fsOps.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** fsyncs `dir`; if that fails, runs `undo` (best effort) before reporting the failure. */
async function syncOrUndo(dir: string, undo: () => Promise<void>): Promise<void> {
  try {
    await fsyncDir(dir);
  } catch (err) {
    await undo().catch(() => undefined);
    throw err;
  }
}

/**
 * Renames `from` to `to` in the same directory and fsyncs it. If the fsync fails, the rename is
 * undone (best effort) so that a reported failure leaves no new name behind.
 */
export async function renameDurable(from: string, to: string): Promise<void> {
  await fsOps.rename(from, to);
  await syncOrUndo(path.dirname(to), () => fsOps.rename(to, from));
}

/**
 * Renames every [from, to] pair within directory `dir`, then fsyncs `dir` once: the batch is
 * durable together after the one fsync, and each rename alone is atomic.
 */
export async function renameAllDurable(dir: string, pairs: Array<[string, string]>): Promise<void> {
  // Side by side: each rename is atomic on its own and none depends on another; the one fsync
  // after all of them is what makes them durable.
  await mapLimit(pairs, RENAME_CONCURRENCY, ([from, to]) => fsOps.rename(from, to));
  await fsyncDir(dir);
}

/**
 * Removes a tree that is already out of the on-disk contract (a staging or trash directory).
 * Not durable and need not be: if the removal is lost in a crash, recovery removes it again.
 */
export async function removeTree(dir: string | Buffer): Promise<void> {
  await fsOps.rm(dir);
}

/**
 * Removes many trees that are out of the contract (trash directories), with blocking calls,
 * yielding to the event loop every `batch` trees; `onError` is told of a tree that could not be
 * removed, and the rest go on. (Faster than the thread pool for thousands of small trees:
 * docs/performance.md, prune at scale.)
 */
export async function removeTrees(
  dirs: string[],
  onError: (dir: string, err: unknown) => void,
  batch = 64,
): Promise<void> {
  for (let i = 0; i < dirs.length; i++) {
    if (i > 0 && i % batch === 0) await new Promise((r) => setImmediate(r));
    try {
      fsOps.rmSync(dirs[i]!);
    } catch (err) {
      onError(dirs[i]!, err);
    }
  }
}

/** Removes `file` and fsyncs its directory, so that the removal survives a power cut. */
export async function removeDurable(file: string): Promise<void> {
  await fsOps.unlink(file);
  await fsyncDir(path.dirname(file));
}
