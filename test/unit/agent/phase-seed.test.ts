import { expect } from 'chai';
import fs from 'node:fs/promises';
import path from 'node:path';
import { machineId, phaseSeedOf } from '../../../src/agent/phase-seed.js';
import { targetPhase } from '../../../src/agent/schedule.js';
import { tempDir } from '../../helpers/tmp.js';

describe('phase seed', () => {
  const id = '0123456789abcdef0123456789abcdef';

  it('tells apart devices that share a common name and differ in their SANs, whatever the SAN order', () => {
    const a = phaseSeedOf({ commonName: 'gateway', sans: ['a.fleet.test', 'serial-1'] }, null);
    const b = phaseSeedOf({ commonName: 'gateway', sans: ['a.fleet.test', 'serial-2'] }, null);
    expect(a).to.not.equal(b);
    expect(phaseSeedOf({ commonName: 'gateway', sans: ['serial-1', 'a.fleet.test'] }, null)).to.equal(a);
  });

  it('tells apart machines whose identity is the same, and is the same on the same machine', () => {
    const role = { commonName: 'telemetry-client', sans: [] };
    expect(phaseSeedOf(role, id)).to.not.equal(phaseSeedOf(role, id.replace('0', '1')));
    expect(phaseSeedOf(role, id)).to.equal(phaseSeedOf(role, id));
    expect(phaseSeedOf(role, null)).to.not.equal(phaseSeedOf(role, id));
  });

  it('keeps a fleet sharing one CN uniform: 2,000 devices named in their SANs fill ten phase bins evenly', () => {
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) {
      bins[
        Math.floor(targetPhase(phaseSeedOf({ commonName: 'device', sans: [`serial-${i}.fleet.test`] }, null)) * 10)
      ]++;
    }
    // Binomial(2000, 0.1): mean 200, sd 13.4; 4.5 sd either side.
    for (const n of bins) expect(n).to.be.within(140, 260);
  });

  it('reads a valid machine ID, and none from a missing, malformed or uninitialised file or a link', async () => {
    const dir = await tempDir();
    const file = (name: string, text: string) =>
      fs.writeFile(path.join(dir, name), text).then(() => path.join(dir, name));
    expect(machineId(await file('ok', `${id}\n`))).to.equal(id);
    expect(machineId(path.join(dir, 'absent'))).to.equal(null);
    expect(machineId(await file('uninit', 'uninitialized\n'))).to.equal(null);
    expect(machineId(await file('upper', `${id.toUpperCase()}\n`))).to.equal(null);
    expect(machineId(await file('big', 'x'.repeat(100)))).to.equal(null);
    await fs.symlink(path.join(dir, 'ok'), path.join(dir, 'link'));
    expect(machineId(path.join(dir, 'link'))).to.equal(null);
  });
});
