/**
 * Certificate and key validation: everything that must be true of a pair before it may become
 * active. Uses Node's built-in X509Certificate (about a millisecond per parse; key match, issuer,
 * signature and dates), so that validating never loads a full X.509 library.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { type CertswapCode, CertswapError, ErrorCodes, type FileRole } from '../errors.js';
import { encodePem, parsePem } from './pem.js';
import { describeCertificate, validityProblem, type CertInfo } from './cert-info.js';
import { describeKey, unsupportedKey } from './key-types.js';

/** Largest input accepted for any one file. */
export const MAX_INPUT_BYTES = 1024 * 1024;
/** Most certificates accepted in cert.pem (leaf plus intermediates). */
export const MAX_CHAIN = 8;
/** Most certificates accepted in a CA or trust bundle. */
export const MAX_BUNDLE = 256;
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;

import { EKU_OIDS, type ExtendedKeyUsage } from './eku.js';

export type { ExtendedKeyUsage };

export interface ValidationOptions {
  /** The time to validate at; defaults to the current time. */
  now?: Date;
  /** How far notBefore may lie in the future (device clocks lag); default 5 minutes. */
  clockSkewMs?: number;
  /** The leaf's subject CN or one of its SANs must equal this exactly. */
  expectName?: string;
  /** PEM bundle the chain must lead to. */
  trust?: Buffer;
  /** The leaf must stay valid at least this long from now. */
  minRemainingMs?: number;
  /** Extended key usages the leaf must allow (a leaf without the extension allows all). */
  requireEku?: ExtendedKeyUsage[];
  /** Check only structure and key match, not dates (recover: an expired pair is not a torn one). */
  ignoreDates?: boolean;
}

export interface PairInput {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer | undefined;
  /** Paths, used only to name the files in errors. */
  certPath?: string;
  keyPath?: string;
  caPath?: string;
}

export interface ValidatedPair {
  /** Canonical PEM as it will be written: leaf first, then intermediates. */
  certPem: string;
  /** The key re-encoded as unencrypted PKCS#8 PEM. */
  keyPem: string;
  caPem?: string;
  info: CertInfo;
}

function label(role: FileRole, file?: string): string {
  return file ? `${role} ${file}` : role;
}

function fail(code: CertswapCode, role: FileRole, file: string | undefined, problem: string): never {
  throw new CertswapError(code, `${label(role, file)}: ${problem}`, { file: role, path: file });
}

/** Refuses empty and oversized input before any parsing. */
export function checkInputSize(data: Buffer, role: FileRole, file?: string): void {
  if (data.length > MAX_INPUT_BYTES) {
    fail(ErrorCodes.INPUT_TOO_LARGE, role, file, `larger than ${MAX_INPUT_BYTES} bytes`);
  }
  if (data.toString('latin1').trim() === '') fail(ErrorCodes.INPUT_EMPTY, role, file, 'empty');
}

/** Parses a PEM bundle of certificates (cert.pem, ca.pem, a trust bundle). */
export function parseCertificates(
  data: Buffer,
  role: FileRole,
  file: string | undefined,
  max: number,
): X509Certificate[] {
  checkInputSize(data, role, file);
  const blocks = parsePem(data, role, file);
  if (blocks.length > max) fail(ErrorCodes.CHAIN_TOO_LONG, role, file, `more than ${max} certificates`);
  return blocks.map((b, i) => {
    if (b.label.includes('PRIVATE KEY')) {
      fail(
        ErrorCodes.BAD_CERT,
        role,
        file,
        'holds a private key, not a certificate (are the certificate and key swapped?)',
      );
    }
    if (b.label.includes('CERTIFICATE REQUEST')) {
      fail(ErrorCodes.BAD_CERT, role, file, 'holds a certificate signing request, not a certificate');
    }
    if (b.label !== 'CERTIFICATE') fail(ErrorCodes.BAD_CERT, role, file, `unexpected PEM block ${b.label}`);
    let c: X509Certificate;
    try {
      c = new X509Certificate(b.der);
    } catch {
      return fail(ErrorCodes.BAD_CERT, role, file, `certificate ${i + 1} does not parse as X.509`);
    }
    // Found by fuzzing: a damaged validity field can parse yet yield no date at all.
    if (!Number.isFinite(Date.parse(c.validFrom)) || !Number.isFinite(Date.parse(c.validTo))) {
      fail(ErrorCodes.BAD_CERT, role, file, `certificate ${i + 1} has unreadable validity dates`);
    }
    return c;
  });
}

