/**
 * A directory held by a descriptor opened from `/` one component at a time, none of them a link,
 * and names in it reached through the descriptor (/proc/self/fd/N/NAME: Node has no openat). The
 * metrics textfile's directory and an imported lineage's use it; the ACME webroot
 * (agent/acme/webroot.ts) walks its own way, as it makes the directories it walks.
 *
 * For a directory root uses below one another user can rename in: Debian's node_exporter textfile
 * directory, /var/lib/prometheus/node-exporter, is root's, but /var/lib/prometheus is the
 * prometheus user's, who can rename node-exporter away and put a link to any directory in its
 * place; a certbot lineage in a user's home likewise. A path looked up at each use would then lead
 * root to create, replace, read and unlink files elsewhere. Walked this way, a link anywhere on
 * the way is refused (ENOTDIR; ELOOP on some kernels), and a rename on the way after the walk no
 * longer changes which directory the descriptor names. O_PATH opens nothing for reading, so
 * nothing can block (a FIFO in a directory's place) and search permission on the way is enough,
 * as for a path. The cost: the path must be given without links in it (its real path), and
 * without /proc mounted nothing is reached (ENOENT): it never falls back to paths.
 */
import path from 'node:path';
import { fsOps, O, O_PATH, type Stats } from './fs.js';

/** A check of each directory opened (fstat of its descriptor); it throws to refuse one. */
export type DirCheck = (st: Stats, named: string) => void;

/** A step of the walk that failed: its errno error, with the path it stood for. */
export class HeldDirError extends Error {
  constructor(
    readonly code: string,
    /** The directory as the caller would name it (not /proc/self/fd/...). */
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`open ${path}: ${code}`);
  }
}

export class HeldDir {
  private constructor(
    /** The directory's path, as errors and messages name it. */
    readonly path: string,
    private readonly fd: number,
  ) {}

  /**
   * Opens `dir` (absolute, a real path) from `/`, each directory through its parent's descriptor;
   * `check` sees the last one only. Raises HeldDirError with the errno code of the failed step
   * (ENOENT, EACCES, ENOTDIR or ELOOP for a link or a file on the way), or what `check` raises.
   */
  static async open(dir: string, check?: DirCheck): Promise<HeldDir> {
    const names = dir.split('/').filter((n) => n !== '');
    const root = await HeldDir.step('/', '/', names.length === 0 ? check : undefined);
    if (names.length === 0) return root;
    try {
      return await root.walk(names, (i) => (i === names.length - 1 ? check : undefined));
    } finally {
      await root.close();
    }
  }

  /** The path that opens `name` in this directory, as it was when opened. */
  at(name: string): string {
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** The directory `names` leads to below this one, each step opened as open() does and checked. */
  below(names: string[], check?: DirCheck): Promise<HeldDir> {
    return this.walk(names, () => check);
  }

  async close(): Promise<void> {
    await fsOps.close(this.fd);
  }

  private async walk(names: string[], checkAt: (i: number) => DirCheck | undefined): Promise<HeldDir> {
    let dir: HeldDir = this;
    try {
      for (const [i, name] of names.entries()) {
        const next = await HeldDir.step(dir.at(name), path.join(dir.path, name), checkAt(i));
        if (dir !== this) await dir.close();
        dir = next;
      }
      return dir;
    } catch (err) {
      if (dir !== this) await dir.close().catch(() => undefined);
      throw err;
    }
  }

  private static async step(p: string, named: string, check: DirCheck | undefined): Promise<HeldDir> {
    let fd: number;
    try {
      // O_NOFOLLOW alone would open a link itself; with O_DIRECTORY a link fails.
      fd = await fsOps.open(p, O_PATH | O.O_DIRECTORY | O.O_NOFOLLOW);
    } catch (err) {
      throw new HeldDirError((err as NodeJS.ErrnoException).code ?? 'EIO', named, err);
    }
    try {
      check?.(await fsOps.fstat(fd), named);
    } catch (err) {
      await fsOps.close(fd).catch(() => undefined);
      throw err;
    }
    return new HeldDir(named, fd);
  }
}

/**
 * Runs `fn` with `at(name)`, the path of `name` in directory `dir` (absolute) as it was walked;
 * the descriptor is closed when `fn` settles. Raises the errno code of the walk (ENOENT, EACCES,
 * ENOTDIR or ELOOP for a link or a file on the way) and whatever `fn` raises.
 */
export async function withHeldDir<T>(dir: string, fn: (at: (name: string) => string) => Promise<T>): Promise<T> {
  let held: HeldDir;
  try {
    held = await HeldDir.open(dir);
  } catch (err) {
    throw err instanceof HeldDirError ? err.cause : err;
  }
  try {
    return await fn((name) => held.at(name));
  } finally {
    await held.close().catch(() => undefined);
  }
}
