/**
 * What status reports about a generation. Computed once when the generation is staged and
 * recorded beside it (.meta.json), so that status over thousands of generations parses nothing.
 */
import type { X509Certificate } from 'node:crypto';
import { ErrorCodes } from '../errors.js';

export interface CertInfo {
  subject: string;
  commonName: string | null;
  sans: string[];
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the leaf's DER, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
  keyType: string;
  chainLength: number;
}

/** Node prints distinguished names one attribute per line; status shows them on one line. */
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** Splits Node's "DNS:a, IP Address:1.2.3.4" into ["DNS:a", "IP:1.2.3.4"]. */
function splitSans(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(/, (?=[A-Za-z ]+:)/)
    .map((s) => s.trim().replace(/^IP Address:/, 'IP:'))
    .filter(Boolean);
}

export function describeCertificate(leaf: X509Certificate, keyType: string, chainLength: number): CertInfo {
  const cn = /^CN=(.*)$/m.exec(leaf.subject);
  return {
    subject: oneLine(leaf.subject),
    commonName: cn ? cn[1]! : null,
    sans: splitSans(leaf.subjectAltName),
    issuer: oneLine(leaf.issuer),
    serial: leaf.serialNumber.toUpperCase(),
    notBefore: new Date(Date.parse(leaf.validFrom)).toISOString(),
    notAfter: new Date(Date.parse(leaf.validTo)).toISOString(),
    fingerprint: leaf.fingerprint256,
    keyType,
    chainLength,
  };
}

/**
 * The one rule for dates: at `now` a certificate is not yet valid if now + skew is before its
 * notBefore (a device's clock may run behind the CA's), expired if now is after its notAfter
 * (no grace: an expired certificate is refused by peers). Null when it is within its validity.
 */
export function validityProblem(
  notBefore: number,
  notAfter: number,
  now: number,
  skewMs: number,
): typeof ErrorCodes.NOT_YET_VALID | typeof ErrorCodes.EXPIRED | null {
  if (now + skewMs < notBefore) return ErrorCodes.NOT_YET_VALID;
  if (now > notAfter) return ErrorCodes.EXPIRED;
  return null;
}

/** validityProblem for the recorded dates of a generation (status, which parses no certificate). */
export function recordedValidityProblem(info: Pick<CertInfo, 'notBefore' | 'notAfter'>, now: Date, skewMs: number) {
  return validityProblem(Date.parse(info.notBefore), Date.parse(info.notAfter), now.getTime(), skewMs);
}
