/**
 * "today": the rule certswap used before issue 17, kept here only as the simulation's baseline.
 * Renewal at a random point of the window (from the certificate's fingerprint, as the kubelet
 * does); after a failure, exponential backoff with equal jitter capped at retry.max; no herd
 * control, no expiry bound.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_BACKOFF, type Backoff, type RenewWindow } from '../src/agent/schedule.js';
import type { Policy } from './fleet-sim.js';

function unitFromSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32;
}

export function todayRenewalTime(
  info: { notBefore: string; notAfter: string; fingerprint: string },
  window: RenewWindow,
): number {
  const start = Date.parse(info.notBefore);
  const life = Date.parse(info.notAfter) - start;
  return start + life * (window.from + (window.to - window.from) * unitFromSeed(info.fingerprint));
}

export function todayBackoffDelay(attempt: number, b: Backoff, random: () => number): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (cap / 2) * random());
}

/** Device `device` under today's rule; a certificate's fingerprint is stood in for by device and serial. */
export function todayPolicy(device: number, window: RenewWindow, random: () => number): Policy {
  let serial = 0;
  let attempt = 0;
  return {
    succeeded(cert) {
      attempt = 0;
      return todayRenewalTime({ ...cert, fingerprint: `${device}:${serial++}` }, window);
    },
    failed(nowMs) {
      attempt += 1;
      return nowMs + todayBackoffDelay(attempt, DEFAULT_BACKOFF, random);
    },
  };
}
