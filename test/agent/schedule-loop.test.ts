/**
 * The agent's loop and the schedule (issue 17): run() logs each certificate's next renewal and
 * why, puts the certificate closest to expiry first, and retries with herd control; `renew
 * --dry-run` shows the same plan without renewing anything.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { CertificateManager } from '../../src/agent/manager.js';
import type { Provisioner } from '../../src/agent/provisioners/provisioner.js';
import { CertswapError, ErrorCodes } from '../../src/errors.js';
import { parseConfig, type AgentConfig } from '../../src/agent/config.js';
import { phaseSeed } from '../../src/agent/due.js';
import { planRenewals } from '../../src/agent/plan.js';
import { renewalTime } from '../../src/agent/schedule.js';
import { run } from '../../src/cli/run.js';
import { DAY_MS } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import { FakeClock, captureLog } from '../helpers/fake-clock.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function cert(name: string, lifetime: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    dir: `store-${name}`,
    identity: { commonName: `${name}-cn`, sans: [`${name}-cn`] },
    provisioner: { type: 'local-ca', caDir: 'ca', lifetime },
    retry: { initial: '1s', max: '1m' },
    ...extra,
  };
}

async function configOf(certificates: Record<string, unknown>[]): Promise<{ config: AgentConfig; base: string }> {
  const base = await tempDir();
  return { config: parseConfig({ certificates }, base), base };
}

/** Runs the loop until `until` holds for the captured events, then stops it. */
async function runUntil(m: CertificateManager, events: Array<Record<string, unknown>>, until: () => boolean) {
  const running = m.run();
  while (!until()) await new Promise((r) => setTimeout(r, 10));
  await m.stop();
  await running;
  return events;
}

describe('agent schedule', function () {
  this.timeout(60_000);

  it('logs every next renewal with its time and why: the window, or retry backoff', async () => {
    const { config } = await configOf([
      cert('good', '10d'),
      cert('bad', '10d', { provisioner: { type: 'command', command: ['sh', '-c', 'exit 3'] } }),
    ]);
    const clock = new FakeClock(T0);
    const { events, log } = captureLog();
    const m = new CertificateManager(config, { clock, log, random: () => 0.5 });
    await m.start();
    await runUntil(m, events, () => events.filter((e) => e.event === 'retry').length >= 3);
    const scheduled = events.find((e) => e.event === 'scheduled' && e.cert === 'good')!;
    expect(scheduled).to.include({ why: 'window' });
    const info = (await m.store('good').verify()).info;
    expect(scheduled.nextRenewal).to.equal(
      renewalTime(info, phaseSeed(config.certificates[0]!), config.certificates[0]!.renew).toISOString(),
    );
    const retries = events.filter((e) => e.event === 'retry').slice(0, 3);
    expect(retries.map((e) => e.attempt)).to.deep.equal([1, 2, 3]);
    for (const r of retries) {
      expect(r).to.include({ cert: 'bad', why: 'retry backoff', code: 'CERTSWAP_PROVISION_FAILED' });
      expect(Date.parse(r.nextRenewal as string)).to.be.greaterThan(T0);
    }
  });

  it('renews the certificate closest to expiry first when several are due', async () => {
    // "long" is listed first, but "short" expires first: it goes first.
    const { config } = await configOf([cert('long', '20d'), cert('short', '10d')]);
    const clock = new FakeClock(T0);
    const { events, log } = captureLog();
    const m = new CertificateManager(config, { clock, log, random: () => 0.5 });
    await m.start();
    await m.ensureCertificate('long');
    await m.ensureCertificate('short');
    // Both past their windows (short is even expired): one pass of the loop renews both.
    clock.t = T0 + 19 * DAY_MS;
    await runUntil(m, events, () => events.filter((e) => e.event === 'rotated').length >= 4);
    const renewed = events.filter((e) => e.event === 'renew').map((e) => e.cert);
    expect(renewed.slice(0, 4)).to.deep.equal(['long', 'short', 'short', 'long']);
  });

  it('renew --dry-run prints when each certificate would renew and why, and changes nothing', async () => {
    const { config, base } = await configOf([cert('device', '30d'), cert('fresh', '30d')]);
    const clock = new FakeClock(Date.now());
    const m = new CertificateManager(config, { clock });
    await m.start();
    const r = await m.ensureCertificate('device');
    const freshDir = path.join(base, 'store-fresh');
    await fse.remove(freshDir);

    const plans = await planRenewals(config, { now: clock.now() });
    expect(plans[0]).to.deep.include({
      name: 'device',
      generation: 1,
      nextRenewal: r.nextRenewal.toISOString(),
      why: 'window',
      due: false,
    });
    expect(plans[1]).to.include({ name: 'fresh', generation: null, why: 'no active generation', due: true });
    expect(await fse.pathExists(freshDir), 'a dry run creates no store').to.equal(false);
    const late = await planRenewals(config, { now: new Date(r.nextRenewal.getTime() + 1), name: 'device' });
    expect(late).to.have.length(1);
    expect(late[0]).to.include({ why: 'window', due: true });

    const file = path.join(base, 'agent.yaml');
    await fse.writeFile(file, JSON.stringify({ certificates: [cert('device', '30d')] }));
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), env: {} };
    expect(await run(['renew', '--config', file, '--dry-run', '--json'], io)).to.equal(0);
    expect(JSON.parse(out.join(''))).to.include({ name: 'device', generation: 1, why: 'window' });
    expect(await run(['renew', '--config', file, '--dry-run'], io)).to.equal(0);
    expect(out.at(-1)).to.match(/^device: generation 1, expires \S+; next renewal \S+ \(window\)\n$/);
    expect((await m.store('device').status()).current, 'nothing renewed').to.equal(1);
    expect(await run(['renew', '--config', file, '--dry-run', '--name', 'nope'], io)).to.equal(1);
    expect(err.join('')).to.include('CERTSWAP_BAD_ARGUMENT');
    expect(await run(['agent', '--config', file, '--dry-run'], io)).to.equal(2);
  });
});

