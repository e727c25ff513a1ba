/**
 * The fleet benchmark's real path, small: 20 whole agents (store, csr provisioner, loop on the real
 * clock) against a real `cfssl serve` with 100-s certificates, then the same devices through the
 * simulation (bench/fleet-real.ts). The simulation must reproduce what the agents did: as many
 * renewals for every device, each at the time the real one reached the CA. `npm run
 * bench:fleet:real` is the 200-device version. Without cfssl the suite is skipped, except in CI.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BACKDATE_S, cfsslValidity, runRealFleet } from '../../bench/fleet-real.js';
import { makeCfsslCa } from '../helpers/cfssl.js';
import { which } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

describe('fleet: the simulation against real agents and a real cfssl CA', function () {
  this.timeout(300_000);

  before(function () {
    if (which('cfssl')) return;
    if (process.env.CI) throw new Error('cfssl is not installed (.ci/run installs golang-cfssl from Debian packages)');
    this.skip();
  });

  it("models cfssl's validity rule: the request time rounded to the minute, less the 30-s backdate", () => {
    const at = (iso: string) => cfsslValidity(Date.parse(iso), 100);
    expect(at('2026-11-30T08:35:54.040Z')).to.deep.equal({
      notBefore: '2026-11-30T08:35:30.000Z',
      notAfter: '2026-11-30T08:37:10.000Z',
    });
    // Halves round up (Go's time.Round), and notBefore is never after the request.
    expect(at('2026-11-30T08:35:30.000Z').notBefore).to.equal('2026-11-30T08:35:30.000Z');
    expect(at('2026-11-30T08:35:29.999Z').notBefore).to.equal('2026-11-30T08:34:30.000Z');
  });

  it('20 agents renew against cfssl at the times the simulation gives them, renewal by renewal', async () => {
    const r = await runRealFleet({
      devices: 20,
      lifetimeS: 100,
      // An early, narrow window puts every device's first renewal within 75 s of its enrolment, so
      // 80 s show each renewing (agreement does not depend on the window). Not earlier: cfssl's
      // notBefore can lie 60 s before the request (rounded to the minute, less the 30-s backdate),
      // and a window opening before 60 % of 100 s would make a certificate due the moment it is issued.
      runMs: 80_000,
      window: { from: 0.65, to: 0.75 },
      enrolDays: 1,
      seed: 3,
    });
    console.log(
      `      ${r.real.renewals} renewals (simulated ${r.simulated.renewals}), real - simulated: median ` +
        `${r.agreement.medianDeltaMs} ms, max ${r.agreement.maxDeltaMs} ms`,
    );
    expect(r.real.failedAttempts).to.equal(0);
    // Each device enrols within 3.3 s and renews within 75 s of it: at least one renewal each.
    expect(r.real.renewals).to.be.at.least(20);
    // One device may part from its simulation: a request that reaches cfssl a few milliseconds
    // after its simulated time, across a half-minute, gets a notBefore a minute later (cfssl rounds
    // to the minute), and that device's later renewals move by a minute. About 0.1 % per renewal.
    expect(Math.abs(r.simulated.renewals - r.real.renewals)).to.be.at.most(1);
    expect(r.agreement.devicesSameCount).to.be.at.least(19);
    // The real request reaches the CA after the agent's key, CSR and HTTP round trip: not seconds
    // late (a wrong schedule or validity rule would put it tens of seconds off).
    expect(r.agreement.withinFiveSeconds).to.be.at.least(r.agreement.paired - 2);
    expect(r.agreement.paired).to.be.at.least(r.real.renewals - 1);
    expect(r.simulated.expired).to.equal(0);
  });

  it("cfssl's certificates have the validity the simulated CA gives (the rule checked on a real one)", async () => {
    const bin = which('cfssl')!;
    const dir = await tempDir();
    await makeCfsslCa(bin, dir, {
      default: { expiry: '100s', backdate: `${BACKDATE_S}s`, usages: ['client auth'] },
    });
    const key = spawnSync(bin, ['genkey', '-'], {
      input: JSON.stringify({ CN: 'device-1', hosts: ['device-1.fleet.test'], key: { algo: 'ecdsa', size: 256 } }),
      encoding: 'utf8',
    });
    await fs.writeFile(path.join(dir, 'csr.pem'), (JSON.parse(key.stdout) as { csr: string }).csr);
    const file = (name: string) => path.join(dir, name);
    const before = Date.now();
    const signed = spawnSync(
      bin,
      ['sign', '-ca', file('ca.pem'), '-ca-key', file('ca-key.pem'), '-config', file('config.json'), file('csr.pem')],
      { encoding: 'utf8' },
    );
    const after = Date.now();
    expect(signed.status, signed.stderr).to.equal(0);
    const cert = new X509Certificate((JSON.parse(signed.stdout) as { cert: string }).cert);
    const got = {
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
    };
    // cfssl read its clock between `before` and `after`: the rule at one of them (they differ only
    // when the call straddles a rounding boundary).
    expect([cfsslValidity(before, 100), cfsslValidity(after, 100)]).to.deep.include(got);
  });
});
