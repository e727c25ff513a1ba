/**
 * A lego certificate: <path>/certificates/NAME.crt (the leaf, then the issuer chain; the leaf
 * alone with lego's --no-bundle), NAME.key, and NAME.issuer.crt (the issuer chain). NAME is the
 * first domain as lego spells file names: `*` becomes `_`, a Unicode name its ASCII form.
 *
 * lego writes these as regular files, so each is opened with O_NOFOLLOW and read bounded
 * (io/input.ts): a link (to /etc/shadow, out of the directory), a FIFO, a device or a file over
 * 1 MiB is refused before a byte is read. The directory the user named may be reached through
 * links; it must be writable by its owner alone (lineage.ts).
 */
import { domainToASCII } from 'node:url';
import path from 'node:path';
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { readInputFile } from '../io/input.js';
import { fsOps } from '../io/fs.js';
import { badLineage, blocksOf, checkLineageDir, sameBlocks, typed } from './lineage.js';
import type { ImportedPair } from './source.js';

/** The base name lego gives the files of `domain` (its sanitizedDomain). */
export function legoFileName(domain: string): string {
  const underscored = domain.replaceAll('*', '_');
  // domainToASCII returns '' for what is not a domain name; the name is then taken as given.
  const ascii = /^[\x20-\x7e]*$/.test(underscored) ? underscored : domainToASCII(underscored) || underscored;
  if (ascii === '' || ascii === '.' || ascii === '..' || /[/\0]/.test(ascii)) {
    throw new CertswapError(
      ErrorCodes.BAD_ARGUMENT,
      `lego certificate name ${JSON.stringify(domain)} is not a file name`,
    );
  }
  return ascii;
}

/**
 * Reads lego's NAME.crt, NAME.key and NAME.issuer.crt from `certificates`. The chain is NAME.crt
 * when it holds the chain (its certificates after the leaf must then be NAME.issuer.crt's), else
 * the leaf followed by NAME.issuer.crt. Raises CERTSWAP_BAD_ARGUMENT (NAME), CERTSWAP_BAD_LINEAGE
 * (NAME.crt's chain differs from NAME.issuer.crt; the directory is writable by others), the input
 * file codes, and the errno codes (ENOENT, EACCES, ELOOP for a link).
 */
export async function readLegoCertificate(certificates: string, domain: string): Promise<ImportedPair> {
  // The directory the user named, links resolved once; then it must be writable by its owner alone.
  const dir = await typed(fsOps.realpath, certificates, 'realpath');
  await checkLineageDir(dir);
  const base = path.join(dir, legoFileName(domain));
  const crtPath = `${base}.crt`;
  const keyPath = `${base}.key`;
  const issuerPath = `${base}.issuer.crt`;
  const crt = await readInputFile(crtPath, 'cert', { noFollow: true });
  const key = await readInputFile(keyPath, 'key', { noFollow: true });
  let issuer: Buffer | undefined;
  try {
    issuer = await readInputFile(issuerPath, 'cert', { noFollow: true });
  } catch (err) {
    // A server may send no chain; then lego writes no issuer file, and NAME.crt is all there is.
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const files = [crtPath, keyPath];
  if (issuer === undefined) return { input: { cert: crt, key, certPath: crtPath, keyPath }, files };
  files.push(issuerPath);
  const chain = blocksOf(crt, crtPath);
  const issuers = blocksOf(issuer, issuerPath);
  if (chain.length === 1) {
    const cert = Buffer.concat([crt, Buffer.from('\n'), issuer]);
    return { input: { cert, key, certPath: crtPath, keyPath }, files };
  }
  if (!sameBlocks(chain.slice(1), issuers)) {
    throw badLineage(crtPath, `its chain is not ${path.basename(issuerPath)}`);
  }
  return { input: { cert: crt, key, certPath: crtPath, keyPath }, files };
}
