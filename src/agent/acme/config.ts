/**
 * The `acme` provisioner's configuration (docs/agent.md#acme): its keys, exactly as the README
 * shows them, checked like the rest of the configuration (config.ts owns the helpers and LIMITS).
 */
import path from 'node:path';
import type { ExtendedKeyUsage } from '../../pki/validate.js';
import type { KeyType } from '../../pki/key-types.js';
import { LIMITS, duration, fail, keyType, mapping, str, strList } from '../config.js';
import type { Identity } from '../provisioners/provisioner.js';

export const CHALLENGE_TYPES = ['http-01', 'tls-alpn-01', 'dns-01'] as const;
export type ChallengeType = (typeof CHALLENGE_TYPES)[number];

export interface Listen {
  port: number;
  address: string;
}

export interface AcmeProvisionerConfig {
  type: 'acme';
  /** The ACME directory URL (https). */
  directory: string;
  /** PEM bundle the server's TLS certificate must chain to (default: the system roots); read at start. */
  directoryCa?: string;
  email?: string;
  termsAgreed: boolean;
  /** External account binding: the key id and a file holding the base64url HMAC key; read at start. */
  eab?: { kid: string; hmacKeyFile: string };
  challenge: ChallengeType;
  /** http-01: a standalone listener, or files written under a web server's root. */
  http: Listen | { webroot: string };
  tlsAlpn: Listen;
  /** dns-01: the hook's argv ({action} set|clear, {name}, {value}) and the wait after `set`. */
  dns?: { hook: string[]; waitMs: number };
  keyType: KeyType;
  reuseKey: boolean;
  profile?: string;
  usages: ExtendedKeyUsage[];
}

const KEYS = {
  eab: ['kid', 'hmacKeyFile'],
  http: ['port', 'address', 'webroot'],
  tlsAlpn: ['port', 'address'],
  dns: ['hook', 'wait'],
} as const;

function port(v: unknown, fallback: number, where: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    fail(where, `expected a port number from 1 to 65535, not ${JSON.stringify(v)}`);
  }
  return v;
}

function listen(raw: unknown, fallbackPort: number, where: string, keys: readonly string[]): Listen {
  const l = raw === undefined ? {} : mapping(raw, where, keys);
  return {
    port: port(l.port, fallbackPort, `${where}.port`),
    address: l.address === undefined ? '0.0.0.0' : str(l.address, `${where}.address`),
  };
}

function directoryUrl(v: unknown, where: string): string {
  const text = str(v, where);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(where, `not a URL: ${JSON.stringify(text)}`);
  }
  // RFC 8555 §6.1: ACME is HTTPS only; the account key and the orders must not cross in clear.
  if (url.protocol !== 'https:') fail(where, `expected an https:// URL, not ${JSON.stringify(text)}`);
  return text;
}

function bool(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail(where, 'expected true or false');
  return v;
}

/** Parses `certificates[i].provisioner` of type acme (its keys were checked by the caller). */
export function acmeProvisioner(
  p: Record<string, unknown>,
  where: string,
  base: string,
  usages: ExtendedKeyUsage[],
): AcmeProvisionerConfig {
  const file = (v: unknown, w: string): string => path.resolve(base, str(v, w));
  const challenge = (p.challenge ?? 'http-01') as ChallengeType;
  if (!CHALLENGE_TYPES.includes(challenge)) {
    fail(`${where}.challenge`, `expected one of ${CHALLENGE_TYPES.join(', ')}, not ${JSON.stringify(p.challenge)}`);
  }
  const out: AcmeProvisionerConfig = {
    type: 'acme',
    directory: directoryUrl(p.directory, `${where}.directory`),
    termsAgreed: bool(p.termsAgreed, `${where}.termsAgreed`),
    challenge,
    http: { port: 80, address: '0.0.0.0' },
    tlsAlpn: listen(p.tlsAlpn, 443, `${where}.tlsAlpn`, KEYS.tlsAlpn),
    keyType: keyType(p.keyType, `${where}.keyType`),
    reuseKey: bool(p.reuseKey, `${where}.reuseKey`),
    usages,
  };
  if (p.directoryCa !== undefined) out.directoryCa = file(p.directoryCa, `${where}.directoryCa`);
  if (p.email !== undefined) {
    const email = str(p.email, `${where}.email`);
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) fail(`${where}.email`, `not an email address: ${JSON.stringify(email)}`);
    out.email = email;
  }
  if (p.profile !== undefined) out.profile = str(p.profile, `${where}.profile`);
  if (p.eab !== undefined) {
    const e = mapping(p.eab, `${where}.eab`, KEYS.eab);
    out.eab = { kid: str(e.kid, `${where}.eab.kid`), hmacKeyFile: file(e.hmacKeyFile, `${where}.eab.hmacKeyFile`) };
  }
  if (p.http !== undefined) {
    const h = mapping(p.http, `${where}.http`, KEYS.http);
    if (h.webroot !== undefined) {
      if (h.port !== undefined || h.address !== undefined)
        fail(`${where}.http`, 'expected webroot, or port and address');
      out.http = { webroot: file(h.webroot, `${where}.http.webroot`) };
    } else out.http = listen(h, 80, `${where}.http`, KEYS.http);
  }
  if (p.dns !== undefined) {
    const d = mapping(p.dns, `${where}.dns`, KEYS.dns);
    out.dns = {
      hook: strList(d.hook, `${where}.dns.hook`),
      waitMs: duration(d.wait, '10s', `${where}.dns.wait`, LIMITS.dnsWait),
    };
  }
  if (challenge === 'dns-01' && out.dns === undefined) fail(`${where}.dns`, 'dns-01 needs dns.hook');
  return out;
}

/**
 * The identity an ACME CA can certify: every name is a SAN (RFC 8555 orders identifiers, not a
 * subject). The common name must be one of the SANs; with no SANs it is the only one.
 */
export function acmeIdentity(identity: Identity, where: string): Identity {
  if (identity.sans.length === 0) return { ...identity, sans: [identity.commonName] };
  if (!identity.sans.includes(identity.commonName)) {
    fail(`${where}.sans`, `must include commonName ${JSON.stringify(identity.commonName)} (ACME certifies SANs)`);
  }
  return identity;
}
