/**
 * What the chain files of a lineage must agree on. certbot and lego each keep the leaf's chain
 * twice (certbot: cert.pem + chain.pem and fullchain.pem; lego: NAME.crt and NAME.issuer.crt);
 * when the copies disagree the lineage was torn or edited, and which copy is right cannot be told.
 */
import { CertswapError, ErrorCodes } from '../errors.js';
import { parsePem } from '../pki/pem.js';

/** The DER of each PEM block of `data`, in order (framing only; validation is install's). */
export function blocksOf(data: Buffer, file: string): Buffer[] {
  return parsePem(data, 'cert', file).map((b) => b.der);
}

/** Whether `a` and `b` hold the same certificates in the same order. */
export function sameBlocks(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((der, i) => der.equals(b[i]!));
}

/** CERTSWAP_BAD_LINEAGE about `path`. */
export function badLineage(path: string, problem: string): CertswapError {
  return new CertswapError(ErrorCodes.BAD_LINEAGE, `${path}: ${problem}`, { path });
}
