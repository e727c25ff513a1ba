/**
 * When to renew: a point inside the renewal window, chosen so that a fleet enrolled in one batch
 * is spread evenly over time after a few renewals, and stays spread.
 *
 * For one certificate of lifetime L issued at notBefore:
 * - the window is from·L to to·L after notBefore (`renew.from`, `renew.to`; default 70-90 %);
 * - its centre is mid·L after notBefore, mid = (from + to) / 2. A device that always renews at the
 *   centre renews every P = mid·L: P is its period;
 * - the device's target phase φ in [0, 1) is a keyed hash of its identity and machine ID
 *   (phase-seed.ts), so it survives restarts and renewals; its target times are (k + φ)·P, k
 *   whole, counted from the Unix epoch. Identities hash uniformly, so a fleet's targets are spread
 *   evenly over any stretch of P;
 * - D is the offset from the centre to the nearest target time, in [-P/2, P/2).
 *
 * A renewal moves from the centre toward the target by at most half the window, so it never leaves
 * the window. Once a device is on its target, every renewal lands on the next one: a fleet whose
 * targets are uniform renews uniformly. The way there matters as much. Moving as far as the window
 * allows each time would put every device still out of reach on the same edge of the window, and a
 * batch would stay in a lump there until its devices arrive (docs/agent.md#when-it-renews).
 * So the distance is cut into n equal quanta q of at most half the window, n = ceil(P / width):
 * the first renewal takes the odd part of a quantum, every later one a whole quantum. A device
 * arrives within n renewals, as soon as going as far as allowed would; a batch's first renewals
 * are spread over the window, as with a random point in it, and each later renewal spreads the
 * batch over one more quantum: uniform after n renewals (4 for 70-90 %, 2 for 50-90 %).
 */
import { createHmac } from 'node:crypto';
import type { CertInfo } from '../pki/cert-info.js';

export interface RenewWindow {
  from: number;
  to: number;
}

export const DEFAULT_WINDOW: RenewWindow = { from: 0.7, to: 0.9 };

/**
 * How far above a whole number of quanta a distance may be and still count as that number, in
 * quanta. Each renewal slips by the CA's backdating and the time a renewal takes (minutes);
 * without this slack a device one quantum away plus that slip would take a tiny step each time
 * and never arrive.
 */
const SLIP = 1 / 64;

/**
 * The key of the keyed hash below: certswap's own, so that the phase reveals nothing of the seed,
 * which may hold the machine ID (phase-seed.ts; machine-id(5) asks for a keyed hash).
 */
const PHASE_KEY = 'certswap renewal phase';

/** The target phase of a device: a number in [0, 1) fixed by its seed (phase-seed.ts). */
export function targetPhase(seed: string): number {
  return createHmac('sha256', PHASE_KEY).update(seed).digest().readUInt32BE(0) / 2 ** 32;
}

/** `x` modulo `m`, in [-m/2, m/2). */
function centred(x: number, m: number): number {
  const r = (((x + m / 2) % m) + m) % m;
  return r - m / 2;
}

/**
 * The renewal time of a certificate of the device identified by `seed` (see the module comment).
 * Always within the window (to the millisecond), and the same for the same certificate, seed and
 * window: an agent that restarts does not move it.
 */
export function renewalTime(
  info: Pick<CertInfo, 'notBefore' | 'notAfter'>,
  seed: string,
  window: RenewWindow = DEFAULT_WINDOW,
  way: 'spread' | 'return' = 'spread',
): Date {
  const start = Date.parse(info.notBefore);
  const life = Date.parse(info.notAfter) - start;
  const lo = start + life * window.from;
  const hi = start + life * window.to;
  const period = (life * (window.from + window.to)) / 2;
  const half = (hi - lo) / 2;
  const centre = lo + half;
  let at = centre;
  if (half > 0 && period > 0) {
    const d = centred(targetPhase(seed) * period - centre, period);
    // From the fractions, not the milliseconds: 0.8 / 0.2 must be 4 quanta whatever the dates' rounding.
    const quanta = Math.ceil((window.from + window.to) / 2 / (window.to - window.from) - 1e-9);
    const q = period / 2 / quanta;
    const whole = way === 'return' ? 0 : Math.max(0, Math.ceil(Math.abs(d) / q - SLIP) - 1);
    at = centre + Math.sign(d) * Math.min(Math.abs(d) - whole * q, half);
  }
  // Whole milliseconds (a Date has no more), never rounded out of the window.
  return new Date(Math.max(Math.ceil(lo), Math.min(Math.floor(hi), Math.round(at))));
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 5 * 60_000 };

/** The ceiling of attempt n's delay: min(max, initial * 2^(n-1)). */
export function backoffCap(attempt: number, b: Backoff = DEFAULT_BACKOFF): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Capped exponential backoff with full jitter: attempt n waits anything from 0 to its cap. Full
 * rather than equal jitter because clients that failed together (a CA outage) then retry
 * uniformly over the whole cap instead of crowding its upper half.
 */
export function backoffDelay(
  attempt: number,
  b: Backoff = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.round(backoffCap(attempt, b) * random());
}
