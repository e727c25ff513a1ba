/**
 * The directories of a lineage, held open from their check on, and its files read through them:
 * how certswap, as root, reads a tree another user may own and rename in without being led out of
 * it (docs/import.md, Hostile sources).
 */
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { fsOps, O, O_PATH, type Stats } from '../io/fs.js';
import { readInputFile } from '../io/input.js';
import { modeOf, writableByOthers } from '../io/ownership.js';
import { badLineage, typedError } from './lineage.js';

/**
 * A directory of a lineage, held open from the moment it was checked. A path is looked up again
 * at every use, so between a check of <config>/archive and the read of a file under it, the
 * lineage's owner (another user, free to rename in their own directories) could put a link to
 * /etc/ssl/private in its place, and certswap, as root, would read through it. Every name below a
 * checked directory is therefore opened through the descriptor, /proc/self/fd/N/NAME, which the
 * kernel resolves in the directory opened, whatever has been renamed or linked since (Node has no
 * openat). Without /proc mounted nothing can be opened, and the import fails (ENOENT): it never
 * falls back to paths.
 */
export class LineageDir {
  private constructor(
    /** The directory's path, as errors and messages name it. */
    readonly path: string,
    private readonly fd: number,
  ) {}

  /**
   * Opens `dir` (a real path: no link in it) and checks that it is a directory, not a link, that
   * only its owner can change: anyone else who could write it could swap a file of the lineage
   * for another of theirs; its owner made the lineage and decides what it holds anyway. The path
   * is walked from `/`, each directory opened through its parent's descriptor and refused if it is
   * a link: the path was resolved a moment ago, and a directory on the way that the lineage's
   * owner can rename (their home) could since have become a link to a tree of root's. Raises
   * CERTSWAP_BAD_LINEAGE, or the errno code (ENOENT, EACCES).
   */
  static async open(dir: string): Promise<LineageDir> {
    const names = dir.split('/').filter((n) => n !== '');
    const root = await LineageDir.openAs('/', '/', names.length === 0);
    if (names.length === 0) return root;
    try {
      return await root.walk(names, names.length - 1);
    } finally {
      await root.close();
    }
  }

  /** The path that opens `name` in this directory, as it was when checked. */
  at(name: string): string {
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** The directory `names` leads to below this one, each step opened and checked as open() does. */
  below(names: string[]): Promise<LineageDir> {
    return this.walk(names, 0);
  }

  /** As below(), the mode checked from `names[checkFrom]` on (a link is refused at every step). */
  private async walk(names: string[], checkFrom: number): Promise<LineageDir> {
    let dir: LineageDir = this;
    try {
      for (const [i, name] of names.entries()) {
        const next = await LineageDir.openAs(dir.at(name), path.join(dir.path, name), i >= checkFrom);
        if (dir !== this) await dir.close();
        dir = next;
      }
      return dir;
    } catch (err) {
      if (dir !== this) await dir.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    await fsOps.close(this.fd);
  }

  private static async openAs(p: string, named: string, check: boolean): Promise<LineageDir> {
    let fd: number;
    try {
      // O_NOFOLLOW with O_DIRECTORY: a link in the directory's place fails, as does a file, FIFO
      // or device (ENOTDIR; ELOOP for a link on some kernels). O_PATH opens nothing for reading,
      // so nothing can block, and search permission on the way is enough, as for a path.
      fd = await fsOps.open(p, O_PATH | O.O_DIRECTORY | O.O_NOFOLLOW);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ELOOP' && code !== 'ENOTDIR') throw typedError(err, 'open', named, p);
      // Only to word the message: the open above already refused it.
      const link = code === 'ELOOP' || (await fsOps.lstat(p).catch(() => undefined))?.isSymbolicLink();
      throw badLineage(named, link ? 'is a link, not a directory' : 'is not a directory');
    }
    try {
      const st = await fsOps.fstat(fd);
      if (check && writableByOthers(st)) {
        throw badLineage(
          named,
          `is writable by group or others (mode ${modeOf(st)}): the lineage could change as it is read`,
        );
      }
    } catch (err) {
      await fsOps.close(fd).catch(() => undefined);
      throw err;
    }
    return new LineageDir(named, fd);
  }
}

/**
 * Reads the lineage's file `name` in `dir`, through the descriptor, bounded, refusing a link at the
 * name (ELOOP) and a file with a second name (CERTSWAP_BAD_LINEAGE): certbot and lego create each
 * file anew, so a second name is a hard link someone made, to a file that lives elsewhere, which
 * where hard links are not protected (fs.protected_hardlinks=0, the kernel's default without
 * systemd) may be one the lineage's owner cannot read, such as a key of root's. (No name at all is
 * a file removed since it was opened, by a cleanup of the lineage: its own, read as it was.) Raises
 * these, the input file codes and the errno codes.
 */
export function readLineageFile(dir: LineageDir, name: string, role: 'cert' | 'key'): Promise<Buffer> {
  const file = path.join(dir.path, name);
  const check = (st: Stats): void => {
    if (st.isFile() && st.nlink > 1)
      throw badLineage(file, `has ${st.nlink} names (a hard link was made to it): not a file of the lineage's own`);
  };
  return readInputFile(file, role, { noFollow: true, via: dir.at(name), check });
}
