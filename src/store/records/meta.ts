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
import { errnoCode } from '../../errors.js';
import { fsOps } from '../../io/fs.js';
import { BUNDLE_FILE, FULLCHAIN_FILE, META_FILE, PKCS12_FILE } from '../layout.js';
import { MAX_STATE_FILE_BYTES, readStateFile } from './state-file.js';
import { checkLayoutDir, checkLayoutFile } from '../store-path.js';
import type { ValidatedPair } from '../../pki/validate.js';

export interface Digests {
  cert: string;
  key: string;
  ca?: string;
  /** The other formats' files (fullchain.pem, bundle.pem, cert.p12), by name. */
  files?: Record<string, string>;
}

export interface GenerationMeta extends CertInfo {
  stagedAt?: string;
  sha256?: Digests;
  /** The other formats written beside the pair (fullchain.pem, bundle.pem, cert.p12). */
  files?: string[];
}

const FORMAT_FILE_NAMES: readonly string[] = [FULLCHAIN_FILE, BUNDLE_FILE, PKCS12_FILE];

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** The digests of the bytes stage() writes. */
export function stagedDigests(pair: ValidatedPair): Digests {
  const d: Digests = { cert: sha256(pair.certPem), key: sha256(pair.keyPem) };
  if (pair.caPem !== undefined) d.ca = sha256(pair.caPem);
  return d;
}

/** The digest of `data`, as the record keeps it. */
export function digestOf(data: Uint8Array | string): string {
  return sha256(data);
}

/** Whether `files` are byte for byte what was validated at staging. */
export function unchangedSinceStaging(
  meta: GenerationMeta | null,
  files: { cert: Buffer; key: Buffer; ca?: Buffer },
): boolean {
  const d = meta?.sha256;
  if (!d || typeof d.cert !== 'string' || typeof d.key !== 'string' || typeof meta.keyType !== 'string') return false;
  return (
    d.cert === sha256(files.cert) &&
    d.key === sha256(files.key) &&
    d.ca === (files.ca === undefined ? undefined : sha256(files.ca))
  );
}

const str = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const hex = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/**
 * The record, with exact types, or null: only the fields certswap writes are taken, each checked,
 * so that a damaged or planted file can neither crash a report nor pose as another generation
 * (an `id` or `active` of its own). Null means "parse the pair itself".
 */
export function parseMeta(text: string | null): GenerationMeta | null {
  if (text === null) return null;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
  const sans = m.sans;
  const d = m.sha256 as Record<string, unknown> | undefined;
  if (
    !str(m.subject) ||
    !(m.commonName === null || str(m.commonName)) ||
    !str(m.issuer) ||
    !str(m.serial, 256) ||
    !str(m.notBefore, 64) ||
    !str(m.notAfter, 64) ||
    !str(m.fingerprint, 128) ||
    !str(m.keyType, 64) ||
    !Number.isSafeInteger(m.chainLength) ||
    !Array.isArray(sans) ||
    sans.length > 1000 ||
    !sans.every((x) => str(x)) ||
    !(m.stagedAt === undefined || str(m.stagedAt, 64))
  ) {
    return null;
  }
  const out: GenerationMeta = {
    subject: m.subject,
    commonName: m.commonName,
    sans: sans as string[],
    issuer: m.issuer,
    serial: m.serial,
    notBefore: m.notBefore,
    notAfter: m.notAfter,
    fingerprint: m.fingerprint,
    keyType: m.keyType,
    chainLength: m.chainLength as number,
  };
  if (m.stagedAt !== undefined) out.stagedAt = m.stagedAt;
  const files = m.files;
  if (Array.isArray(files) && files.every((f) => FORMAT_FILE_NAMES.includes(f as string))) {
    out.files = files as string[];
  }
  if (d !== null && typeof d === 'object' && hex(d.cert) && hex(d.key) && (d.ca === undefined || hex(d.ca))) {
    out.sha256 = { cert: d.cert, key: d.key, ...(d.ca === undefined ? {} : { ca: d.ca as string }) };
    const f = d.files as Record<string, unknown> | undefined;
    if (
      f !== null &&
      typeof f === 'object' &&
      Object.entries(f).every(([k, v]) => FORMAT_FILE_NAMES.includes(k) && hex(v))
    )
      out.sha256.files = f as Record<string, string>;
  }
  return out;
}

/** The generation's record, or null if it is missing, unreadable, or not ours (see readStateFile). */
export async function readMeta(generationDir: string): Promise<GenerationMeta | null> {
  return parseMeta(await readStateFile(path.join(generationDir, META_FILE), MAX_STATE_FILE_BYTES).catch(() => null));
}

/**
 * As readMeta, with blocking reads (status over thousands of generations; see fsOps.readSmallSync).
 * Raises CERTSWAP_UNSAFE_STORE when the generation's directory is not a real directory of ours:
 * through a link there, the record would come from outside the store.
 */
export function readMetaSync(generationDir: string, generation: number): GenerationMeta | null {
  let st: ReturnType<typeof fsOps.lstatSync>;
  try {
    st = fsOps.lstatSync(generationDir);
  } catch (err) {
    // Pruned since it was listed (status takes no lock): no record, as for a missing file.
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  checkLayoutDir(st, generationDir, { generation });
  const file = path.join(generationDir, META_FILE);
  try {
    return parseMeta(
      fsOps.readSmallSync(file, MAX_STATE_FILE_BYTES, (st) => checkLayoutFile(st, file))?.toString('utf8') ?? null,
    );
  } catch {
    return null;
  }
}
