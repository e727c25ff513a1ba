/** Real temporary directories, one per test, removed afterwards. */
import fse from 'fs-extra';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];
const madeForRun: string[] = [];

/** A directory removed after the current test. */
export async function tempDir(prefix = 'certswap-test-'): Promise<string> {
  const dir = await fse.mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A directory that outlives single tests (a suite's fixture), removed after the run. */
export async function runTempDir(prefix = 'certswap-fixture-'): Promise<string> {
  const dir = await fse.mkdtemp(path.join(os.tmpdir(), prefix));
  madeForRun.push(dir);
  return dir;
}

/** A path for a store that does not exist yet, inside a fresh temporary directory. */
export async function storeDir(): Promise<string> {
  return path.join(await tempDir(), 'store');
}

export async function cleanupTempDirs(): Promise<void> {
  while (made.length) await fse.remove(made.pop()!);
}

export async function cleanupRunTempDirs(): Promise<void> {
  while (madeForRun.length) await fse.remove(madeForRun.pop()!);
}
