/**
 * The retry rule's properties (fast-check): plain full-jitter backoff for a glitch, herd control
 * once a failure streak is an outage, never a wait past expiry, and expiry first: a certificate
 * closer to expiry never waits longer than one further from it for the same draw.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { EXPIRY_SHARE, HERD_AFTER_MS, HERD_SPREAD, retryCeiling, retryDelay } from '../../../src/agent/retry.js';
import { backoffCap, DEFAULT_BACKOFF } from '../../../src/agent/schedule.js';

const DAY = 86_400_000;
const b = DEFAULT_BACKOFF;
const arbStreak = fc.record({
  attempt: fc.integer({ min: 1, max: 60 }),
  failingForMs: fc.integer({ min: 0, max: 30 * DAY }),
});
const arbLeft = fc.integer({ min: 1, max: 400 * DAY });
const arbDraw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('retry', () => {
  it('retries a glitch (failing for less than 10 minutes and retry.max) with plain full-jitter backoff', () => {
    const glitch = Math.max(b.maxMs, HERD_AFTER_MS) - 1;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: glitch }), arbDraw, (n, f, u) => {
        const streak = { attempt: n, failingForMs: f };
        const cap = backoffCap(n, b);
        expect(retryCeiling(streak, 30 * DAY, b)).to.deep.equal({ ceilingMs: cap, herd: false });
        expect(retryDelay(streak, 30 * DAY, b, () => u)).to.equal(Math.round(cap * u));
      }),
    );
  });

  it('widens the wait in proportion to an outage, up to a share of the time left', () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbDraw, (streak, left, u) => {
        fc.pre(streak.failingForMs >= Math.max(b.maxMs, HERD_AFTER_MS));
        const want = Math.min(
          Math.max(backoffCap(streak.attempt, b), HERD_SPREAD * streak.failingForMs),
          Math.max(b.initialMs, EXPIRY_SHARE * left),
        );
        const { ceilingMs, herd } = retryCeiling(streak, left, b);
        expect(ceilingMs).to.equal(want);
        const d = retryDelay(streak, left, b, () => u);
        expect(d).to.be.within(herd ? Math.round(ceilingMs / 2) : 0, Math.round(ceilingMs));
      }),
    );
    // A six-hour outage with 6 days left: the next attempt is hours away, not minutes.
    const d = retryDelay({ attempt: 40, failingForMs: 6 * 3_600_000 }, 6 * DAY, b, () => 0);
    expect(d).to.be.at.least(6 * 3_600_000);
  });

  it('never waits past the expiry of the active certificate', () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbDraw, (streak, left, u) => {
        fc.pre(left * EXPIRY_SHARE >= b.initialMs);
        expect(retryDelay(streak, left, b, () => u)).to.be.at.most(Math.round(EXPIRY_SHARE * left));
      }),
    );
  });

  it('puts the certificate closer to expiry first: for the same draw it never waits longer', () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbLeft, arbDraw, (streak, l1, l2, u) => {
        const [near, far] = l1 <= l2 ? [l1, l2] : [l2, l1];
        expect(retryDelay(streak, near, b, () => u)).to.be.at.most(retryDelay(streak, far, b, () => u));
      }),
    );
  });

  it('keeps plain backoff, without herd spreading, for a device with no valid certificate', () => {
    fc.assert(
      fc.property(arbStreak, fc.oneof(fc.constant(null), fc.integer({ min: -DAY, max: 0 })), (streak, left) => {
        expect(retryCeiling(streak, left, b)).to.deep.equal({ ceilingMs: backoffCap(streak.attempt, b), herd: false });
      }),
    );
  });
});