describe('agent retry state (.retry)', function () {
  this.timeout(60_000);

  it('is recorded after each failure, shown by renew --dry-run, resumed by a restarted agent, removed by a success', async () => {
    const good = cert('device', '10d');
    const failing = cert('device', '10d', { provisioner: { type: 'command', command: ['sh', '-c', 'exit 3'] } });
    const { config: ok, base } = await configOf([good]);
    const bad = parseConfig({ certificates: [failing] }, base);
    const clock = new FakeClock(T0);
    const first = new CertificateManager(ok, { clock });
    await first.start();
    await first.ensureCertificate('device');
    const retryFile = path.join(base, 'store-device', '.retry');

    // Past the window (at most 90 % of 10 days), a running agent whose renewals fail: the CA (here
    // the command) refuses.
    const since = T0 + 9.5 * DAY_MS;
    clock.t = since;
    const a = captureLog();
    const failer = new CertificateManager(bad, { clock, log: a.log, random: () => 0.5 });
    await failer.start();
    await runUntil(failer, a.events, () => a.events.filter((e) => e.event === 'retry').length >= 3);
    const retries = a.events.filter((e) => e.event === 'retry');
    const last = retries.at(-1)!;
    const record = JSON.parse(await fse.readFile(retryFile, 'utf8')) as Record<string, unknown>;
    expect(record).to.include({ attempt: last.attempt, next: last.nextRenewal, code: 'CERTSWAP_PROVISION_FAILED' });
    expect(record).to.include({ generation: 1, failingSince: new Date(since).toISOString() });
    expect((await fse.stat(retryFile)).mode & 0o777).to.equal(0o600);

    // The dry run shows the agent's next attempt, not the window.
    const [plan] = await planRenewals(bad, { now: clock.now() });
    expect(plan).to.deep.include({ why: 'retry backoff', nextRenewal: last.nextRenewal, generation: 1 });
    expect(plan!.retry).to.deep.include({ attempt: last.attempt, code: 'CERTSWAP_PROVISION_FAILED' });
    const file = path.join(base, 'agent.yaml');
    await fse.writeFile(file, JSON.stringify({ certificates: [failing] }));
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: () => undefined, env: {} };
    expect(await run(['renew', '--config', file, '--dry-run'], io)).to.equal(0);
    // The CLI reads the real clock, which is before this test's certificates: "no valid generation".
    expect(out.join('')).to.equal(
      `device: no valid generation; next attempt ${last.nextRenewal} (retry backoff: ` +
        `attempt ${last.attempt} failed with CERTSWAP_PROVISION_FAILED, failing since ${new Date(since).toISOString()})\n`,
    );

    // A restarted agent continues the streak: the next failure is the next attempt of the same
    // streak, at no earlier time than recorded.
    const b = captureLog();
    const restarted = new CertificateManager(bad, { clock, log: b.log, random: () => 0.5 });
    await restarted.start();
    expect(b.events.find((e) => e.event === 'retry')).to.include({
      nextRenewal: last.nextRenewal,
      attempt: last.attempt,
    });
    await runUntil(restarted, b.events, () => b.events.filter((e) => e.event === 'retry').length >= 2);
    const resumed = b.events.filter((e) => e.event === 'retry')[1]!;
    expect(resumed.attempt).to.equal((last.attempt as number) + 1);
    expect(clock.t).to.be.at.least(Date.parse(last.nextRenewal as string));
    const again = JSON.parse(await fse.readFile(retryFile, 'utf8')) as Record<string, unknown>;
    expect(again.failingSince).to.equal(new Date(since).toISOString());

    // The CA is back: the renewal succeeds and the record is gone; the dry run shows the window.
    const healed = new CertificateManager(ok, { clock });
    await healed.start();
    await healed.ensureCertificate('device', { force: true });
    expect(await fse.pathExists(retryFile)).to.equal(false);
    expect((await planRenewals(ok, { now: clock.now() }))[0]).to.include({ why: 'window', generation: 2 });
  });

  /** A store with generation 1 active and `record` (merged into a valid one) as its .retry. */
  async function withRecord(record: Record<string, unknown>) {
    const { config, base } = await configOf([cert('device', '10d')]);
    const clock = new FakeClock(T0);
    const m = new CertificateManager(config, { clock });
    await m.start();
    await m.ensureCertificate('device');
    const valid = { attempt: 2, failingSince: '2029-12-31T00:00:00.000Z', draw: 0.5, next: '2030-02-01T00:00:00.000Z' };
    const text = JSON.stringify({ ...valid, code: 'CERTSWAP_CA_UNAVAILABLE', generation: 1, ...record });
    await fse.writeFile(path.join(base, 'store-device', '.retry'), text, { mode: 0o600 });
    return { config, clock };
  }

  it('a resumed attempt never comes later than the retry rule allows (a record written under a wrong clock)', async () => {
    const { config, clock } = await withRecord({ next: '2100-01-01T00:00:00.000Z' });
    const { events, log } = captureLog();
    const restarted = new CertificateManager(config, { clock, log });
    await restarted.start();
    const resumed = events.find((e) => e.event === 'retry')!;
    const notAfter = Date.parse((await restarted.store('device').verify()).info.notAfter);
    expect(Date.parse(resumed.nextRenewal as string)).to.be.at.most(T0 + 0.9 * (notAfter - T0) + 1);
  });

  it('a record for another generation than the active one is stale: ignored', async () => {
    const { config, clock } = await withRecord({ generation: 7 });
    expect((await planRenewals(config, { now: clock.now() }))[0]).to.include({ why: 'window' });
  });

  it('the certificate a failure streak ended with is renewed straight back at its phase, by the loop and every look', async () => {
    // Six certificates, so that some have a phase away from where the stepwise rule would put them.
    const names = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
    const { config } = await configOf(names.map((n) => cert(n, '10d')));
    const clock = new FakeClock(T0);
    const { events, log } = captureLog();
    const m = new CertificateManager(config, { clock, log, random: () => 0.5 });
    await m.start();
    for (const n of names) await m.ensureCertificate(n);
    // The CA goes down past every window (each certificate's real provisioner, failed in front the
    // way the fault suite fails a system call), and comes back after retries.
    let down = true;
    const managed = (m as unknown as { managed: Map<string, { provisioner: Provisioner }> }).managed;
    for (const entry of managed.values()) {
      const real = entry.provisioner;
      const failing: Provisioner = Object.create(real);
      failing.provision = (req) =>
        down ? Promise.reject(new CertswapError(ErrorCodes.CA_UNAVAILABLE, 'CA down (test)')) : real.provision(req);
      entry.provisioner = failing;
    }
    clock.t = T0 + 9.5 * DAY_MS;
    const running = m.run();
    const count = (event: string): number => events.filter((e) => e.event === event).length;
    for (let i = 0; count('retry') < 2 * names.length; i++) {
      if (i > 500) throw new Error(JSON.stringify(events.slice(-5)));
      await new Promise((r) => setTimeout(r, 10));
    }
    down = false;
    for (let i = 0; count('rotated') < 2 * names.length; i++) {
      if (i > 1000) throw new Error(JSON.stringify(events.slice(-5)));
      await new Promise((r) => setTimeout(r, 10));
    }
    await m.stop();
    await running;

    let told = 0;
    for (const [i, n] of names.entries()) {
      const c = config.certificates[i]!;
      const info = (await m.store(n).verify()).info;
      const back = renewalTime(info, phaseSeed(c), c.renew, 'return').getTime();
      const steps = renewalTime(info, phaseSeed(c), c.renew, 'spread').getTime();
      const after = events.findIndex((e) => e.event === 'rotated' && e.cert === n && e.generation === 2);
      const next = events.slice(after).find((e) => e.event === 'scheduled' && e.cert === n)!;
      expect(next.nextRenewal, n).to.equal(new Date(back).toISOString());
      if (back === steps) continue;
      // Half-way between the two times a look renews exactly when straight back comes first.
      told++;
      clock.t = Math.round((back + steps) / 2);
      const r = await m.ensureCertificate(n);
      expect(r.renewed !== null, `${n}: renewed half-way`).to.equal(back < steps);
    }
    expect(told, 'certificates whose two times differ').to.be.greaterThan(0);
  });

  it('a certificate due the moment it is issued is not renewed again at once, but after the window measured from then', async () => {
    // local-ca backdates notBefore a minute: with a 10-minute lifetime, a window opening at 5 %
    // (30 s) is past before the certificate is issued.
    const { config } = await configOf([cert('early', '10m', { renew: { from: 0.05, to: 0.06 } })]);
    const clock = new FakeClock(T0);
    const { events, log } = captureLog();
    const m = new CertificateManager(config, { clock, log, random: () => 0.5 });
    await m.start();
    const renewals: number[] = [];
    let warnings = 0;
    const running = m.run();
    for (let i = 0; renewals.length < 4; i++) {
      if (i > 500) throw new Error('no renewals');
      for (const e of events.splice(0)) {
        if (e.event === 'rotated') renewals.push(clock.t);
        if (e.event === 'due-at-issue') warnings++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await m.stop();
    await running;
    expect(warnings, 'due-at-issue warnings').to.be.greaterThan(0);
    // 5 % of the (about 10 minutes of) life left: about 30 s apart, never at the same instant.
    for (let i = 1; i < renewals.length; i++) expect(renewals[i]! - renewals[i - 1]!).to.be.at.least(25_000);
  });
});