/** Parses a private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), unencrypted, of a supported type. */
export function parsePrivateKey(data: Buffer, file?: string): KeyObject {
  checkInputSize(data, 'key', file);
  // openssl ecparam -genkey writes an EC PARAMETERS block before the key; it carries nothing we need.
  const blocks = parsePem(data, 'key', file).filter((b) => b.label !== 'EC PARAMETERS');
  if (blocks.some((b) => b.label === 'CERTIFICATE')) {
    fail(
      ErrorCodes.BAD_KEY,
      'key',
      file,
      'holds a certificate, not a private key (are the certificate and key swapped?)',
    );
  }
  if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY' || /ENCRYPTED/.test(b.headers['Proc-Type'] ?? ''))) {
    fail(ErrorCodes.KEY_ENCRYPTED, 'key', file, 'the private key is encrypted; certswap needs an unencrypted key');
  }
  if (blocks.length !== 1)
    fail(ErrorCodes.BAD_KEY, 'key', file, `expected exactly one private key, found ${blocks.length} PEM blocks`);
  const block = blocks[0]!;
  const type = { 'PRIVATE KEY': 'pkcs8', 'RSA PRIVATE KEY': 'pkcs1', 'EC PRIVATE KEY': 'sec1' }[block.label] as
    | 'pkcs8'
    | 'pkcs1'
    | 'sec1'
    | undefined;
  if (!type) fail(ErrorCodes.BAD_KEY, 'key', file, `unexpected PEM block ${block.label}`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type });
  } catch {
    return fail(ErrorCodes.BAD_KEY, 'key', file, 'the private key does not parse');
  }
  const problem = unsupportedKey(key);
  if (problem) fail(ErrorCodes.UNSUPPORTED_KEY, 'key', file, problem);
  return key;
}

function issued(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

function checkDates(c: X509Certificate, what: string, file: string | undefined, opts: ValidationOptions): void {
  const now = (opts.now ?? new Date()).getTime();
  const skew = opts.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const notBefore = Date.parse(c.validFrom);
  const notAfter = Date.parse(c.validTo);
  const problem = validityProblem(notBefore, notAfter, now, skew);
  if (problem === ErrorCodes.NOT_YET_VALID) {
    fail(problem, 'cert', file, `${what} is not valid before ${new Date(notBefore).toISOString()}`);
  }
  if (problem === ErrorCodes.EXPIRED)
    fail(problem, 'cert', file, `${what} expired at ${new Date(notAfter).toISOString()}`);
}

/** Whether the leaf's CN or any SAN equals `name` exactly. */
function hasName(info: CertInfo, name: string): boolean {
  return info.commonName === name || info.sans.some((san) => san.slice(san.indexOf(':') + 1) === name);
}

/**
 * Validates a certificate chain, its private key and an optional CA bundle, and returns them in
 * the canonical form that is written to disk. Raises CERTSWAP_* codes: INPUT_EMPTY,
 * INPUT_TOO_LARGE, NOT_PEM, BAD_CERT, BAD_KEY, KEY_ENCRYPTED, UNSUPPORTED_KEY, KEY_MISMATCH,
 * CHAIN_ORDER, CHAIN_TOO_LONG, NOT_YET_VALID, EXPIRED, LIFETIME_TOO_SHORT, UNTRUSTED,
 * NAME_MISMATCH, EKU_MISSING.
 */
export function validatePair(input: PairInput, opts: ValidationOptions = {}): ValidatedPair {
  const chain = parseCertificates(input.cert, 'cert', input.certPath, MAX_CHAIN);
  const key = parsePrivateKey(input.key, input.keyPath);
  checkChainOrder(chain, input.certPath);
  if (!chain[0]!.checkPrivateKey(key)) {
    throw new CertswapError(
      ErrorCodes.KEY_MISMATCH,
      `${label('key', input.keyPath)}: does not match the public key of ${label('cert', input.certPath)}`,
      { file: 'key', path: input.keyPath },
    );
  }
  const out: ValidatedPair = {
    certPem: chain.map((c) => encodePem('CERTIFICATE', c.raw)).join(''),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    info: checkCertificates(chain, describeKey(key), input.certPath, opts),
  };
  if (input.ca !== undefined) {
    out.caPem = parseCertificates(input.ca, 'ca', input.caPath, MAX_BUNDLE)
      .map((c) => encodePem('CERTIFICATE', c.raw))
      .join('');
  }
  return out;
}

/**
 * Validates a generation whose cert.pem and key.pem are, byte for byte, the ones validated when
 * it was staged (the caller has compared their SHA-256 with the digests recorded then, in
 * .meta.json). That the key matches the certificate was proven at staging and cannot have
 * changed, so the key is not parsed again (the costlier half of a validation), nor the CA
 * bundle (it was written in canonical form); everything that can change with time or with the
 * options (dates, chain, name, EKU, trust) is checked as usual. Damage to either file changes its
 * digest, and the caller falls back to validatePair.
 */
export function validateStagedPair(input: PairInput, opts: ValidationOptions, stagedKeyType: string): ValidatedPair {
  const chain = parseCertificates(input.cert, 'cert', input.certPath, MAX_CHAIN);
  checkChainOrder(chain, input.certPath);
  const out: ValidatedPair = {
    certPem: chain.map((c) => encodePem('CERTIFICATE', c.raw)).join(''),
    keyPem: Buffer.from(input.key).toString('latin1'),
    info: checkCertificates(chain, stagedKeyType, input.certPath, opts),
  };
  if (input.ca !== undefined) out.caPem = Buffer.from(input.ca).toString('latin1');
  return out;
}

/** Each certificate of the chain was issued by the next: the leaf first, then each issuer in turn. */
function checkChainOrder(chain: X509Certificate[], certFile: string | undefined): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issued(chain[i]!, chain[i + 1]!)) {
      fail(
        ErrorCodes.CHAIN_ORDER,
        'cert',
        certFile,
        `certificate ${i + 2} did not issue certificate ${i + 1} (expected the leaf first, then each issuer in turn)`,
      );
    }
  }
}

