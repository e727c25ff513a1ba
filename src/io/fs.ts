/**
 * The file system seam. Every file system call certswap makes goes through `fsOps`, so that a
 * test can replace one entry to inject EIO or ENOSPC, and the crash harness can stop a process
 * right after its k-th mutating call. Nothing else in src/ imports node:fs.
 *
 * Calls are descriptor based (open/write/fsync/close) because crash safety is argued per system
 * call: the seam must show exactly which calls happen and in which order.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';

const write = promisify(fs.write);
const read = promisify(fs.read);

/** The mutating calls, by the name the fault-injection tests and the crash harness use. */
export type MutatingOp =
  | 'open'
  | 'write'
  | 'fsync'
  | 'fchmod'
  | 'fchown'
  | 'mkdir'
  | 'chmod'
  | 'rename'
  | 'symlink'
  | 'unlink'
  | 'rmdir'
  | 'rm';

export interface FsHooks {
  /** Called after each mutating call has returned successfully. */
  afterMutation?: (op: MutatingOp, path: string) => void;
}

/** Test-only observation point; production code never sets it. */
export const fsHooks: FsHooks = {};

function mutated(op: MutatingOp, path: string): void {
  fsHooks.afterMutation?.(op, path);
}

export const fsOps = {
  async open(path: string, flags: number, mode = 0o600): Promise<number> {
    // Raw descriptors, not FileHandle: a FileHandle closes itself when garbage collected.
    const fd = await promisify(fs.open)(path, flags, mode);
    if ((flags & fs.constants.O_CREAT) !== 0) mutated('open', path);
    return fd;
  },
  async write(fd: number, data: Uint8Array, path = ''): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await write(fd, data, off, data.length - off, null);
      off += bytesWritten;
    }
    mutated('write', path);
  },
  async read(fd: number, buf: Uint8Array, offset: number, length: number): Promise<number> {
    const { bytesRead } = await read(fd, buf, offset, length, null);
    return bytesRead;
  },
  async fsync(fd: number, path = ''): Promise<void> {
    await promisify(fs.fsync)(fd);
    mutated('fsync', path);
  },
  async fchmod(fd: number, mode: number, path = ''): Promise<void> {
    await promisify(fs.fchmod)(fd, mode);
    mutated('fchmod', path);
  },
  async fchown(fd: number, uid: number, gid: number, path = ''): Promise<void> {
    await promisify(fs.fchown)(fd, uid, gid);
    mutated('fchown', path);
  },
  async fstat(fd: number): Promise<fs.Stats> {
    return promisify(fs.fstat)(fd);
  },
  async close(fd: number): Promise<void> {
    await promisify(fs.close)(fd);
  },
  async mkdir(path: string, mode: number): Promise<void> {
    await fs.promises.mkdir(path, { mode });
    mutated('mkdir', path);
  },
  async chmod(path: string, mode: number): Promise<void> {
    await fs.promises.chmod(path, mode);
    mutated('chmod', path);
  },
  async rename(from: string, to: string): Promise<void> {
    await fs.promises.rename(from, to);
    mutated('rename', to);
  },
  async symlink(target: string, path: string): Promise<void> {
    await fs.promises.symlink(target, path);
    mutated('symlink', path);
  },
  async unlink(path: string): Promise<void> {
    await fs.promises.unlink(path);
    mutated('unlink', path);
  },
  async rmdir(path: string): Promise<void> {
    await fs.promises.rmdir(path);
    mutated('rmdir', path);
  },
  /** Recursive removal; used only on names that are already out of the contract (trash, staging). */
  async rm(path: string | Buffer): Promise<void> {
    await fs.promises.rm(path, { recursive: true, force: true });
    mutated('rm', path.toString());
  },
  /**
   * rm, with blocking calls, for many small trees (pruned generations: a few files each), where
   * thread-pool round trips dominate: lstat, readdir, unlink each file, rmdir; about half the
   * calls of a generic recursive remove. A missing path is fine.
   *
   * Never follows a symbolic link, whatever is planted: the lstat comes first, so a link at
   * `path` is unlinked as a link (a readdir of it would list, and this would then empty, the
   * directory it points to), and entries are typed by readdir without following them. Nothing
   * can swap a directory for a link between the two calls: the store is writable only by us.
   */
  rmSync(path: string | Buffer): void {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (!st.isDirectory()) {
      fs.unlinkSync(path);
      mutated('rm', path.toString());
      return;
    }
    // Names as bytes: a name that is not UTF-8 (a provisioner may leave one) must still be removed,
    // and as a string it would become U+FFFD and name nothing.
    const base = Buffer.concat([Buffer.from(path), Buffer.from('/')]);
    for (const e of fs.readdirSync(path, { withFileTypes: true, encoding: 'buffer' })) {
      const p = Buffer.concat([base, e.name]);
      // Node's own recursive rm lstats each entry and unlinks links; it is the generic path.
      if (e.isDirectory()) fs.rmSync(p, { recursive: true, force: true });
      else fs.unlinkSync(p);
    }
    fs.rmdirSync(path);
    mutated('rm', path.toString());
  },
  readlink: (path: string): Promise<string> => fs.promises.readlink(path),
  readdir: (path: string): Promise<string[]> => fs.promises.readdir(path),
  /** Names with their types as the directory entry gives them (a link is a link, never followed). */
  readdirTypes: (path: string): Promise<fs.Dirent[]> => fs.promises.readdir(path, { withFileTypes: true }),
  /** Names as bytes, for removing what we did not name (a name need not be UTF-8). */
  readdirBuffers: (path: string): Promise<Buffer[]> => fs.promises.readdir(path, { encoding: 'buffer' }),
  lstat: (path: string): Promise<fs.Stats> => fs.promises.lstat(path),
  stat: (path: string): Promise<fs.Stats> => fs.promises.stat(path),
  /** The path with every link and '..' resolved (import: where a lineage the user named really is). */
  realpath: (path: string): Promise<string> => fs.promises.realpath(path),
  /**
   * The blocking twin of readBounded (bounded-read.ts), with its rule: the same open flags, then
   * `check`, a regular file, within `maxBytes` (else EFBIG), before a byte is read; a link at the
   * name is refused; null if it does not exist. It lives here because it makes blocking calls
   * directly. Only for status over many generations, where thread-pool round trips would cost
   * more than the reads (status yields to the event loop between batches).
   */
  readSmallSync(path: string, maxBytes: number, check?: (st: fs.Stats) => void): Buffer | null {
    let fd: number;
    try {
      // The flags of every bounded read (O_UNTRUSTED_READ, bounded-read.ts), with a link refused.
      fd = fs.openSync(path, O_UNTRUSTED_READ | fs.constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const st = fs.fstatSync(fd);
      check?.(st);
      if (!st.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL', path });
      const tooLarge = (): Error =>
        Object.assign(new Error(`${path} is larger than ${maxBytes} bytes`), { code: 'EFBIG', path });
      if (st.size > maxBytes) throw tooLarge();
      // One byte more than allowed, to see a file that grew since the fstat.
      const buf = Buffer.allocUnsafe(st.size + 1);
      let len = 0;
      while (len < buf.length) {
        const n = fs.readSync(fd, buf, len, buf.length - len, null);
        if (n === 0) break;
        len += n;
      }
      if (len > maxBytes || len > st.size) throw tooLarge();
      return buf.subarray(0, len);
    } finally {
      fs.closeSync(fd);
    }
  },
  /** lstat with a blocking call (status, per generation, beside readSmallSync). */
  lstatSync: (path: string): fs.Stats => fs.lstatSync(path),
  /** inotify on Linux; throws (ENOSPC, EMFILE, ENOSYS) where no watch can be had. */
  watch: (path: string, persistent: boolean, listener: (event: string, name: string | null) => void): fs.FSWatcher =>
    fs.watch(path, { persistent }, listener),
};

/**
 * The same calls made with blocking system calls on the main thread. Each async call above costs
 * a round trip through libuv's thread pool, many times the call itself, and an activation makes
 * dozens of them in sequence; with blocking calls the library comes within reach of the C floor
 * (docs/performance.md has the figures). The price is that the event loop
 * waits through every fsync. Right for the CLI and for an agent whose loop has nothing else to
 * do meanwhile; wrong for a server that handles requests in the same process.
 */
const blockingOps: Partial<typeof fsOps> = {
  async open(path, flags, mode = 0o600) {
    const fd = fs.openSync(path, flags, mode);
    if ((flags & fs.constants.O_CREAT) !== 0) mutated('open', path);
    return fd;
  },
  async write(fd, data, path = '') {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off, null);
    mutated('write', path);
  },
  async read(fd, buf, offset, length) {
    return fs.readSync(fd, buf, offset, length, null);
  },
  async fsync(fd, path = '') {
    fs.fsyncSync(fd);
    mutated('fsync', path);
  },
  async fchmod(fd, mode, path = '') {
    fs.fchmodSync(fd, mode);
    mutated('fchmod', path);
  },
  fstat: async (fd) => fs.fstatSync(fd),
  close: async (fd) => fs.closeSync(fd),
  async mkdir(path, mode) {
    fs.mkdirSync(path, { mode });
    mutated('mkdir', path);
  },
  async chmod(path, mode) {
    fs.chmodSync(path, mode);
    mutated('chmod', path);
  },
  async rename(from, to) {
    fs.renameSync(from, to);
    mutated('rename', to);
  },
  async symlink(target, path) {
    fs.symlinkSync(target, path);
    mutated('symlink', path);
  },
  async unlink(path) {
    fs.unlinkSync(path);
    mutated('unlink', path);
  },
  async rmdir(path) {
    fs.rmdirSync(path);
    mutated('rmdir', path);
  },
  rm: async (path) => fsOps.rmSync(path),
  readlink: async (path) => fs.readlinkSync(path),
  readdir: async (path) => fs.readdirSync(path),
  readdirTypes: async (path) => fs.readdirSync(path, { withFileTypes: true }),
  readdirBuffers: async (path) => fs.readdirSync(path, { encoding: 'buffer' }),
  lstat: async (path) => fs.lstatSync(path),
  stat: async (path) => fs.statSync(path),
  realpath: async (path) => fs.realpathSync(path),
};
const threadPoolOps: Partial<typeof fsOps> = Object.fromEntries(
  Object.keys(blockingOps).map((k) => [k, fsOps[k as keyof typeof fsOps]]),
);

/**
 * Process-wide: makes every file system call certswap makes a blocking one (true), or puts the
 * thread-pool calls back (false, the default). See blockingOps for when to choose it.
 */
export function useBlockingIo(on = true): void {
  Object.assign(fsOps, on ? blockingOps : threadPoolOps);
}

/**
 * Closes `fd` without waiting for it. Once fsync has returned (or for a descriptor only read
 * from), nothing depends on the close, and waiting for it costs a thread-pool round trip: several
 * in every activation. The kernel does not reuse the number until the close has run.
 */
export function closeInBackground(fd: number): void {
  void fsOps.close(fd).catch(() => undefined);
}

export const O = fs.constants;

/**
 * How a file someone else may have put in place is opened for reading (bounded-read.ts, and
 * readSmallSync): O_NONBLOCK, so a FIFO opens at once (and is refused from fstat) instead of
 * waiting for a writer; O_NOCTTY, so a terminal never becomes ours.
 */
export const O_UNTRUSTED_READ = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
export type Stats = fs.Stats;
export type Dirent = fs.Dirent;
