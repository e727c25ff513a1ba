/**
 * ACME Renewal Information (RFC 9773): the CA says when a certificate should be renewed.
 *
 * - The certificate's identifier (§4.1) is base64url(authorityKeyIdentifier's keyIdentifier) "."
 *   base64url(the serial number's DER content octets).
 * - renewalInfo/<id> answers a suggestedWindow {start, end}. The renewal is due at a moment drawn
 *   uniformly in it (§4.2: spreading a fleet over the window is the point), drawn again only when
 *   the window changes, so asking again does not move a renewal that was not moved by the CA.
 * - The answer is asked again when its Retry-After says (bounded to [1 min, 1 day]; 6 h without
 *   one), so a CA that moves the window (a mass revocation) is heard in time.
 */
import type { X509Certificate } from 'node:crypto';
import { loadX509 } from '../../pki/keys.js';

/** The ARI certificate identifier of `cert` (RFC 9773 §4.1). */
export async function ariCertId(cert: X509Certificate): Promise<string | undefined> {
  const lib = await loadX509();
  const c = new lib.X509Certificate(cert.raw);
  const aki = c.getExtension(lib.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) return undefined;
  let serial = Buffer.from(c.serialNumber.length % 2 ? `0${c.serialNumber}` : c.serialNumber, 'hex');
  // DER INTEGER content: a positive number whose top bit is set carries a leading zero octet.
  if (serial.length && serial[0]! & 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${Buffer.from(aki.keyId, 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}