/**
 * What both validations check of the certificates after the chain's order and the key: the
 * dates, the remaining lifetime, the name, the usages, the trust anchor. Returns the leaf's
 * summary.
 */
function checkCertificates(
  chain: X509Certificate[],
  keyType: string,
  certFile: string | undefined,
  opts: ValidationOptions,
): CertInfo {
  const leaf = chain[0]!;
  if (!opts.ignoreDates) {
    for (const [i, c] of chain.entries())
      checkDates(c, i === 0 ? 'the certificate' : `intermediate ${i}`, certFile, opts);
  }
  const info = describeCertificate(leaf, keyType, chain.length);
  const now = (opts.now ?? new Date()).getTime();
  if (opts.minRemainingMs !== undefined && Date.parse(info.notAfter) - now < opts.minRemainingMs) {
    fail(
      ErrorCodes.LIFETIME_TOO_SHORT,
      'cert',
      certFile,
      `expires at ${info.notAfter}, sooner than the required remaining lifetime`,
    );
  }
  if (opts.expectName !== undefined && !hasName(info, opts.expectName)) {
    fail(
      ErrorCodes.NAME_MISMATCH,
      'cert',
      certFile,
      `is for ${JSON.stringify(info.subject)}, not ${JSON.stringify(opts.expectName)}`,
    );
  }
  for (const eku of opts.requireEku ?? []) {
    const usages = leaf.keyUsage;
    if (usages !== undefined && !usages.includes(EKU_OIDS[eku])) {
      fail(ErrorCodes.EKU_MISSING, 'cert', certFile, `does not allow ${eku} (extended key usage)`);
    }
  }
  if (opts.trust !== undefined) {
    const anchors = parseCertificates(opts.trust, 'trust', undefined, MAX_BUNDLE);
    const top = chain[chain.length - 1]!;
    const trusted = anchors.some((a) => a.fingerprint256 === top.fingerprint256 || issued(top, a));
    if (!trusted) fail(ErrorCodes.UNTRUSTED, 'cert', certFile, 'does not chain to the trusted CA bundle');
  }
  return info;
}
