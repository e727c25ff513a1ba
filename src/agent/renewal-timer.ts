/**
 * One certificate's next renewal time and why, as the agent's loop keeps it: the renewal window
 * after a success, the retry rule after a failure. The fleet simulation (`npm run bench:fleet`)
 * drives this same class with a simulated clock, so what it measures is what the agent does.
 */
import { renewalTime, type Backoff, type RenewWindow } from './schedule.js';
import { retryDelay } from './retry.js';

/** Why the next renewal is when it is: the local window, the CA's (ARI), or a retry after a failure. */
export type NextWhy = 'window' | 'ari' | 'retry backoff';

export interface NextRenewal {
  at: Date;
  why: NextWhy;
}

export interface RetryPlan extends NextRenewal {
  /** 1 for the first failure of a streak. */
  attempt: number;
  delayMs: number;
  /** The streak: when its first attempt failed, and its draw (what resume() takes back). */
  failingSinceMs: number;
  draw: number;
}

/** A failure streak as recorded (store/records/retry.ts), for an agent that restarts. */
export interface SavedStreak {
  attempt: number;
  failingSinceMs: number;
  draw: number;
}

export interface RenewalTimerOptions {
  /** The device's identity, which fixes its target phase (schedule.ts). */
  seed: string;
  window: RenewWindow;
  backoff: Backoff;
  random?: () => number;
}

export class RenewalTimer {
  private attempt = 0;
  private failingSince = 0;
  /** The failure streak's own draw (retry.ts: a device keeps its place in the queue). */
  private draw = 0;
  private readonly random: () => number;

  constructor(private readonly opts: RenewalTimerOptions) {
    this.random = opts.random ?? Math.random;
  }

  /**
   * How the window places the next renewal after a success now: straight back to the phase when
   * the success ends a failure streak, else in steps (schedule.ts).
   */
  get way(): 'spread' | 'return' {
    return this.attempt > 0 ? 'return' : 'spread';
  }

  /** After a renewal, or a check that found none due: the window of the active certificate. */
  succeeded(info: { notBefore: string; notAfter: string }): NextRenewal {
    const way = this.way;
    this.reset();
    return { at: renewalTime(info, this.opts.seed, this.opts.window, way), why: 'window' };
  }

  /** Ends a failure streak (the agent's loop, which takes the time itself from the look: due.ts). */
  reset(): void {
    this.attempt = 0;
  }

  /**
   * After a failed attempt at `nowMs`; `notAfterMs` is the active certificate's expiry (null when
   * there is none). Counts the failure streak that herd control widens with, and draws its place
   * in the queue once, at its first failure (retry.ts).
   */
  failed(nowMs: number, notAfterMs: number | null): RetryPlan {
    if (this.attempt === 0) {
      this.failingSince = nowMs;
      this.draw = this.random();
    }
    this.attempt += 1;
    const streak = { attempt: this.attempt, failingForMs: nowMs - this.failingSince, draw: this.draw };
    const delayMs = retryDelay(streak, notAfterMs === null ? null : notAfterMs - nowMs, this.opts.backoff, this.random);
    return {
      at: new Date(nowMs + delayMs),
      why: 'retry backoff',
      attempt: this.attempt,
      delayMs,
      failingSinceMs: this.failingSince,
      draw: this.draw,
    };
  }

  /**
   * Takes back a failure streak an earlier run of the agent recorded: the next failure continues
   * it (its waits keep growing with the time the certificate has been failing, at the same place
   * in the queue), and the next success ends it as if this run had seen it all.
   */
  resume(s: SavedStreak): void {
    this.attempt = s.attempt;
    this.failingSince = s.failingSinceMs;
    this.draw = s.draw;
  }
}
