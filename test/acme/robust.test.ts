/**
 * What an ACME CA does to a client, against the real pebble: external account binding, refused
 * nonces, an outage in the middle of an order, a challenge that cannot succeed, a rate limit with
 * Retry-After, and a trial activation whose TLS check is served the new certificate. Each failure
 * must leave the active generation as it was and nothing staged. The rate limit is played by
 * test/helpers/acme-proxy.ts (pebble 2.4 has none); everything else is pebble's own behaviour.
 */
import { expect } from 'chai';
import { X509Certificate, randomBytes } from 'node:crypto';
import fse from 'fs-extra';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { ErrorCodes } from '../../src/index.js';
import { FakeClock, captureLog } from '../helpers/fake-clock.js';
import { expectCode } from '../helpers/expect-code.js';
import { freePort, until } from '../helpers/proc.js';
import { listenLoopback, listening } from '../helpers/servers.js';
import { tempDir } from '../helpers/tmp.js';
import { withAcmeEnv } from './acme-env.js';

/** Nothing staged, no work directory left: the store holds only what the contract names. */
async function expectNoLeftovers(dir: string): Promise<void> {
  expect((await fse.readdir(dir)).filter((e) => e.startsWith('.provision-') || e.includes('.tmp-'))).to.deep.equal([]);
  const generations = await fse.readdir(path.join(dir, 'generations')).catch(() => [] as string[]);
  expect(generations.filter((e) => e.startsWith('.'))).to.deep.equal([]);
}

