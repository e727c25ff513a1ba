/**
 * What status reports about a generation. Computed once when the generation is staged and
 * recorded beside it (.meta.json), so that status over thousands of generations parses nothing.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';

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

/** "EC P-256", "RSA 2048", "Ed25519". */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `EC ${{ prime256v1: 'P-256', secp384r1: 'P-384' }[d.namedCurve ?? ''] ?? d.namedCurve}`;
    case 'rsa':
    case 'rsa-pss':
      return `RSA ${d.modulusLength}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return String(key.asymmetricKeyType);
  }
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

/** Whether the recorded dates make the certificate usable at `now` (with the clock skew). */
export function withinValidity(info: Pick<CertInfo, 'notBefore' | 'notAfter'>, now: Date, skewMs: number): boolean {
  const t = now.getTime();
  return t + skewMs >= Date.parse(info.notBefore) && t <= Date.parse(info.notAfter);
}
