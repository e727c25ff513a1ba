/**
 * What every lineage import checks, whichever client made it (the directories it is read from:
 * lineage-dir.ts), and that the copies of the chain a client keeps agree. certbot and lego each keep the leaf's
 * chain twice (certbot: cert.pem + chain.pem and fullchain.pem; lego: NAME.crt and
 * NAME.issuer.crt); when the copies disagree the lineage was torn or edited, and which copy is
 * right cannot be told.
 */
import { CertswapError, ErrorCodes, toCertswapError } from '../errors.js';
import { parsePem } from '../pki/pem.js';

/** CERTSWAP_BAD_LINEAGE about `path`. */
export function badLineage(path: string, problem: string): CertswapError {
  return new CertswapError(ErrorCodes.BAD_LINEAGE, `${path}: ${problem}`, { path });
}

/**
 * `call(p)`, its errors typed with the path (ENOENT for a missing lineage or file); `named` is the
 * path errors show when `p` is a name under a held directory descriptor (LineageDir.at).
 */
export async function typed<T>(call: (p: string) => Promise<T>, p: string, syscall: string, named = p): Promise<T> {
  try {
    return await call(p);
  } catch (err) {
    throw typedError(err, syscall, named, p);
  }
}

/** `err` typed as typed() types it: the errno's code, the path `named`, not the `opened` one. */
export function typedError(err: unknown, syscall: string, named: string, opened: string): CertswapError {
  const e = toCertswapError(err, { path: named, syscall });
  // The errno's own message names what the kernel saw: /proc/self/fd/N/... under a held directory,
  // or for realpath the first missing parent. Either way the user's path is the one to show.
  if (named === opened && (err as { path?: unknown }).path === opened) return e;
  return new CertswapError(e.code, `${syscall} ${named}: ${e.code}`, { path: named, syscall, cause: err });
}

/** The DER of each PEM block of `data`, in order (framing only; validation is install's). */
export function blocksOf(data: Buffer, file: string): Buffer[] {
  return parsePem(data, 'cert', file).map((b) => b.der);
}

/** Whether `a` and `b` hold the same certificates in the same order. */
export function sameBlocks(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((der, i) => der.equals(b[i]!));
}