describe('acme: robustness against pebble', function () {
  this.timeout(60_000);
  const { events, log } = captureLog();
  const retries = (code: string): number => events.filter((e) => e.event === 'retry' && e.code === code).length;

  describe('one pebble', () => {
    const env = withAcmeEnv();

    /** A manager for device.example.test with a dns-01 hook that only records its calls (`calls`). */
    async function dnsRecorder(tag: string, wait: string) {
      const calls = path.join(env().base, `dns-${tag}-${Date.now()}.log`);
      const hook = path.join(env().base, `dns-${tag}-${Date.now()}.sh`);
      await fse.writeFile(hook, `#!/bin/sh\necho "$1 $2" >> '${calls}'\n`, { mode: 0o755 });
      const made = env().manager(
        log,
        { challenge: 'dns-01', dns: { hook: [hook, '{action}', '{name}', '{value}'], wait } },
        { identity: { commonName: 'device.example.test', sans: ['device.example.test'] } },
      );
      await made.m.start();
      return { ...made, calls };
    }

    it('a challenge that cannot succeed: CERTSWAP_ACME_CHALLENGE_FAILED with the server detail, nothing staged', async () => {
      // Our listener on another port than the one pebble validates against: pebble finds nobody.
      const port = await freePort();
      const { m, dir } = env().manager(log, { http: { port, address: '127.0.0.1' } });
      await m.start();
      const err = await expectCode(m.ensureCertificate('device'), ErrorCodes.ACME_CHALLENGE_FAILED, /http-01 for/);
      expect(err.message, 'the problem pebble reported').to.match(/connection|refused|connect/i);
      expect((await m.store('device').status()).generations).to.deep.equal([]);
      expect(await listening(port), 'the listener is closed after the failure').to.equal(false);
      await expectNoLeftovers(dir);
    });

    it('http-01 webroot that no web server serves: the challenge fails, and the token files are removed', async () => {
      const webroot = await tempDir();
      const { m } = env().manager(log, { http: { webroot } });
      await m.start();
      await expectCode(m.ensureCertificate('device'), ErrorCodes.ACME_CHALLENGE_FAILED, /http-01 for/);
      expect(await fse.readdir(webroot)).to.deep.equal([]);
    });

    it('http-01 webroot whose .well-known is a link: refused, nothing written where it points', async () => {
      const webroot = await tempDir();
      const elsewhere = await tempDir();
      await fse.symlink(elsewhere, path.join(webroot, '.well-known'));
      const { m } = env().manager(log, { http: { webroot } });
      await m.start();
      await expectCode(m.ensureCertificate('device'), ErrorCodes.PROVISION_FAILED, /is not a directory \(a link\?\)/);
      expect(await fse.readdir(elsewhere)).to.deep.equal([]);
      expect((await m.store('device').status()).generations).to.deep.equal([]);
    });

    it('dns-01 whose hook sets nothing: CERTSWAP_ACME_CHALLENGE_FAILED, and every record is cleared all the same', async () => {
      const { m, calls } = await dnsRecorder('calls', '0s');
      await expectCode(
        m.ensureCertificate('device'),
        ErrorCodes.ACME_CHALLENGE_FAILED,
        /dns-01 for device\.example\.test/,
      );
      expect((await fse.readFile(calls, 'utf8')).trim().split('\n')).to.deep.equal([
        'set _acme-challenge.device.example.test',
        'clear _acme-challenge.device.example.test',
      ]);
    });

    it('the agent stopped mid-order (SIGTERM): its waits end, the DNS record is cleared, nothing staged', async () => {
      // A propagation wait longer than any service manager's stop timeout (systemd's unit: 120 s).
      const { m, dir, calls } = await dnsRecorder('stop', '10m');
      const order = m.ensureCertificate('device').then(
        () => null,
        (err: Error & { code?: string }) => err,
      );
      try {
        await until('the record set', async () => (await fse.readFile(calls, 'utf8').catch(() => '')).includes('set'));
      } finally {
        // Also when the wait fails: the order would sit in its 10-minute wait with the record set.
        await m.stop();
      }
      const err = await order;
      expect(err?.code, err?.message).to.equal(ErrorCodes.PROVISION_FAILED);
      expect(err?.message).to.match(/stopping/);
      expect((await fse.readFile(calls, 'utf8')).trim().split('\n')).to.deep.equal([
        'set _acme-challenge.device.example.test',
        'clear _acme-challenge.device.example.test',
      ]);
      expect((await m.store('device').status()).generations).to.deep.equal([]);
      await expectNoLeftovers(dir);
    });

    it('an authorization for a name not ordered: CERTSWAP_CA_BAD_ANSWER, the dns-01 hook never run for it', async () => {
      const { m, dir, calls } = await dnsRecorder('other', '0s');
      env().proxy.authorizationFor = 'victim.example.test';
      try {
        await expectCode(m.ensureCertificate('device'), ErrorCodes.CA_BAD_ANSWER, /victim\.example\.test/);
      } finally {
        env().proxy.authorizationFor = null;
      }
      expect(await fse.readFile(calls, 'utf8').catch(() => ''), 'no record set').to.equal('');
      expect((await m.store('device').status()).generations).to.deep.equal([]);
      await expectNoLeftovers(dir);
    });

    it('a server whose TLS certificate does not chain to directoryCa: CERTSWAP_CA_REFUSED, nothing sent', async () => {
      const other = path.join(env().base, 'not-the-tls-ca.pem');
      await fse.writeFile(other, await env().pebble.root());
      const bodies = env().proxy.bodies.length;
      const { m } = env().manager(log, { directoryCa: other });
      await m.start();
      await expectCode(m.ensureCertificate('device'), ErrorCodes.CA_REFUSED, /failed TLS verification/);
      expect(env().proxy.bodies.length).to.equal(bodies);
    });

    it('a directory URL that is not one: CERTSWAP_CA_REFUSED (a wrong URL is not an outage)', async () => {
      const { m } = env().manager(log, { directory: env().proxy.directory.replace(/\/dir$/, '/no-such-directory') });
      await m.start();
      await expectCode(m.ensureCertificate('device'), ErrorCodes.CA_REFUSED, /ACME directory: .*404/);
    });

    it('terms of service not agreed: CERTSWAP_CA_REFUSED naming them, no account created', async () => {
      const { m, dir } = env().manager(log, { termsAgreed: false });
      await m.start();
      await expectCode(m.ensureCertificate('device'), ErrorCodes.CA_REFUSED, /terms of service .* termsAgreed: true/);
      await expectNoLeftovers(dir);
    });

    it('a CA that keeps authorizations pending: polls wait as Retry-After asks, and give up after 3 minutes', async () => {
      const clock = new FakeClock();
      const { m, dir } = env().manager(log, {}, {}, { clock });
      await m.start();
      env().proxy.holdAuthorizations = 40;
      const t0 = clock.now().getTime();
      try {
        await expectCode(m.ensureCertificate('device'), ErrorCodes.CA_UNAVAILABLE, /still pending after 180 s/);
      } finally {
        env().proxy.holdAuthorizations = null;
      }
      // The three authorizations read once, then the first one polled 40 s apart (the fake clock
      // runs the waits at once): at 0, 40, 80, 120 and 160 s; the next would pass 180 s.
      expect(env().proxy.held).to.equal(3 + 5);
      expect(clock.now().getTime() - t0).to.equal(160_000);
      expect(await listening(env().httpPort), 'the listener is closed after the timeout').to.equal(false);
      await expectNoLeftovers(dir);
    });

    it('pebble stopped mid-order: the agent backs off and retries, generation 1 stays, then rotates', async () => {
      const { m, dir } = env().manager(log);
      await m.start();
      await m.ensureCertificate('device');
      const store = m.store('device');
      let stopped = false;
      env().proxy.onRequest = async (url) => {
        if (!stopped && url.startsWith('/finalize-order')) {
          stopped = true;
          await env().pebble.stopPebble();
        }
      };
      const before = retries(ErrorCodes.CA_UNAVAILABLE);
      const running = m.run();
      m.renewAll();
      // The agent is stopped on every path, a pebble that fails to come back included.
      try {
        try {
          await until('three failed attempts, each retried', () => retries(ErrorCodes.CA_UNAVAILABLE) >= before + 3);
          // The failure names the network's error, not a library's TypeError.
          const failed = events
            .filter((e) => e.event === 'renew-failed' && e.code === ErrorCodes.CA_UNAVAILABLE)
            .at(-1)!;
          expect(failed.msg).to.match(/ACME server 127\.0\.0\.1:\d+: (ECONNRESET|ECONNREFUSED|socket hang up)/);
          // The active generation is unchanged, and it is the only one.
          expect((await store.status()).generations.map((g) => [g.id, g.active])).to.deep.equal([[1, true]]);
          await expectNoLeftovers(dir);
        } finally {
          env().proxy.onRequest = null;
          // A new pebble: it has forgotten the account, which the agent then creates again.
          await env().pebble.startPebble();
        }
        await until('the agent to rotate once pebble is back', async () => (await store.status()).current === 2);
      } finally {
        await m.stop();
        await running;
      }
      expect(stopped).to.equal(true);
      await expectNoLeftovers(dir);
      console.log(
        `      acme: pebble down mid-order, ${retries(ErrorCodes.CA_UNAVAILABLE) - before} failed attempts, then generation 2`,
      );
    });

    it('rateLimited with Retry-After: CERTSWAP_ACME_RATE_LIMITED, and the agent waits that long', async () => {
      const { m } = env().manager(log);
      await m.start();
      await m.ensureCertificate('device');
      env().proxy.problemOnce = { path: '/order-plz', status: 429, type: 'rateLimited', retryAfter: 2 };
      const t0 = Date.now();
      const err = (await expectCode(
        m.ensureCertificate('device', { force: true }),
        ErrorCodes.ACME_RATE_LIMITED,
        /rateLimited/,
      )) as Error & { code: string; retryAt?: string };
      expect(Date.parse(err.retryAt!)).to.be.within(t0 + 1000, Date.now() + 2000);
      // Through the loop: the retry is planned no sooner than the server's Retry-After.
      env().proxy.problemOnce = { path: '/order-plz', status: 429, type: 'rateLimited', retryAfter: 2 };
      const running = m.run();
      try {
        m.renewAll();
        await until('a rate-limited retry', () => events.some((e) => e.event === 'retry' && e.code === err.code));
        const retry = events.find((e) => e.event === 'retry' && e.code === err.code)!;
        expect(retry.retryInMs as number).to.be.greaterThan(1000);
        await until('the renewal after the wait', async () => (await m.store('device').status()).current === 2);
      } finally {
        await m.stop();
        await running;
      }
    });

    it('a trial activation whose TLS check is served the new certificate, then committed', async () => {
      const root = path.join(env().base, `root-${Date.now()}.pem`);
      await fse.writeFile(root, await env().pebble.root());
      const served: string[] = [];
      let storeDir = '';
      // The consumer: a TLS server that loads current/ at every connection, as one that reloads would.
      const server = net.createServer((raw) => {
        const current = path.join(storeDir, 'current');
        const s = new tls.TLSSocket(raw, {
          isServer: true,
          secureContext: tls.createSecureContext({
            cert: fse.readFileSync(path.join(current, 'cert.pem')),
            key: fse.readFileSync(path.join(current, 'key.pem')),
          }),
        });
        s.on('secure', () => {
          served.push(new X509Certificate(fse.readFileSync(path.join(current, 'cert.pem'))).fingerprint256);
          s.end('ok\n');
        });
        s.on('error', () => s.destroy());
      });
      const port = await listenLoopback(server);
      try {
        const { m, dir } = env().manager(
          log,
          {},
          { check: { tls: { host: '127.0.0.1', port, ca: root }, timeout: '5s' } },
        );
        storeDir = dir;
        await m.start();
        await m.ensureCertificate('device');
        await m.ensureCertificate('device', { force: true });
        const st = await m.store('device').status();
        expect(st.current).to.equal(2);
        expect(st.trial).to.equal(null);
        const g2 = st.generations.find((g) => g.id === 2)!;
        expect(served.at(-1), 'the check was served generation 2').to.equal(g2.fingerprint);
        expect(served).to.include(st.generations.find((g) => g.id === 1)!.fingerprint);
      } finally {
        server.close();
      }
    });
  });

  describe('external account binding', () => {
    const key = randomBytes(32).toString('base64url');
    const env = withAcmeEnv({ eab: { 'kid-1': key } });
    before(async () => {
      await fse.writeFile(path.join(env().base, 'eab.key'), `${key}\n`, { mode: 0o600 });
      await fse.writeFile(path.join(env().base, 'wrong.key'), `${randomBytes(32).toString('base64url')}\n`, {
        mode: 0o600,
      });
    });

    it('is required: without it, or with a wrong key, CERTSWAP_CA_REFUSED; with the right key, enrols', async () => {
      const none = env().manager(log);
      await none.m.start();
      await expectCode(none.m.ensureCertificate('device'), ErrorCodes.CA_REFUSED, /external account binding/);
      const wrong = env().manager(log, { eab: { kid: 'kid-1', hmacKeyFile: 'wrong.key' } });
      await wrong.m.start();
      await expectCode(wrong.m.ensureCertificate('device'), ErrorCodes.CA_REFUSED, /newAccount: HTTP 4\d\d/);
      expect((await wrong.m.store('device').status()).generations).to.deep.equal([]);
      const right = env().manager(log, { eab: { kid: 'kid-1', hmacKeyFile: 'eab.key' } });
      await right.m.start();
      expect((await right.m.ensureCertificate('device')).renewed?.generation).to.equal(1);
    });
  });

  describe('PEBBLE_WFE_NONCEREJECT=50', () => {
    const env = withAcmeEnv({ nonceReject: 50 });

    it('half the nonces refused with badNonce: enrolment and renewal still succeed', async () => {
      const { m } = env().manager(log);
      await m.start();
      await m.ensureCertificate('device');
      await m.ensureCertificate('device', { force: true });
      expect((await m.store('device').status()).current).to.equal(2);
      expect(env().proxy.badNonces, 'pebble refused nonces').to.be.greaterThan(3);
      console.log(`      acme: ${env().proxy.badNonces} badNonce answers retried`);
    });
  });
});
