/**
 * The fleet simulation (bench/fleet-sim.ts) refuses a schedule that makes a certificate due the
 * moment it is issued, instead of renewing it again and again at one instant (it looped forever).
 */
import { expect } from 'chai';
import { seeded, simulate } from '../../../bench/fleet-sim.js';

const DAY = 86_400_000;

function run(succeeded: (cert: { notBefore: string; notAfter: string }) => number) {
  return simulate(
    { name: 'unit', rule: 'certswap', window: { from: 0.7, to: 0.9 }, enrolDays: 1 },
    {
      devices: 3,
      lifetimeMs: 10 * DAY,
      lifetimes: 3,
      backdateMs: DAY,
      t0: Date.parse('2030-01-01T00:00:00Z'),
      random: seeded(1),
      policy: () => ({ succeeded, failed: (now) => now + 1000 }),
    },
  );
}

describe('bench: fleet simulation', () => {
  it('renews each device once per schedule, and refuses a certificate due at its issue', () => {
    const r = run((cert) => Date.parse(cert.notBefore) + 8 * DAY);
    expect(r.expired).to.equal(0);
    // Three devices, 30 days, a renewal every 7 days (8 days from a notBefore backdated one day).
    expect(r.renewals).to.be.within(9, 12);
    // Due at notBefore, which the CA backdated a day: due at issue, again and again.
    expect(() => run((cert) => Date.parse(cert.notBefore))).to.throw(/due at once/);
  });
});
