/**
 * Which keys certswap takes and makes, written once: validation accepts EC P-256/P-384, RSA of at
 * least 2048 bits and Ed25519; the provisioners make (and a reused key must be) one of KEY_TYPES;
 * status describes a key in the same words.
 */
import type { KeyObject } from 'node:crypto';

export type KeyType = 'P-256' | 'P-384' | 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'Ed25519';
export const KEY_TYPES: readonly KeyType[] = ['P-256', 'P-384', 'RSA-2048', 'RSA-3072', 'RSA-4096', 'Ed25519'];

/** OpenSSL's curve names, as Node reports them, for the curves certswap accepts. */
const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/** The smallest RSA modulus accepted. */
export const MIN_RSA_BITS = 2048;

/** "EC P-256", "RSA 2048", "Ed25519". */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `EC ${CURVES[d.namedCurve ?? ''] ?? d.namedCurve}`;
    case 'rsa':
    case 'rsa-pss':
      return `RSA ${d.modulusLength}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return String(key.asymmetricKeyType);
  }
}

/** Why a key is not accepted, or null. */
export function unsupportedKey(key: KeyObject): string | null {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return CURVES[d.namedCurve ?? '']
        ? null
        : `unsupported EC curve ${d.namedCurve ?? 'unknown'} (use P-256 or P-384)`;
    case 'rsa':
    case 'rsa-pss':
      return (d.modulusLength ?? 0) >= MIN_RSA_BITS
        ? null
        : `RSA key of ${d.modulusLength} bits is too weak (at least ${MIN_RSA_BITS})`;
    case 'ed25519':
      return null;
    default:
      return `unsupported key type ${key.asymmetricKeyType}`;
  }
}

/** The KeyType of an existing key (to make a CSR with it), or null if it is not one of KEY_TYPES. */
export function keyTypeOf(key: KeyObject): KeyType | null {
  const d = key.asymmetricKeyDetails ?? {};
  let t: string | undefined;
  if (key.asymmetricKeyType === 'ec') t = CURVES[d.namedCurve ?? ''];
  else if (key.asymmetricKeyType === 'rsa') t = `RSA-${d.modulusLength}`;
  else if (key.asymmetricKeyType === 'ed25519') t = 'Ed25519';
  return KEY_TYPES.includes(t as KeyType) ? (t as KeyType) : null;
}
