/**
 * When to renew, and how long to wait after a failure.
 *
 * Renewal happens at a point between `from` and `to` of the certificate's lifetime (the kubelet
 * uses 70-90 %), so that a fleet issued at the same moment does not renew at the same moment.
 * The point is derived from the certificate's fingerprint: it is random across devices but the
 * same for one certificate across restarts, so an agent that restarts does not re-roll it.
 */
import { createHash } from 'node:crypto';
import type { CertInfo } from '../pki/cert-info.js';

export interface RenewWindow {
  from: number;
  to: number;
}

export const DEFAULT_WINDOW: RenewWindow = { from: 0.7, to: 0.9 };

/** A number in [0, 1) fixed by `seed`. */
function unitFromSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32;
}

export function renewalTime(
  info: Pick<CertInfo, 'notBefore' | 'notAfter' | 'fingerprint'>,
  window: RenewWindow = DEFAULT_WINDOW,
): Date {
  const start = Date.parse(info.notBefore);
  const life = Date.parse(info.notAfter) - start;
  const f = window.from + (window.to - window.from) * unitFromSeed(info.fingerprint);
  return new Date(start + life * f);
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 5 * 60_000 };

/**
 * Exponential backoff with "equal jitter": attempt n waits between half and all of
 * min(max, initial * 2^(n-1)), so that retries spread out but never collapse to zero.
 */
export function backoffDelay(
  attempt: number,
  b: Backoff = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (cap / 2) * random());
}
