/**
 * Whose files certswap trusts, written once. certswap runs as root: a file or directory it relies
 * on must be one that only root or the user certswap runs as could have written. So its owner is
 * root or us; no group or other write bit (the group bits are what an access ACL's mask shows, so
 * a directory an ACL lets another user write is refused too, and no group is exempt: containers
 * run users in group 0); and a file has one name (certswap creates every file with O_EXCL and
 * only renames it: a second name is a hard link someone made, to a file that may live, and be
 * read or changed, elsewhere).
 */
import type { Stats } from './fs.js';

/** The user certswap runs as. */
export function self(): number {
  return process.geteuid?.() ?? 0;
}

/** Root, or the user certswap runs as. */
export function isTrustedOwner(uid: number): boolean {
  return uid === 0 || uid === self();
}

/** Writable by someone other than its owner: a group or other write bit. */
export function writableByOthers(st: Stats): boolean {
  return (st.mode & 0o022) !== 0;
}

/** The permission bits as `ls -l` users write them: 0644. */
export function modeOf(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** Why `st` (lstat) is not a directory only root or we could have changed, or null. */
export function untrustedDirProblem(st: Stats): string | null {
  if (st.isSymbolicLink()) return 'is a symbolic link, not a directory';
  if (!st.isDirectory()) return 'is not a directory';
  if (!isTrustedOwner(st.uid)) return `belongs to uid ${st.uid}`;
  if (writableByOthers(st)) return `is writable by group or others (mode ${modeOf(st)})`;
  return null;
}

/** Why `st` (fstat of a descriptor opened without following links) is not a file only root or we wrote, or null. */
export function untrustedFileProblem(st: Stats): string | null {
  if (!st.isFile()) return st.isDirectory() ? 'is a directory, not a file' : 'is not a regular file';
  if (!isTrustedOwner(st.uid)) return `belongs to uid ${st.uid}`;
  if (writableByOthers(st)) return `is writable by group or others (mode ${modeOf(st)})`;
  if (st.nlink !== 1) return `has ${st.nlink} names (a hard link was made to it)`;
  return null;
}
