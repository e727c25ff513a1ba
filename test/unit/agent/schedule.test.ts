import { expect } from 'chai';
import { backoffDelay, renewalTime } from '../../../src/agent/schedule.js';

describe('schedule', () => {
  const info = (fp: string) => ({
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-01-11T00:00:00.000Z',
    fingerprint: fp,
  });

  it('puts the renewal point inside the window, fixed per certificate and spread across certificates', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const life = 10 * 86_400_000;
    const points = [...Array(200).keys()].map((i) => (renewalTime(info(`fp-${i}`)).getTime() - start) / life);
    for (const p of points) expect(p).to.be.within(0.7, 0.9);
    expect(Math.max(...points) - Math.min(...points)).to.be.greaterThan(0.15);
    expect(renewalTime(info('same')).getTime()).to.equal(renewalTime(info('same')).getTime());
    expect((renewalTime(info('x'), { from: 0.5, to: 0.5 }).getTime() - start) / life).to.equal(0.5);
  });

  it('backs off exponentially with jitter, capped', () => {
    const b = { initialMs: 1000, maxMs: 60_000 };
    expect(backoffDelay(1, b, () => 0)).to.equal(500);
    expect(backoffDelay(1, b, () => 1)).to.equal(1000);
    expect(backoffDelay(4, b, () => 0)).to.equal(4000);
    expect(backoffDelay(4, b, () => 1)).to.equal(8000);
    expect(backoffDelay(30, b, () => 1)).to.equal(60_000);
    expect(backoffDelay(30, b, () => 0)).to.equal(30_000);
  });
});
