/**
 * .meta.json: what stage() records beside a generation, once, so that later operations need not
 * parse the pair again: the certificate summary status shows (at 10,000 generations, status
 * parses nothing), and the SHA-256 of the exact bytes of cert.pem, key.pem and ca.pem that were
 * validated. Not part of the crash-safety argument: a missing or damaged .meta.json only means
 * the pair is parsed and validated in full again.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CertInfo } from '../../pki/cert-info.js';
import { fsOps } from '../../io/fs.js';
import { META_FILE } from '../layout.js';
import { readStateFile } from './state-file.js';
import type { ValidatedPair } from '../../pki/validate.js';

export interface Digests {
  cert: string;
  key: string;
  ca?: string;
}

export interface GenerationMeta extends CertInfo {
  stagedAt?: string;
  sha256?: Digests;
}

const MAX_META = 64 * 1024;
const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** The digests of the bytes stage() writes. */
export function stagedDigests(pair: ValidatedPair): Digests {
  const d: Digests = { cert: sha256(pair.certPem), key: sha256(pair.keyPem) };
  if (pair.caPem !== undefined) d.ca = sha256(pair.caPem);
  return d;
}

/** Whether `files` are byte for byte what was validated at staging. */
export function unchangedSinceStaging(meta: GenerationMeta | null, files: { cert: Buffer; key: Buffer; ca?: Buffer }): boolean {
  const d = meta?.sha256;
  if (!d || typeof d.cert !== 'string' || typeof d.key !== 'string' || typeof meta.keyType !== 'string') return false;
  return d.cert === sha256(files.cert) && d.key === sha256(files.key) && d.ca === (files.ca === undefined ? undefined : sha256(files.ca));
}

function parse(text: string | null): GenerationMeta | null {
  if (text === null) return null;
  try {
    const m = JSON.parse(text) as GenerationMeta;
    return m !== null && typeof m === 'object' ? m : null;
  } catch {
    return null;
  }
}

/** The generation's record, or null if it is missing or unreadable. */
export async function readMeta(generationDir: string): Promise<GenerationMeta | null> {
  return parse(await readStateFile(path.join(generationDir, META_FILE), MAX_META).catch(() => null));
}

/** As readMeta, with blocking reads (status over thousands of generations; see fsOps.readSmallSync). */
export function readMetaSync(generationDir: string): GenerationMeta | null {
  try {
    return parse(fsOps.readSmallSync(path.join(generationDir, META_FILE), MAX_META)?.toString('utf8') ?? null);
  } catch {
    return null;
  }
}
