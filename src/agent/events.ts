/**
 * What the agent tells its observers (metrics, webhooks): one event per fact, emitted by the
 * manager at the moment it is known. Observers are called synchronously and must not throw or
 * block: they record, and do any slow work (a scrape refresh, an HTTP POST) on their own time.
 * The events carry names, generations, fingerprints and dates: never key material.
 */

/** Why the active generation went back: a failed post-activation check, a trial found pending
 * (the agent or the machine died between activation and commit), or someone else's rollback
 * (`certswap rollback`), which the agent only notices at its next look (src/monitor). */
export const ROLLBACK_REASONS = ['check', 'manual', 'recover'] as const;
export type RollbackReason = (typeof ROLLBACK_REASONS)[number];

export type AgentEvent =
  /** The agent is about to look at `name`: from here until `looked` or `renewal-failed`, any move
   * of `current` is the agent's own (a trial left pending is rolled back before `look`). */
  | { type: 'looking'; name: string }
  /** A look at `name` began; `generation` is the active one (null when none validates). */
  | { type: 'look'; name: string; generation: number | null; notAfter: string | null }
  /** The look ended: nothing was due, or a rotation committed (`renewed`). */
  | { type: 'looked'; name: string; renewed: boolean }
  /** A renewal (or the look before it) failed; the active pair is unchanged. */
  | { type: 'renewal-failed'; name: string; code: string; message: string }
  /** The provisioner ran for `seconds`, successfully or not. */
  | { type: 'provisioned'; name: string; seconds: number }
  /** A new generation is active and committed. */
  | {
      type: 'rotated';
      name: string;
      generation: number;
      previous: number | null;
      fingerprint: string;
      notAfter: string;
    }
  | { type: 'rolled-back'; name: string; reason: RollbackReason; generation: number | null; from: number | null }
  | { type: 'hook-failed'; name: string; hook: string; code: string }
  /** The next renewal attempt of `name`, and why then (renewal-timer.ts). */
  | { type: 'scheduled'; name: string; at: Date; why: string };

/** Receives every event; must not throw (a throwing observer is logged and ignored). */
export type AgentObserver = (event: AgentEvent) => void;
