/**
 * PKCS#10 certificate signing requests, built with @peculiar/x509 and signed with the device's
 * key: the request carries the public key and the identity the CA is asked to certify, and proves
 * possession of the private key without containing it.
 */
import { EKU_OIDS, type ExtendedKeyUsage } from './eku.js';
import type { Identity } from '../agent/provisioners/provisioner.js';
import { escapeDnValue, isIpAddress, keyAlgorithms, loadX509, type CryptoKeyPair } from './keys.js';
import type { KeyType } from './key-types.js';

/** Subject attributes beside the CN, e.g. { O: 'Example Fleet', OU: 'devices' }. */
export type SubjectAttributes = Partial<Record<'O' | 'OU' | 'C' | 'ST' | 'L', string>>;

export interface CsrRequest {
  keys: CryptoKeyPair;
  keyType: KeyType;
  identity: Identity;
  subject?: SubjectAttributes;
  usages: ExtendedKeyUsage[];
}

/** The subject DN: CN first, then the other attributes in a fixed order. */
export function subjectName(identity: Identity, subject: SubjectAttributes = {}): string {
  const parts = [`CN=${escapeDnValue(identity.commonName)}`];
  for (const k of ['OU', 'O', 'L', 'ST', 'C'] as const) if (subject[k]) parts.push(`${k}=${escapeDnValue(subject[k])}`);
  return parts.join(', ');
}

/** A PEM CSR for `identity`, requesting the SANs, key usage and extended key usages. */
export async function createCsr(r: CsrRequest): Promise<string> {
  const lib = await loadX509();
  const usage =
    lib.KeyUsageFlags.digitalSignature | (r.keyType.startsWith('RSA') ? lib.KeyUsageFlags.keyEncipherment : 0);
  const extensions: InstanceType<typeof lib.Extension>[] = [
    new lib.KeyUsagesExtension(usage, true),
    new lib.ExtendedKeyUsageExtension(r.usages.map((u) => EKU_OIDS[u])),
  ];
  if (r.identity.sans.length) {
    extensions.push(
      new lib.SubjectAlternativeNameExtension(
        r.identity.sans.map((value) => ({ type: isIpAddress(value) ? ('ip' as const) : ('dns' as const), value })),
      ),
    );
  }
  const csr = await lib.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(r.identity, r.subject),
    keys: r.keys as never,
    signingAlgorithm: keyAlgorithms(r.keyType).sign as never,
    extensions,
  });
  return `${csr.toString('pem')}\n`;
}
