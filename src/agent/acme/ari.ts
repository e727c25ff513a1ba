/**
 * ACME Renewal Information (RFC 9773): the CA says when a certificate should be renewed.
 *
 * - The certificate's identifier (§4.1) is base64url(authorityKeyIdentifier's keyIdentifier) "."
 *   base64url(the serial number's DER content octets).
 * - renewalInfo/<id> answers a suggestedWindow {start, end}. The renewal is due at a moment drawn
 *   uniformly in it (§4.2: spreading a fleet over the window is the point), drawn again only when
 *   the window changes, so asking again does not move a renewal that was not moved by the CA. The
 *   window is cut at the certificate's notAfter, and one that opens only after it is no answer
 *   (the local window applies): no answer of the CA's lets the certificate expire first.
 * - The answer is asked again when its Retry-After says (bounded to [1 min, 1 day]; 6 h without
 *   one), so a CA that moves the window (a mass revocation) is heard in time.
 */
import type { X509Certificate } from 'node:crypto';
import { loadX509 } from '../../pki/keys.js';
import type { Log } from '../../store/context.js';
import { retryAfter } from './problem.js';

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

/** Re-ask bounds and the default when the answer has no Retry-After (RFC 9773 §4.3). */
const RECHECK_MIN_MS = 60_000;
const RECHECK_MAX_MS = 86_400_000;
const RECHECK_DEFAULT_MS = 6 * 3_600_000;

export interface AriDue {
  /** The moment drawn in the window: the renewal is due from then. */
  at: Date;
  window: { start: Date; end: Date };
  /** When the CA is to be asked again. */
  recheckAt: Date;
  /** The page the CA gives to explain its window (RFC 9773 §4.2: shown to the operator, logged). */
  explanationURL?: string;
}

interface Cached extends AriDue {
  key: string;
}

/** The answers in force, per directory and certificate: one agent asks once per Retry-After. */
const answers = new Map<string, Cached>();

export interface AriQuery {
  /** The directory's renewalInfo URL. */
  renewalInfo: string;
  get(url: string): Promise<{ status: number; headers: Record<string, string | undefined>; data: unknown }>;
  certId: string;
  now: Date;
  random: () => number;
  /**
   * The certificate's notAfter. The window is cut at it: a CA's word (a broken or hostile one,
   * or a window meant for another certificate) must never let the certificate expire before it
   * is renewed; a window that opens only once the certificate has expired is no answer.
   */
  notAfter?: Date;
  /** Where a new window is logged, with the CA's explanationURL. */
  log?: Log;
}

/** The explanationURL when it is an http(s) URL of a sane length; a CA's free text is not logged. */
function readExplanation(data: unknown): string | undefined {
  const u = (data as { explanationURL?: unknown } | null)?.explanationURL;
  return typeof u === 'string' && u.length <= 2048 && /^https?:\/\/[!-~]+$/.test(u) ? u : undefined;
}

function readWindow(data: unknown): { start: Date; end: Date } | null {
  const w = (data as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  if (typeof w?.start !== 'string' || typeof w.end !== 'string') return null;
  const start = new Date(w.start);
  const end = new Date(w.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) return null;
  return { start, end };
}

/**
 * When the CA suggests renewing the certificate `q.certId`: the cached answer until its recheck
 * time, else a fresh one (a new moment is drawn only when the window moved). Null when the CA
 * gives no usable answer (the caller falls back to the local window). Raises what the GET raises.
 */
export async function ariDue(q: AriQuery): Promise<AriDue | null> {
  const key = `${q.renewalInfo} ${q.certId}`;
  const cached = answers.get(key);
  if (cached && q.now < cached.recheckAt) return cached;
  const r = await q.get(`${q.renewalInfo.replace(/\/$/, '')}/${q.certId}`);
  const window = r.status === 200 ? readWindow(r.data) : null;
  if (!window) return null;
  if (q.notAfter && window.end > q.notAfter) {
    if (window.start >= q.notAfter) return null;
    window.end = q.notAfter;
  }
  // Seconds or an HTTP date, read as every Retry-After is (problem.ts).
  const asked = (retryAfter(r.headers, q.now)?.getTime() ?? q.now.getTime() + RECHECK_DEFAULT_MS) - q.now.getTime();
  const recheckAt = new Date(q.now.getTime() + Math.min(RECHECK_MAX_MS, Math.max(RECHECK_MIN_MS, asked)));
  const same =
    cached &&
    cached.window.start.getTime() === window.start.getTime() &&
    cached.window.end.getTime() === window.end.getTime();
  const at = same
    ? cached.at
    : new Date(window.start.getTime() + Math.floor(q.random() * (window.end.getTime() - window.start.getTime())));
  const explanationURL = readExplanation(r.data);
  const out: Cached = { key, at, window, recheckAt, ...(explanationURL && { explanationURL }) };
  answers.set(key, out);
  if (!same) {
    q.log?.info(
      { event: 'ari-window', start: window.start.toISOString(), end: window.end.toISOString(), at, explanationURL },
      `the CA suggests renewing between ${window.start.toISOString()} and ${window.end.toISOString()}` +
        (explanationURL ? ` (why: ${explanationURL})` : ''),
    );
  }
  return out;
}
