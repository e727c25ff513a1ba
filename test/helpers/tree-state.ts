/**
 * Everything observable about a directory tree outside the store (names, types, owners, modes,
 * contents, link targets, inode numbers, change times), to assert that an operation refused or
 * raced created, changed, replaced or removed nothing in it. Reading does not change it: only
 * access times move, and they are left out.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface TreeState {
  /** sha256 of the entries. */
  digest: string;
  /** One line per entry, for a readable diff when the digests differ. */
  entries: string[];
}

/** `hashUpTo`: files larger than this many bytes are described by their stat alone (a 1 GiB sparse file). */
export async function treeState(root: string, hashUpTo = Number.POSITIVE_INFINITY): Promise<TreeState> {
  const entries: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const p = path.join(root, rel);
    const st = await fs.lstat(p, { bigint: true });
    let what = 'other';
    if (st.isSymbolicLink()) what = `-> ${await fs.readlink(p)}`;
    else if (st.isFile() && Number(st.size) > hashUpTo) what = 'large file';
    else if (st.isFile())
      what = `sha256 ${createHash('sha256')
        .update(await fs.readFile(p))
        .digest('hex')}`;
    else if (st.isDirectory()) what = 'dir';
    const mode = (st.mode & 0o7777n).toString(8);
    entries.push(
      `${rel || '.'} ${what} mode ${mode} uid ${st.uid} gid ${st.gid} ino ${st.ino} size ${st.size} mtime ${st.mtimeNs} ctime ${st.ctimeNs}`,
    );
    if (st.isDirectory()) for (const name of (await fs.readdir(p)).sort()) await visit(path.join(rel, name));
  };
  await visit('');
  return { digest: createHash('sha256').update(entries.join('\n')).digest('hex'), entries };
}
