/** A store's observable state, for asserting that a refused operation changed nothing. */
import fse from 'fs-extra';
import path from 'node:path';

export interface Snapshot {
  current: string | null;
  entries: string[];
}

async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await fse.readdir(path.join(dir, rel))).sort()) {
    const p = path.join(rel, name);
    const st = await fse.lstat(path.join(dir, p));
    out.push(st.isDirectory() ? `${p}/` : st.isSymbolicLink() ? `${p} -> ${await fse.readlink(path.join(dir, p))}` : p);
    if (st.isDirectory()) out.push(...(await walk(dir, p)));
  }
  return out;
}

export async function snapshot(dir: string): Promise<Snapshot> {
  const current = await fse.readlink(path.join(dir, 'current')).catch(() => null);
  return { current, entries: await walk(dir) };
}
