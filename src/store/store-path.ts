/**
 * Creating and checking the store's directories. The store directory guards a private key, and
 * certswap runs as root: whoever can replace the store directory, or any directory on the way to
 * it, can make root read, write or delete where they choose. So the path is checked the way sudo
 * and OpenSSH check theirs (safe_path), before anything is written and again under the lock:
 *
 * - every directory from `/` down is owned by root or by us, and is not writable by others (nor
 *   by a group other than root's), unless it is sticky (/tmp) and the next component is owned by
 *   root or us: in a sticky directory only an entry's owner can remove or rename it;
 * - a symbolic link on the way is followed only if root or we own it (it cannot be changed, only
 *   replaced, and the directory it sits in was checked); the store directory itself must be a
 *   real directory, never a link;
 * - the store directory is ours and writable by nobody else.
 *
 * With every component fixed, nothing under the store can be swapped by anyone but us, which is
 * what lets the rest of the store trust a path between an lstat and the call that uses it.
 */
import path from 'node:path';
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { fsOps, type Stats } from '../io/fs.js';
import { fsyncDir, makeDir } from '../io/durable.js';
import { DIR_MODE, type StorePaths } from './layout.js';
import {
  isTrustedOwner,
  modeOf,
  self as selfUid,
  untrustedDirProblem,
  untrustedFileProblem,
  writableByOthers,
} from '../io/ownership.js';

/** Symbolic links followed on the way to the store before the path is refused (as the kernel's ELOOP). */
const MAX_LINKS = 40;

