/**
 * What every lineage import checks, whichever client made it: the directories it is read from,
 * and that the copies of the chain a client keeps agree. certbot and lego each keep the leaf's
 * chain twice (certbot: cert.pem + chain.pem and fullchain.pem; lego: NAME.crt and
 * NAME.issuer.crt); when the copies disagree the lineage was torn or edited, and which copy is
 * right cannot be told.
 */
import { CertswapError, ErrorCodes, toCertswapError } from '../errors.js';
import { fsOps } from '../io/fs.js';
import { modeOf, writableByOthers } from '../io/ownership.js';
import { parsePem } from '../pki/pem.js';

/** CERTSWAP_BAD_LINEAGE about `path`. */
export function badLineage(path: string, problem: string): CertswapError {
  return new CertswapError(ErrorCodes.BAD_LINEAGE, `${path}: ${problem}`, { path });
}

/** `call(p)`, its errors typed with the path (ENOENT for a missing lineage or file). */
export async function typed<T>(call: (p: string) => Promise<T>, p: string, syscall: string): Promise<T> {
  try {
    return await call(p);
  } catch (err) {
    throw toCertswapError(err, { path: p, syscall });
  }
}

/**
 * Checks that `dir` (a real path: no link in it) is a directory, not a link, that only its owner
 * can change. Anyone else who could write it could swap a file or directory of the lineage between
 * the checks and the reads; its owner made the lineage and decides what it holds anyway. Raises
 * CERTSWAP_BAD_LINEAGE, or the errno code (ENOENT).
 */
export async function checkLineageDir(dir: string): Promise<void> {
  const st = await typed(fsOps.lstat, dir, 'lstat');
  if (!st.isDirectory())
    throw badLineage(dir, st.isSymbolicLink() ? 'is a link, not a directory' : 'is not a directory');
  if (writableByOthers(st)) {
    throw badLineage(
      dir,
      `is writable by group or others (mode ${modeOf(st)}): the lineage could change as it is read`,
    );
  }
}

/** The DER of each PEM block of `data`, in order (framing only; validation is install's). */
export function blocksOf(data: Buffer, file: string): Buffer[] {
  return parsePem(data, 'cert', file).map((b) => b.der);
}

/** Whether `a` and `b` hold the same certificates in the same order. */
export function sameBlocks(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((der, i) => der.equals(b[i]!));
}
