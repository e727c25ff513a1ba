/**
 * Proof that a consumer serves the active generation: connect to it as a TLS client and compare
 * the leaf it presents with the store's. A reload hook that exits 0 without reloading (a typo in
 * a unit name, a wrapper that swallows the error) leaves the old certificate served while the new
 * one sits on disk; only asking the server shows it. The comparison is of SHA-256 fingerprints,
 * exact: the chain is not validated, since the question is which certificate, not whether it is
 * trusted. The intermediates are compared too: a server that reads the leaf from `current` but
 * its chain from elsewhere (a stale chain file) presents the new leaf under an old issuer, which
 * clients without that issuer cached refuse. They must follow the leaf in the order the active
 * cert.pem holds them (a root the server adds after them is allowed).
 */
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { CertswapError, ErrorCodes, errnoCode, isErrorCode } from '../errors.js';
import { parsePem } from '../pki/pem.js';
import type { GenerationStore } from '../store/store.js';

export interface ServedOptions {
  host: string;
  port: number;
  /** SNI name to ask for; default the host unless it is an IP address. */
  servername?: string;
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface ServedCheck {
  generation: number;
  /** SHA-256 fingerprint of the active generation's leaf. */
  expected: string;
  /** SHA-256 fingerprint of the leaf the server presented. */
  served: string;
  /** SHA-256 fingerprints of the active cert.pem's intermediates, in order. */
  expectedChain: string[];
  /** SHA-256 fingerprints of what the server sent above its leaf, each the issuer of the one before. */
  servedChain: string[];
  /** The leaf is the active one, and the served chain begins with the active intermediates. */
  match: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function where(o: ServedOptions): string {
  return `${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
}

/**
 * The SNI name sent when none is given: the host, unless it is an IP address (RFC 6066 allows
 * only host names; an IPv6 address such as fe80::1 or ::ffff:10.0.0.1 is one too).
 */
export function defaultServername(host: string): string | undefined {
  return net.isIP(host) === 0 ? host : undefined;
}

/**
 * The SHA-256 fingerprints of the leaf the server at host:port presents, then of each certificate
 * it sent that issues the one before (as Node links them). Raises the connection's errno code
 * (ECONNREFUSED, ETIMEDOUT...) as a CertswapError naming the server.
 */
export function servedFingerprints(o: ServedOptions): Promise<string[]> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: o.host,
      port: o.port,
      servername: o.servername ?? defaultServername(o.host),
      // Which certificate is served, not whether it is trusted: compared by fingerprint below.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error(`no TLS handshake within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      const chain: string[] = [];
      // A self-signed certificate is its own issuer: the walk stops at a certificate already seen.
      for (
        let c = socket.getPeerCertificate(true);
        c?.raw && !chain.includes(c.fingerprint256);
        c = c.issuerCertificate
      )
        chain.push(c.fingerprint256);
      clearTimeout(timer);
      socket.destroy();
      if (chain.length > 0) resolve(chain);
      else reject(new CertswapError(ErrorCodes.SERVED_MISMATCH, `${where(o)} presented no certificate`));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      const errno = errnoCode(err);
      const code = errno !== undefined && isErrorCode(errno) ? errno : 'ECONNABORTED';
      reject(new CertswapError(code, `${where(o)}: ${err.message}`, { cause: err }));
    });
  });
}

/**
 * Compares the leaf the server presents with the active generation's, as on disk now. Raises
 * CERTSWAP_NO_ACTIVE, the validation codes (the active pair must be valid), the connection's
 * errno code, and with `require`, CERTSWAP_SERVED_MISMATCH naming both fingerprints.
 */
export async function checkServed(store: GenerationStore, o: ServedOptions, require = false): Promise<ServedCheck> {
  const { generation, expected, expectedChain } = await activeChain(store);
  const [served = '', ...servedChain] = await servedFingerprints(o);
  const chainMatch = expectedChain.every((f, i) => servedChain[i] === f);
  const out = { generation, expected, served, expectedChain, servedChain, match: served === expected && chainMatch };
  if (require && !out.match) {
    throw new CertswapError(ErrorCodes.SERVED_MISMATCH, `${where(o)} ${mismatch(out)}`, { generation });
  }
  return out;
}

/** What differs, for a check that did not match. */
export function mismatch(c: ServedCheck): string {
  if (c.served !== c.expected)
    return `presents sha256 ${c.served}, not generation ${c.generation}'s sha256 ${c.expected}`;
  return (
    `presents generation ${c.generation}'s leaf but not its chain: intermediates sha256 ` +
    `[${c.servedChain.join(', ')}], not [${c.expectedChain.join(', ')}]`
  );
}

/** Times the active generation is read again when it changed between its validation and its read. */
const ACTIVE_READS = 3;

/**
 * The active generation, validated, with its leaf's and intermediates' fingerprints, all of one
 * generation: the validation and the read of cert.pem are two reads, and a switch may fall
 * between them. Raises what verify and readActive raise, and CERTSWAP_BUSY if the store moved on
 * each time.
 */
async function activeChain(
  store: GenerationStore,
): Promise<{ generation: number; expected: string; expectedChain: string[] }> {
  for (let i = 0; i < ACTIVE_READS; i++) {
    const { generation, info } = await store.verify();
    const active = await store.readActive();
    if (active.generation !== generation) continue;
    const certs = parsePem(active.cert, 'cert').map((b) => new X509Certificate(b.der).fingerprint256);
    return { generation, expected: info.fingerprint, expectedChain: certs.slice(1) };
  }
  throw new CertswapError(ErrorCodes.BUSY, `${store.dir}: the active generation changed while it was read`);
}
