/**
 * Creating and checking the store's directories. The store directory guards a private key, so it
 * must belong to us and be writable by nobody else: otherwise another user could swap `current`
 * or plant files under our names.
 */
import path from 'node:path';
import { CertswapError, ErrorCodes, errnoCode } from './errors.js';
import { fsOps } from './fs.js';
import { fsyncDir, makeDir } from './durable.js';
import { DIR_MODE, type StorePaths } from './layout.js';

/**
 * Creates `dir` (and missing parents) with mode 0700. Each created directory's parent is fsynced:
 * an install that reports success must not vanish because its store directory did.
 */
async function makeDirDurable(dir: string): Promise<void> {
  try {
    await makeDir(dir, DIR_MODE);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
    await makeDirDurable(path.dirname(dir));
    return makeDirDurable(dir);
  }
  await fsyncDir(path.dirname(dir));
}

/**
 * Opens (and with `create`, creates) the store directory and checks it is safe to use.
 * Raises CERTSWAP_UNSAFE_STORE if it is not a directory, belongs to another user, or is writable
 * by group or others; ENOENT if it is missing and `create` is false.
 */
export async function prepareStoreDir(paths: StorePaths, create: boolean): Promise<void> {
  if (create) await makeDirDurable(paths.dir);
  const st = await fsOps.stat(paths.dir);
  if (!st.isDirectory()) {
    throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${paths.dir} is not a directory`, { path: paths.dir });
  }
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CertswapError(
      ErrorCodes.UNSAFE_STORE,
      `${paths.dir} belongs to uid ${st.uid}, not to this user (uid ${uid}); refusing to use it`,
      { path: paths.dir },
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new CertswapError(
      ErrorCodes.UNSAFE_STORE,
      `${paths.dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); chmod 700 it`,
      { path: paths.dir },
    );
  }
}

/** Creates generations/ if missing (durably: a staged generation must not lose its parent). */
export async function ensureGenerationsDir(paths: StorePaths): Promise<void> {
  try {
    const st = await fsOps.lstat(paths.generations);
    if (st.isDirectory()) return;
    throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${paths.generations} is not a directory`, { path: paths.generations });
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  await makeDirDurable(paths.generations);
}
