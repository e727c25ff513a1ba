/**
 * The directories of a lineage, held open from their check on, and its files read through them:
 * how certswap, as root, reads a tree another user may own and rename in without being led out of
 * it (docs/import.md, Hostile sources).
 */
import path from 'node:path';
import { fsOps, type Stats } from '../io/fs.js';
import { HeldDir, HeldDirError } from '../io/held-dir.js';
import { readInputFile } from '../io/input.js';
import { modeOf, writableByOthers } from '../io/ownership.js';
import { badLineage, typedError } from './lineage.js';

/**
 * A directory of a lineage, held open from the moment it was checked (io/held-dir.ts). A path is
 * looked up again at every use, so between a check of <config>/archive and the read of a file
 * under it, the lineage's owner (another user, free to rename in their own directories) could put
 * a link to /etc/ssl/private in its place, and certswap, as root, would read through it. Every
 * name below a checked directory is therefore opened through the descriptor; without /proc
 * mounted nothing can be opened, and the import fails (ENOENT): it never falls back to paths.
 */
export class LineageDir {
  private constructor(private readonly held: HeldDir) {}

  /** The directory's path, as errors and messages name it. */
  get path(): string {
    return this.held.path;
  }

  /**
   * Opens `dir` (a real path: no link in it) and checks that it is a directory, not a link, that
   * only its owner can change: anyone else who could write it could swap a file of the lineage
   * for another of theirs; its owner made the lineage and decides what it holds anyway. The path
   * is walked from `/` and refused if a directory on the way is a link: the path was resolved a
   * moment ago, and a directory on the way that the lineage's owner can rename (their home) could
   * since have become a link to a tree of root's. Raises CERTSWAP_BAD_LINEAGE, or the errno code
   * (ENOENT, EACCES).
   */
  static async open(dir: string): Promise<LineageDir> {
    return new LineageDir(await lineageStep(() => HeldDir.open(dir, ownerOnly)));
  }

  /** The path that opens `name` in this directory, as it was when checked. */
  at(name: string): string {
    return this.held.at(name);
  }

  /** The directory `names` leads to below this one, each step opened and checked as open() does. */
  async below(names: string[]): Promise<LineageDir> {
    return new LineageDir(await lineageStep(() => this.held.below(names, ownerOnly)));
  }

  async close(): Promise<void> {
    await this.held.close();
  }
}

/** A lineage directory must be writable by its owner alone. */
function ownerOnly(st: Stats, named: string): void {
  if (writableByOthers(st)) {
    throw badLineage(
      named,
      `is writable by group or others (mode ${modeOf(st)}): the lineage could change as it is read`,
    );
  }
}

/** A walk's failure in the lineage's terms: a link or a file where a directory should be is BAD_LINEAGE. */
async function lineageStep(walk: () => Promise<HeldDir>): Promise<HeldDir> {
  try {
    return await walk();
  } catch (err) {
    if (!(err instanceof HeldDirError)) throw err;
    if (err.code !== 'ELOOP' && err.code !== 'ENOTDIR') throw typedError(err.cause, 'open', err.path, '');
    // Only to word the message: the walk already refused it.
    const link = err.code === 'ELOOP' || (await fsOps.lstat(err.path).catch(() => undefined))?.isSymbolicLink();
    throw badLineage(err.path, link ? 'is a link, not a directory' : 'is not a directory');
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