function unsafe(where: string, message: string): CertswapError {
  return new CertswapError(ErrorCodes.UNSAFE_STORE, message, { path: where });
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsOps.lstat(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/** Creates `dir` (0700) and fsyncs its parent, so that a reported install cannot lose its store. */
async function makeDirDurable(dir: string): Promise<void> {
  try {
    await makeDir(dir, DIR_MODE);
  } catch (err) {
    // Someone made it first: the caller's lstat looks at what is there now.
    if (errnoCode(err) === 'EEXIST') return;
    throw err;
  }
  await fsyncDir(path.dirname(dir));
}

export interface StoreDirCheck {
  /** Create missing directories (0700, each parent fsynced). */
  create: boolean;
  /**
   * Whether the store directory may belong to root when we are not root: a consumer running as
   * another user reads a store that root keeps. Anything that changes the store needs it ours.
   */
  rootOwnedStore?: boolean;
}

/** A path's components as the kernel reads them: '.' and '..' kept, empty ones dropped. */
function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Walks the store path from `/` the way the kernel resolves it, creating missing directories with
 * `create`, and checks every component as the module comment says. Returns the store's real path
 * (no links, no '..'), which is the path every later call uses: a path that passed the check
 * textually but resolved elsewhere (a link followed by '..') can never be used.
 * Raises CERTSWAP_UNSAFE_STORE naming the component and what is wrong with it, or ENOENT if the
 * store is missing and `create` is false.
 */
export async function checkStorePath(dir: string, opts: StoreDirCheck): Promise<string> {
  const self = selfUid();
  // A relative path starts at the working directory, which the kernel keeps as a real path.
  let rest = components(path.isAbsolute(dir) ? dir : `${process.cwd()}/${dir}`);
  // `cur` is always a real path: each component was lstat'ed as a real directory before it was
  // appended, so '..' is its dirname, exactly as the kernel takes it.
  let cur = '/';
  let st = await fsOps.lstat('/');
  let links = 0;
  while (rest.length > 0) {
    const name = rest[0]!;
    if (name === '..') {
      cur = path.dirname(cur);
      st = await fsOps.lstat(cur);
      rest = rest.slice(1);
      continue;
    }
    if (!isTrustedOwner(st.uid))
      throw unsafe(
        cur,
        `${cur} belongs to uid ${st.uid}: a directory above the store must belong to root or to this user`,
      );
    const next = path.join(cur, name);
    const sticky = (st.mode & 0o1000) !== 0;
    // Refused before anything is created in it: a refused command leaves no trace.
    if (writableByOthers(st) && !sticky) {
      throw unsafe(
        cur,
        `${cur} is writable by others (mode ${modeOf(st)}): anyone could replace ${next}; ` +
          'use a directory only root can write',
      );
    }
    let child = await lstatOrNull(next);
    if (child === null) {
      if (!opts.create) {
        throw Object.assign(new Error(`no such store directory: ${next} does not exist`), {
          code: 'ENOENT',
          syscall: 'lstat',
          path: next,
        });
      }
      await makeDirDurable(next);
      child = await fsOps.lstat(next);
    }
    if (writableByOthers(st) && !isTrustedOwner(child.uid)) {
      throw unsafe(
        next,
        `${next} belongs to uid ${child.uid} and sits in ${cur}, ` +
          `which anyone can write (mode ${modeOf(st)}): refusing it`,
      );
    }
    if (child.isSymbolicLink()) {
      if (rest.length === 1)
        throw unsafe(next, `${next} is a symbolic link: give the store's real directory (a link can be repointed)`);
      if (!isTrustedOwner(child.uid))
        throw unsafe(
          next,
          `${next} is a symbolic link owned by uid ${child.uid}, who could repoint it; refusing to follow it`,
        );
      if (++links > MAX_LINKS) throw unsafe(next, `${next}: too many levels of symbolic links`);
      // The target's components replace the link's, read from the link's directory (or from `/`).
      const target = await fsOps.readlink(next);
      if (path.isAbsolute(target)) {
        cur = '/';
        st = await fsOps.lstat('/');
      }
      rest = [...components(target), ...rest.slice(1)];
      continue;
    }
    if (!child.isDirectory()) throw unsafe(next, `${next} is not a directory`);
    cur = next;
    st = child;
    rest = rest.slice(1);
  }
  // `st` is now the store directory itself.
  if (st.uid !== self && !(opts.rootOwnedStore && st.uid === 0)) {
    throw unsafe(cur, `${cur} belongs to uid ${st.uid}, not to this user (uid ${self}); refusing to use it`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw unsafe(cur, `${cur} is writable by group or others (mode ${modeOf(st)}); chmod 700 it`);
  }
  return cur;
}

/**
 * Opens (and with `create`, creates) the store directory and checks the path to it is safe;
 * returns its real path. Raises CERTSWAP_UNSAFE_STORE, or ENOENT if it is missing and `create`
 * is false.
 */
export async function prepareStoreDir(dir: string, create: boolean): Promise<string> {
  return checkStorePath(dir, { create, rootOwnedStore: !create });
}

/**
 * What a directory of the layout (generations/, a generation) must be: a real directory (lstat:
 * never a link), owned by us or root, writable by nobody else. Raises CERTSWAP_UNSAFE_STORE.
 */
export function checkLayoutDir(st: Stats, where: string, extra: { generation?: number } = {}): void {
  const problem = untrustedDirProblem(st);
  if (problem !== null) {
    throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${where} ${problem}`, { path: where, ...extra });
  }
}

/**
 * What a file of the layout must be (fstat of the descriptor opened without following links):
 * a regular file with one name, owned by us or root, writable by nobody else (io/ownership.ts).
 * Raises CERTSWAP_UNSAFE_STORE, or ENOENT for a file removed since it was opened (no name left).
 */
export function checkLayoutFile(st: Stats, where: string, extra: { generation?: number } = {}): void {
  // No name at all: the file was removed (prune, a rename over it) between our open and this fstat.
  // That is no hard link but a file that vanished: ENOENT, which readers answer by resolving again.
  if (st.isFile() && st.nlink === 0) {
    throw Object.assign(new Error(`ENOENT: ${where} was removed while it was read`), {
      code: 'ENOENT',
      syscall: 'fstat',
      path: where,
    });
  }
  const problem = untrustedFileProblem(st);
  if (problem !== null) {
    throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${where} ${problem}`, { path: where, ...extra });
  }
}

/**
 * The state of generations/: absent (a store before its first stage) or a safe directory.
 * Raises CERTSWAP_UNSAFE_STORE for anything else (a link to a tree outside the store above all).
 */
export async function generationsDirExists(paths: StorePaths): Promise<boolean> {
  const st = await lstatOrNull(paths.generations);
  if (st === null) return false;
  checkLayoutDir(st, paths.generations);
  return true;
}

/** Creates generations/ if missing (durably: a staged generation must not lose its parent). */
export async function ensureGenerationsDir(paths: StorePaths): Promise<void> {
  if (await generationsDirExists(paths)) return;
  await makeDirDurable(paths.generations);
  checkLayoutDir(await fsOps.lstat(paths.generations), paths.generations);
}
