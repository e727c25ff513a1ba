/**
 * Key pairs and the X.509 library, for the provisioners that make keys on the device (local-ca,
 * csr). Keys are WebCrypto keys held in memory; their PKCS#8 PEM goes only to stage(), which
 * writes it (0600) into the staging generation: no provisioner writes a key to disk.
 *
 * @peculiar/x509 is loaded here, lazily, and only when a certificate or CSR is built: importing it
 * costs more than a whole read-only command (docs/performance.md), which none of them should pay.
 */
import { webcrypto } from 'node:crypto';

import type { KeyType } from './key-types.js';

export const subtle = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

type X509 = typeof import('@peculiar/x509');
let x509: Promise<X509> | undefined;

export function loadX509(): Promise<X509> {
  x509 ??= (async () => {
    await import('reflect-metadata');
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(webcrypto as never);
    return lib;
  })();
  return x509;
}

/** WebCrypto parameters to generate, import and sign with a key of `keyType`. */
export function keyAlgorithms(keyType: KeyType): { gen: Record<string, unknown>; sign: Record<string, unknown> } {
  switch (keyType) {
    case 'P-256':
      return { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } };
    case 'P-384':
      return { gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } };
    case 'RSA-2048':
    case 'RSA-3072':
    case 'RSA-4096': {
      const rsa = {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(keyType.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
      return { gen: rsa, sign: rsa };
    }
    case 'Ed25519':
      return { gen: { name: 'Ed25519' }, sign: { name: 'Ed25519' } };
  }
}

/** A new extractable key pair of `keyType` (extractable: stage() needs its PKCS#8 bytes). */
export async function generateKeyPair(keyType: KeyType): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(keyAlgorithms(keyType).gen as never, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export function pemEncode(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der as ArrayBuffer)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The private key as PKCS#8 PEM: the bytes stage() writes to key.pem. */
export async function privateKeyPem(keys: CryptoKeyPair): Promise<Buffer> {
  return Buffer.from(pemEncode('PRIVATE KEY', await subtle.exportKey('pkcs8', keys.privateKey)));
}

/** The public key as SubjectPublicKeyInfo DER, to compare with a certificate's. */
export async function publicKeyDer(keys: CryptoKeyPair): Promise<Buffer> {
  return Buffer.from(await subtle.exportKey('spki', keys.publicKey));
}

export function isIpAddress(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}

/** Escapes a value for an RFC 4514 distinguished name ("CN=a\,b"). */
export function escapeDnValue(v: string): string {
  return v
    .replace(/([,+"\\<>;=])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');
}
