/**
 * Test certificates, generated with @peculiar/x509 (never downloaded). Every kind of pair the
 * tests need: good chains, expired, not yet valid, other keys, weak keys, other CAs.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle as unknown as SubtleCrypto;

export type Alg = 'P-256' | 'P-384' | 'P-521' | 'RSA-2048' | 'RSA-1024' | 'Ed25519';

function params(alg: Alg): { gen: Algorithm & Record<string, unknown>; sign: Algorithm & Record<string, unknown> } {
  switch (alg) {
    case 'P-256':
    case 'P-384':
    case 'P-521':
      return {
        gen: { name: 'ECDSA', namedCurve: alg },
        sign: { name: 'ECDSA', hash: alg === 'P-256' ? 'SHA-256' : 'SHA-384' },
      };
    case 'RSA-2048':
    case 'RSA-1024': {
      const rsa = {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: alg === 'RSA-2048' ? 2048 : 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
      return { gen: rsa, sign: rsa };
    }
    case 'Ed25519':
      return { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  }
}

export interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  certPem: string;
  keyPem: string;
  sign: Algorithm;
}

const DAY = 86_400_000;
let serial = 1;

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await subtle.exportKey('pkcs8', keys.privateKey);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

export interface CertOptions {
  name?: string;
  sans?: string[];
  alg?: Alg;
  notBefore?: Date;
  notAfter?: Date;
  issuer?: Issued;
  eku?: string[];
  ca?: boolean;
}

export async function issue(o: CertOptions = {}): Promise<Issued> {
  const alg = o.alg ?? 'P-256';
  const p = params(alg);
  const keys = (await subtle.generateKey(p.gen as never, true, ['sign', 'verify'])) as CryptoKeyPair;
  const name = `CN=${o.name ?? (o.ca ? 'certswap test CA' : 'device-1')}`;
  const extensions: x509.Extension[] = [];
  if (o.ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  } else {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    if (o.eku?.length) extensions.push(new x509.ExtendedKeyUsageExtension(o.eku));
    const sans = o.sans ?? [o.name ?? 'device-1'];
    extensions.push(new x509.SubjectAlternativeNameExtension(sans.map((value) => ({ type: 'dns' as const, value }))));
  }
  const signer = o.issuer;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(8, '0'),
    subject: name,
    issuer: signer ? signer.cert.subject : name,
    notBefore: o.notBefore ?? new Date(Date.now() - DAY),
    notAfter: o.notAfter ?? new Date(Date.now() + 30 * DAY),
    signingAlgorithm: (signer ?? { sign: p.sign }).sign as never,
    publicKey: keys.publicKey,
    signingKey: (signer?.keys ?? keys).privateKey,
    extensions,
  });
  return { cert, keys, certPem: `${cert.toString('pem')}\n`, keyPem: await keyPem(keys), sign: p.sign };
}

/** A test CA, created once per process: EC key generation is fast, but tests make hundreds of pairs. */
let sharedCa: Promise<Issued> | undefined;
export function testCa(): Promise<Issued> {
  sharedCa ??= issue({ ca: true });
  return sharedCa;
}

export interface Pair {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  leaf: Issued;
}

/** A leaf issued by the shared test CA, as the byte buffers stage takes. */
export async function makePair(o: CertOptions = {}): Promise<Pair> {
  const ca = o.issuer ?? (await testCa());
  const leaf = await issue({ ...o, issuer: ca });
  return { cert: Buffer.from(leaf.certPem), key: Buffer.from(leaf.keyPem), ca: Buffer.from(ca.certPem), leaf };
}

export const DAY_MS = DAY;
