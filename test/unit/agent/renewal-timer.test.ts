/** The agent's per-certificate timer: the window after a success, the retry rule after a failure. */
import { expect } from 'chai';
import { HERD_FLOOR, HERD_SPREAD } from '../../../src/agent/retry.js';
import { RenewalTimer } from '../../../src/agent/renewal-timer.js';
import { DEFAULT_BACKOFF, renewalTime } from '../../../src/agent/schedule.js';

const DAY = 86_400_000;
const b = DEFAULT_BACKOFF;

describe('RenewalTimer', () => {
  it('counts a failure streak from its first failure and starts again after a success', () => {
    const timer = new RenewalTimer({ seed: 'device-1', window: { from: 0.7, to: 0.9 }, backoff: b, random: () => 1 });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const notAfter = t0 + 6 * DAY;
    const first = timer.failed(t0, notAfter);
    expect(first).to.include({ attempt: 1, why: 'retry backoff', delayMs: 1000 });
    expect(first.at.getTime()).to.equal(t0 + 1000);
    const later = timer.failed(t0 + 3_600_000, notAfter);
    expect(later).to.include({ attempt: 2, delayMs: HERD_SPREAD * 3_600_000 });
    const cert = { notBefore: new Date(t0).toISOString(), notAfter: new Date(t0 + 30 * DAY).toISOString() };
    expect(timer.succeeded(cert).why).to.equal('window');
    expect(timer.failed(t0 + 7_200_000, notAfter)).to.include({ attempt: 1, delayMs: 1000 });
  });

  it('draws a place in the queue once per failure streak, and keeps it for the whole outage', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const notAfter = t0 + 30 * DAY;
    const draws = [0.25, 0.9, 0.9, 0.9, 0.75];
    const timer = new RenewalTimer({
      seed: 'd',
      window: { from: 0.7, to: 0.9 },
      backoff: b,
      random: () => draws.shift()!,
    });
    timer.failed(t0, notAfter); // the streak's draw: 0.25; the first backoff draws 0.9
    const at = (h: number): number => timer.failed(t0 + h * 3_600_000, notAfter).delayMs;
    const herd = HERD_SPREAD * 3_600_000;
    expect(at(1)).to.equal(Math.round(herd * HERD_FLOOR + herd * (1 - HERD_FLOOR) * 0.25));
    expect(at(2)).to.equal(Math.round(HERD_SPREAD * 7_200_000 * (HERD_FLOOR + (1 - HERD_FLOOR) * 0.25)));
    timer.succeeded({ notBefore: new Date(t0).toISOString(), notAfter: new Date(notAfter).toISOString() });
    timer.failed(t0 + 5 * 3_600_000, notAfter); // a new streak draws again: 0.9
    expect(at(6)).to.equal(Math.round(herd * HERD_FLOOR + herd * (1 - HERD_FLOOR) * 0.9));
  });

  it('schedules by the window of the active certificate and the identity it was given', () => {
    const w = { from: 0.5, to: 0.9 };
    const timer = new RenewalTimer({ seed: 'device-7', window: w, backoff: b });
    const cert = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-31T00:00:00.000Z' };
    expect(timer.succeeded(cert)).to.deep.equal({ at: renewalTime(cert, 'device-7', w), why: 'window' });
  });

  it('after a renewal that ended a failure streak, goes straight back toward the phase (then spreads again)', () => {
    const w = { from: 0.7, to: 0.9 };
    const timer = new RenewalTimer({ seed: 'device-7', window: w, backoff: b, random: () => 0.5 });
    const cert = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-31T00:00:00.000Z' };
    timer.failed(Date.parse('2026-01-01T00:00:00Z'), null);
    expect(timer.succeeded(cert).at).to.deep.equal(renewalTime(cert, 'device-7', w, 'return'));
    expect(timer.succeeded(cert).at).to.deep.equal(renewalTime(cert, 'device-7', w, 'spread'));
  });

  it('resumes a recorded failure streak: the same attempt count, start and draw', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const notAfter = t0 + 30 * DAY;
    const timer = new RenewalTimer({ seed: 'd', window: { from: 0.7, to: 0.9 }, backoff: b, random: () => 0.9 });
    timer.resume({ attempt: 4, failingSinceMs: t0, draw: 0.25 });
    const next = timer.failed(t0 + 3_600_000, notAfter);
    const herd = HERD_SPREAD * 3_600_000;
    expect(next).to.include({ attempt: 5, failingSinceMs: t0, draw: 0.25 });
    expect(next.delayMs).to.equal(Math.round(herd * HERD_FLOOR + herd * (1 - HERD_FLOOR) * 0.25));
  });
});
