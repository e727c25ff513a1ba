/** The agent's per-certificate timer: the window after a success, the retry rule after a failure. */
import { expect } from 'chai';
import { HERD_SPREAD } from '../../../src/agent/retry.js';
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

  it('schedules by the window of the active certificate and the identity it was given', () => {
    const w = { from: 0.5, to: 0.9 };
    const timer = new RenewalTimer({ seed: 'device-7', window: w, backoff: b });
    const cert = { notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-01-31T00:00:00.000Z' };
    expect(timer.succeeded(cert)).to.deep.equal({ at: renewalTime(cert, 'device-7', w), why: 'window' });
  });
});
