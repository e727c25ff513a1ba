/**
 * ARI (RFC 9773) against the real pebble through test/helpers/acme-proxy.ts: Debian's pebble 2.4
 * has no renewalInfo, so the proxy adds it to pebble's directory and answers it with the window
 * the test chooses; every other request goes to pebble unchanged (pebble ignores `replaces`).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { planRenewals } from '../../src/agent/plan.js';
import { captureLog } from '../helpers/fake-clock.js';
import { until } from '../helpers/proc.js';
import { expectCode } from '../helpers/expect-code.js';
import { ErrorCodes } from '../../src/index.js';
import { withAcmeEnv } from './acme-env.js';

const HOUR = 3_600_000;

/** The RFC 9773 §4.1 identifier, computed with openssl: base64url(AKI keyid) "." base64url(serial DER). */
function opensslCertId(certFile: string): string {
  const text = spawnSync('openssl', ['x509', '-in', certFile, '-noout', '-ext', 'authorityKeyIdentifier', '-serial'], {
    encoding: 'utf8',
  }).stdout;
  const aki = /keyid:([0-9A-F:]+)/i.exec(text)?.[1] ?? /Identifier:\s*\n\s*([0-9A-F:]+)/i.exec(text)![1]!;
  let serial = Buffer.from(/serial=([0-9A-F]+)/i.exec(text)![1]!.padStart(2, '0'), 'hex');
  if (serial[0]! & 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${Buffer.from(aki.replaceAll(':', ''), 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}

describe('acme: ARI (renewal information) through a proxy in front of pebble', function () {
  this.timeout(60_000);
  const env = withAcmeEnv();
  const { events, log } = captureLog();
  before(() => {
    env().proxy.ariDirectory = true;
  });
  /** Runs `ensure` (a manager's renewal) and returns the newOrder payloads it sent. */
  async function ordersOf<T>(ensure: () => Promise<T>): Promise<{ r: T; sent: Array<Record<string, unknown>> }> {
    const before = env().proxy.orders.length;
    const r = await ensure();
    return { r, sent: env().proxy.orders.slice(before) };
  }

  afterEach(() => {
    env().proxy.ari = null;
    env().proxy.rejectReplaces = false;
  });

  it('renews at a moment inside the CA window, not the local one; asks again only after Retry-After', async () => {
    const { m, dir } = env().manager(log);
    await m.start();
    await m.ensureCertificate('device');
    const now = Date.now();
    env().proxy.ari = { start: new Date(now + 24 * HOUR), end: new Date(now + 48 * HOUR), retryAfter: 600 };
    const r = await m.ensureCertificate('device');
    expect(r.renewed).to.equal(null);
    expect(r.nextRenewal.getTime()).to.be.within(now + 24 * HOUR, now + 48 * HOUR);
    const certId = opensslCertId(path.join(dir, 'generations', '1', 'cert.pem'));
    // Asked once after the enrolment (no answer yet), then with the window.
    expect(env().proxy.ariAsked).to.deep.equal([certId, certId]);
    // Pebble's certificates live five years: the local 70-90 % window is years away.
    const [plan] = await planRenewals(m.config);
    expect(plan).to.deep.include({ why: 'ari', due: false, nextRenewal: r.nextRenewal.toISOString() });
    expect(env().proxy.ariAsked, 'the answer is kept until its Retry-After').to.have.length(2);
    // The agent's loop schedules by it, and says so.
    const running = m.run();
    try {
      await until('the loop to schedule', () => events.some((e) => e.event === 'scheduled' && e.why === 'ari'));
    } finally {
      await m.stop();
      await running;
    }
    const scheduled = events.find((e) => e.event === 'scheduled' && e.why === 'ari')!;
    expect(scheduled.nextRenewal).to.equal(plan!.nextRenewal);
    // It wakes before that to ask the CA again, as its Retry-After (600 s) says.
    expect(Date.parse(scheduled.recheckAt as string) - now).to.be.within(590_000, 700_000);
    const later = await planRenewals(m.config, { now: new Date(now + 11 * 60_000) });
    expect(env().proxy.ariAsked, 'asked again after Retry-After').to.have.length(3);
    expect(later[0]!.nextRenewal, 'the same window keeps the same moment').to.equal(plan!.nextRenewal);
  });

  it('a window that has begun makes the renewal due, and the new order names the certificate it replaces', async () => {
    const { m, dir } = env().manager(log);
    await m.start();
    await m.ensureCertificate('device');
    const now = Date.now();
    env().proxy.ari = { start: new Date(now - 2 * HOUR), end: new Date(now - HOUR) };
    const { r, sent } = await ordersOf(() => m.ensureCertificate('device'));
    expect(r.renewed?.reason).to.equal('renewal due');
    expect(r.renewed?.generation).to.equal(2);
    expect(sent).to.have.length(1);
    expect(sent[0]!.replaces).to.equal(opensslCertId(path.join(dir, 'generations', '1', 'cert.pem')));
    expect(events.some((e) => e.event === 'renew' && e.reason === 'renewal due')).to.equal(true);
  });

  it('a server that refuses `replaces` gets the order again without it', async () => {
    const { m } = env().manager(log);
    await m.start();
    await m.ensureCertificate('device');
    env().proxy.ari = { start: new Date(Date.now() - 2 * HOUR), end: new Date(Date.now() - HOUR) };
    env().proxy.rejectReplaces = true;
    const { r, sent } = await ordersOf(() => m.ensureCertificate('device'));
    expect(r.renewed?.generation).to.equal(2);
    expect(sent.map((o) => 'replaces' in o)).to.deep.equal([true, false]);
    expect(events.some((e) => e.event === 'acme-replaces-refused')).to.equal(true);
  });

  it('profile: sent when the directory lists it; one it does not list is refused before ordering', async () => {
    // Pebble 2.4 lists no profiles and ignores the field: the proxy lists them.
    env().proxy.profiles = { classic: 'the default', shortlived: 'six days' };
    try {
      const ok = env().manager(log, { profile: 'shortlived' });
      await ok.m.start();
      const { sent } = await ordersOf(() => ok.m.ensureCertificate('device'));
      expect(sent.map((o) => o.profile)).to.deep.equal(['shortlived']);
      const bad = env().manager(log, { profile: 'tlsserver' });
      await bad.m.start();
      await expectCode(
        bad.m.ensureCertificate('device'),
        ErrorCodes.CA_REFUSED,
        /no profile "tlsserver".*classic, shortlived/,
      );
    } finally {
      env().proxy.profiles = null;
    }
    // A directory without profiles: not sent.
    const plain = env().manager(log, { profile: 'shortlived' });
    await plain.m.start();
    const { sent } = await ordersOf(() => plain.m.ensureCertificate('device'));
    expect(sent.map((o) => 'profile' in o)).to.deep.equal([false]);
  });
});
