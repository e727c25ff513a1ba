/** Real temporary directories, one per test, removed afterwards. */
import fse from 'fs-extra';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

export async function tempDir(prefix = 'certswap-test-'): Promise<string> {
  const dir = await fse.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A path for a store that does not exist yet, inside a fresh temporary directory. */
export async function storeDir(): Promise<string> {
  return path.join(await tempDir(), 'store');
}

export async function cleanupTempDirs(): Promise<void> {
  while (made.length) await fse.remove(made.pop()!);
}
