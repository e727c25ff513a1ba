/**
 * How long to wait after a failed renewal: capped exponential backoff with full jitter, widened
 * after a long outage (herd control) and bounded by the time the certificate has left.
 *
 * - A glitch is retried quickly: attempt n waits anything from 0 to min(retry.max,
 *   retry.initial * 2^(n-1)) (full jitter: devices that failed together retry spread over the
 *   whole of it, not bunched in its upper half).
 * - Herd control: once a certificate has been failing for longer than HERD_AFTER_MS (and than
 *   retry.max), the CA is out rather than glitching, and the ceiling grows to HERD_SPREAD times the
 *   time it has been failing. Every device that fell due during the outage then comes back spread
 *   over a stretch proportional to the outage, instead of within minutes of the CA's return. These
 *   waits are at least HERD_FLOOR of what herd control asks for (or of the time left, when that is
 *   shorter): with full jitter most of them would be short, and the fleet's attempts would still
 *   crowd the CA's return. Where the point between that floor and the ceiling falls is the
 *   streak's own draw (`FailureStreak.draw`, made once at its first failure), not a fresh one per
 *   attempt: a device keeps its place in the queue for the whole outage, instead of a fresh draw
 *   reshuffling the queue at every attempt and letting the devices that drew short twice crowd the
 *   CA's return (`npm run bench:fleet`, docs/performance.md). A shorter outage leaves a backlog of
 *   a few minutes of renewals, which plain backoff already spreads over retry.max.
 * - Expiry first: the ceiling never exceeds EXPIRY_SHARE of the time the active certificate has
 *   left (nor falls below retry.initial), so the spreading never makes a certificate expire, and
 *   one closer to expiry retries sooner than one further from it (for the same draw, never later).
 */
import { backoffCap, type Backoff } from './schedule.js';

/** Once a failure streak is an outage, the ceiling grows to this many times its length. */
export const HERD_SPREAD = 64;

/** A failure streak this long (and longer than retry.max) is an outage. */
export const HERD_AFTER_MS = 10 * 60_000;

/**
 * Under herd control the wait is at least this share of what herd control asks for (or of the
 * time left, when that is shorter). With full jitter most waits would be short and the fleet's
 * attempts would still crowd the CA's return; with a floor of half (the rule until issue 17's
 * second pass) the backlog of a long outage came back late, more of it more than half a window
 * off its phase, which doubled the window after the outage. 0.3 measured best of 0.15-0.5 on all
 * three figures (docs/performance.md#fleet-renewals).
 */
export const HERD_FLOOR = 0.3;

/**
 * The ceiling stays within this share of the time the active certificate has left: the rest is
 * kept for the attempts after it. A wider share lets the backlog of a long outage spread further.
 */
export const EXPIRY_SHARE = 0.9;

export interface FailureStreak {
  /** 1 for the first failure of the streak. */
  attempt: number;
  /** Since the first failure of the streak. */
  failingForMs: number;
  /**
   * The streak's own draw in [0, 1), made at its first failure: herd waits use it, so a device
   * keeps its place in the queue for the whole outage. Without it, each herd wait draws afresh.
   */
  draw?: number;
}

export interface RetryCeiling {
  /** The shortest wait: 0, or under herd control HERD_FLOOR of min(its ceiling, the time left). */
  floorMs: number;
  ceilingMs: number;
  /** Whether herd control set it (the wait is then drawn between floor and ceiling at the streak's draw). */
  herd: boolean;
}

/** The range of the wait before the next attempt (see the module comment). */
export function retryCeiling(streak: FailureStreak, leftMs: number | null, b: Backoff): RetryCeiling {
  const backoff = backoffCap(streak.attempt, b);
  // Without a valid certificate the device is cut off until it gets one: it keeps its place in
  // the queue with plain backoff (no herd spreading, and no tight loop either).
  if (leftMs === null || leftMs <= 0) return { floorMs: 0, ceilingMs: backoff, herd: false };
  const outage = streak.failingForMs >= Math.max(b.maxMs, HERD_AFTER_MS);
  const herd = outage ? HERD_SPREAD * streak.failingForMs : 0;
  const bound = Math.max(b.initialMs, EXPIRY_SHARE * leftMs);
  const ceilingMs = Math.min(Math.max(backoff, herd), bound);
  // Herd control sets the ceiling when it is above the backoff cap and expiry does not hold it below.
  if (herd <= backoff || bound <= backoff) return { floorMs: 0, ceilingMs, herd: false };
  // HERD_FLOOR of what herd control asks for, or of the time left when that is shorter: both grow
  // with the time left, so a certificate closer to expiry never waits longer for the same draw.
  return { floorMs: Math.min(herd, leftMs) * HERD_FLOOR, ceilingMs, herd: true };
}

/**
 * The wait before the next attempt, from 0 to the ceiling (from the floor, at the streak's draw,
 * under herd control). `leftMs` is the time until the active certificate expires, null when there
 * is none. Never more than EXPIRY_SHARE of `leftMs` when that is at least retry.initial.
 */
export function retryDelay(
  streak: FailureStreak,
  leftMs: number | null,
  b: Backoff,
  random: () => number = Math.random,
): number {
  const { floorMs, ceilingMs, herd } = retryCeiling(streak, leftMs, b);
  const u = herd ? (streak.draw ?? random()) : random();
  return Math.round(floorMs + (ceilingMs - floorMs) * u);
}
