/**
 * The renewal schedule's properties, checked with fast-check over lifetimes, windows and
 * identities: inside the window, stable across restarts, a batch spread on its first renewal and
 * uniform after ceil(P / width) renewals, and the capped, fully jittered backoff.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  backoffCap,
  backoffDelay,
  DEFAULT_WINDOW,
  renewalTime,
  targetPhase,
  type RenewWindow,
} from '../../../src/agent/schedule.js';

const DAY = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const cert = (notBefore: number, life: number) => ({ notBefore: iso(notBefore), notAfter: iso(notBefore + life) });
const period = (life: number, w: RenewWindow): number => (life * (w.from + w.to)) / 2;
/** How far `t` is from the nearest target time of `seed`, in ms (negative: early). */
function offTarget(t: number, seed: string, p: number): number {
  const x = t - targetPhase(seed) * p;
  return x - Math.round(x / p) * p;
}
const seeds = (n: number): string[] => Array.from({ length: n }, (_, i) => `device-${i}`);

/** The share of `points` in each of `buckets` equal parts of [lo, hi). */
function shares(points: number[], lo: number, hi: number, buckets = 10): number[] {
  const counts = new Array<number>(buckets).fill(0);
  for (const p of points) counts[Math.min(buckets - 1, Math.floor(((p - lo) / (hi - lo)) * buckets))]! += 1;
  return counts.map((c) => (c * buckets) / points.length);
}

const arbStart = fc.integer({ min: Date.parse('2000-01-01'), max: Date.parse('2100-01-01') });
const arbLife = fc.integer({ min: 2000, max: 825 * DAY });
/** 0 < from <= to < 1, as the configuration allows. */
const arbWindow = fc
  .tuple(fc.double({ min: 0.01, max: 0.98, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([from, u]): RenewWindow => ({ from, to: from + (0.99 - from) * u }));

describe('schedule', () => {
  it('renews inside the window, to the millisecond, for any dates, window and identity, either way', () => {
    fc.assert(
      fc.property(arbStart, arbLife, arbWindow, fc.string(), fc.boolean(), (start, life, w, seed, back) => {
        const t = renewalTime(cert(start, life), seed, w, back ? 'return' : 'spread').getTime();
        const lo = start + life * w.from;
        const hi = start + life * w.to;
        if (Math.ceil(lo) <= Math.floor(hi)) expect(t).to.be.within(Math.ceil(lo), Math.floor(hi));
        else expect(Math.abs(t - lo)).to.be.below(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('is stable across restarts: the same certificate and identity always give the same time', () => {
    fc.assert(
      fc.property(arbStart, arbLife, arbWindow, fc.string(), (start, life, w, seed) => {
        const first = renewalTime(cert(start, life), seed, w).getTime();
        // A restarted agent has nothing but the certificate, the configuration and the identity.
        expect(renewalTime(structuredClone(cert(start, life)), `${seed}`, { ...w }).getTime()).to.equal(first);
      }),
    );
    expect(targetPhase('device-1')).to.equal(targetPhase('device-1'));
    expect(targetPhase('device-1')).to.not.equal(targetPhase('device-2'));
  });

  it('spreads the first renewals of a batch enrolled together evenly over the 70-90% window', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const life = 30 * DAY;
    const points = seeds(4000).map((s) => renewalTime(cert(start, life), s).getTime());
    const lo = start + 0.7 * life;
    const hi = start + 0.9 * life;
    for (const share of shares(points, lo, hi + 1)) expect(share).to.be.within(0.8, 1.25);
  });

  it('brings every device of a batch to its target phase within ceil(P / width) renewals, and keeps it there', () => {
    fc.assert(
      fc.property(
        arbStart,
        fc.integer({ min: 60_000, max: 825 * DAY }),
        arbWindow.filter((w) => w.to - w.from >= 0.1),
        fc.double({ min: 0, max: 1e-4, noNaN: true }),
        (start, life, w, backdateShare) => {
          // The CA backdates each certificate a little: the schedule must absorb it.
          const backdate = Math.floor(life * (w.to - w.from) * backdateShare);
          const p = period(life, w);
          const n = Math.ceil((w.from + w.to) / 2 / (w.to - w.from));
          for (const seed of seeds(40)) {
            let notBefore = start;
            const off: number[] = [];
            for (let k = 1; k <= n + 2; k++) {
              const t = renewalTime(cert(notBefore, life), seed, w).getTime();
              expect(t - notBefore).to.be.within(life * w.from - 1, life * w.to + 1);
              off.push(offTarget(t, seed, p));
              notBefore = t - backdate;
            }
            // After n renewals a device is on target but for the backdating of the renewals on the
            // way; the next renewal takes that up too, and it stays there.
            expect(Math.abs(off[n - 1]!)).to.be.at.most(n * (backdate + 1) + 1);
            expect(Math.abs(off[n]!)).to.be.at.most(n + 2);
            expect(Math.abs(off[n + 1]!)).to.be.at.most(n + 3);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('after a late renewal (a retry), goes straight back toward the phase, as far as the window allows', () => {
    fc.assert(
      fc.property(
        arbStart,
        fc.integer({ min: 60_000, max: 825 * DAY }),
        arbWindow,
        fc.string(),
        (start, life, w, seed) => {
          const p = period(life, w);
          const half = (life * (w.to - w.from)) / 2;
          const centre = start + life * ((w.from + w.to) / 2);
          const away = Math.abs(offTarget(centre, seed, p));
          const t = renewalTime(cert(start, life), seed, w, 'return').getTime();
          // On target when it is within half the window of the centre, else at the window's edge.
          expect(Math.abs(offTarget(t, seed, p))).to.be.at.most(Math.max(0, away - half) + 2);
          // Never further from the target than the spreading way would leave it.
          const spread = renewalTime(cert(start, life), seed, w).getTime();
          expect(Math.abs(offTarget(t, seed, p))).to.be.at.most(Math.abs(offTarget(spread, seed, p)) + 2);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves a batch uniform over the period once it has arrived', () => {
    for (const w of [DEFAULT_WINDOW, { from: 0.5, to: 0.9 }]) {
      const life = 30 * DAY;
      const p = period(life, w);
      const n = Math.ceil((w.from + w.to) / 2 / (w.to - w.from));
      const phases = seeds(4000).map((seed) => {
        let notBefore = Date.parse('2026-01-01T00:00:00Z');
        for (let k = 0; k < n; k++) notBefore = renewalTime(cert(notBefore, life), seed, w).getTime();
        return (((notBefore % p) + p) % p) / p;
      });
      for (const share of shares(phases, 0, 1)) expect(share, JSON.stringify(w)).to.be.within(0.85, 1.15);
    }
  });

  it('renews at the window itself when it is a single point', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const t = renewalTime(cert(start, 10 * DAY), 'x', { from: 0.5, to: 0.5 }).getTime();
    expect(t).to.equal(start + 5 * DAY);
  });

  it('backs off exponentially with full jitter, capped at retry.max', () => {
    const b = { initialMs: 1000, maxMs: 60_000 };
    expect(backoffCap(1, b)).to.equal(1000);
    expect(backoffCap(4, b)).to.equal(8000);
    expect(backoffCap(30, b)).to.equal(60_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, u) => {
          const d = backoffDelay(n, b, () => u);
          expect(d).to.be.within(0, Math.min(60_000, 1000 * 2 ** (n - 1)));
          expect(backoffDelay(n, b, () => 0)).to.equal(0);
        },
      ),
    );
  });
});
