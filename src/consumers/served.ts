/**
 * Proof that a consumer serves the active generation: connect to it as a TLS client and compare
 * the leaf it presents with the store's. A reload hook that exits 0 without reloading (a typo in
 * a unit name, a wrapper that swallows the error) leaves the old certificate served while the new
 * one sits on disk; only asking the server shows it. The comparison is of SHA-256 fingerprints,
 * exact: the chain is not validated, since the question is which certificate, not whether it is
 * trusted.
 */
import net from 'node:net';
import tls from 'node:tls';
import { CertswapError, ErrorCodes, errnoCode, isErrorCode } from '../errors.js';
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
 * The SHA-256 fingerprint of the leaf the server at host:port presents. Raises the connection's
 * errno code (ECONNREFUSED, ETIMEDOUT...) as a CertswapError naming the server.
 */
export function servedFingerprint(o: ServedOptions): Promise<string> {
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
      const leaf = socket.getPeerX509Certificate();
      clearTimeout(timer);
      socket.destroy();
      if (leaf) resolve(leaf.fingerprint256);
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
  const { generation, info } = await store.verify();
  const served = await servedFingerprint(o);
  const out = { generation, expected: info.fingerprint, served, match: served === info.fingerprint };
  if (require && !out.match) {
    throw new CertswapError(
      ErrorCodes.SERVED_MISMATCH,
      `${where(o)} presents sha256 ${served}, not generation ${generation}'s sha256 ${info.fingerprint}`,
      { generation },
    );
  }
  return out;
}
