/**
 * The retry rule's properties (fast-check): plain full-jitter backoff for a glitch, herd control
 * once a failure streak is an outage (at the streak's own draw), never a wait past expiry, and
 * expiry first: a certificate closer to expiry never waits longer than one further from it for
 * the same draw.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  EXPIRY_SHARE,
  HERD_AFTER_MS,
  HERD_FLOOR,
  HERD_SPREAD,
  retryCeiling,
  retryDelay,
} from '../../../src/agent/retry.js';
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
        expect(retryCeiling(streak, 30 * DAY, b)).to.deep.equal({ floorMs: 0, ceilingMs: cap, herd: false });
        expect(retryDelay(streak, 30 * DAY, b, () => u)).to.equal(Math.round(cap * u));
      }),
    );
  });

  it('widens the wait in proportion to an outage, from a share of it, up to a share of the time left', () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbDraw, (streak, left, u) => {
        fc.pre(streak.failingForMs >= Math.max(b.maxMs, HERD_AFTER_MS));
        const herdMs = HERD_SPREAD * streak.failingForMs;
        const want = Math.min(
          Math.max(backoffCap(streak.attempt, b), herdMs),
          Math.max(b.initialMs, EXPIRY_SHARE * left),
        );
        const { floorMs, ceilingMs, herd } = retryCeiling(streak, left, b);
        expect(ceilingMs).to.equal(want);
        expect(floorMs).to.equal(herd ? Math.min(herdMs, left) * HERD_FLOOR : 0);
        const d = retryDelay(streak, left, b, () => u);
        expect(d).to.be.within(Math.round(floorMs), Math.round(ceilingMs));
      }),
    );
    // A six-hour outage with 6 days left: the next attempt is hours away, not minutes.
    const d = retryDelay({ attempt: 40, failingForMs: 6 * 3_600_000 }, 6 * DAY, b, () => 0);
    expect(d).to.be.at.least(6 * 3_600_000);
  });

  it("spreads an outage by the streak's own draw: the wait grows with it, and a fresh draw is not used", () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbDraw, arbDraw, (streak, left, d1, d2) => {
        fc.pre(retryCeiling(streak, left, b).herd);
        const [lo, hi] = d1 <= d2 ? [d1, d2] : [d2, d1];
        const noFresh = (): number => {
          throw new Error('a herd wait drew afresh');
        };
        const early = retryDelay({ ...streak, draw: lo }, left, b, noFresh);
        expect(early).to.be.at.most(retryDelay({ ...streak, draw: hi }, left, b, noFresh));
      }),
    );
    // Over the streak's draws, the waits cover the range evenly (the fleet's spread).
    const streak = { attempt: 30, failingForMs: 3_600_000 };
    const { floorMs, ceilingMs } = retryCeiling(streak, 6 * DAY, b);
    const bins = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) {
      const d = retryDelay({ ...streak, draw: (i + 0.5) / 400 }, 6 * DAY, b);
      bins[Math.min(3, Math.floor(((d - floorMs) / (ceilingMs - floorMs)) * 4))]! += 1;
    }
    expect(bins).to.deep.equal([100, 100, 100, 100]);
  });

  it('never waits past the expiry of the active certificate', () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbDraw, arbDraw, (streak, left, u, draw) => {
        fc.pre(left * EXPIRY_SHARE >= b.initialMs);
        expect(retryDelay({ ...streak, draw }, left, b, () => u)).to.be.at.most(Math.round(EXPIRY_SHARE * left));
      }),
    );
  });

  it('puts the certificate closer to expiry first: for the same draw it never waits longer', () => {
    fc.assert(
      fc.property(arbStreak, arbLeft, arbLeft, arbDraw, fc.option(arbDraw), (streak, l1, l2, u, draw) => {
        const [near, far] = l1 <= l2 ? [l1, l2] : [l2, l1];
        const s = draw === null ? streak : { ...streak, draw };
        expect(retryDelay(s, near, b, () => u)).to.be.at.most(retryDelay(s, far, b, () => u));
      }),
    );
  });

  it('keeps plain backoff, without herd spreading, for a device with no valid certificate', () => {
    fc.assert(
      fc.property(arbStreak, fc.oneof(fc.constant(null), fc.integer({ min: -DAY, max: 0 })), (streak, left) => {
        expect(retryCeiling(streak, left, b)).to.deep.equal({
          floorMs: 0,
          ceilingMs: backoffCap(streak.attempt, b),
          herd: false,
        });
      }),
    );
  });
});
