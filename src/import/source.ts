/**
 * certswap import: the pair another ACME client obtained, read from where that client keeps it,
 * ready for GenerationStore.install. The source is only read, never changed: no file is opened
 * for writing, renamed or touched, so the other client keeps working until it is switched off.
 */
import { readInputFile, readPairFiles } from '../io/input.js';
import type { PairInput } from '../pki/validate.js';
import { readCertbotLineage } from './certbot.js';
import { readLegoCertificate } from './lego.js';

/** Where the pair comes from: a certbot lineage, a lego certificate, or a certificate and key file. */
export type ImportSource =
  | { from: 'certbot'; live: string }
  | { from: 'lego'; certificates: string; name: string }
  | { from: 'files'; cert: string; key: string };

export const IMPORT_FROM = ['certbot', 'lego'] as const;

/** The pair as stage and install take it, and every file it was read from (real paths). */
export interface ImportedPair {
  input: PairInput;
  files: string[];
}

/**
 * Reads the pair of `source` and, with `ca`, a CA bundle for peers (as install's --ca). Checks
 * what the lineage's own layout promises (certbot.ts, lego.ts); validation is install's. Raises
 * CERTSWAP_BAD_LINEAGE, CERTSWAP_BAD_ARGUMENT (a lego name that is not a file name), the input
 * file codes (CERTSWAP_INPUT_NOT_FILE, CERTSWAP_INPUT_TOO_LARGE, CERTSWAP_NOT_PEM) and the errno
 * codes (ENOENT, EACCES, ELOOP).
 */
export async function readImport(source: ImportSource, ca?: string): Promise<ImportedPair> {
  let pair: ImportedPair;
  switch (source.from) {
    case 'certbot':
      pair = await readCertbotLineage(source.live);
      break;
    case 'lego':
      pair = await readLegoCertificate(source.certificates, source.name);
      break;
    case 'files':
      pair = { input: await readPairFiles(source), files: [source.cert, source.key] };
      break;
  }
  if (ca !== undefined) {
    pair.input.ca = await readInputFile(ca, 'ca');
    pair.input.caPath = ca;
    pair.files.push(ca);
  }
  return pair;
}
