import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { CertificateManager } from '../../src/agent/manager.js';
import { parseConfig, type AgentConfig } from '../../src/agent/config.js';
import { fsOps } from '../../src/io/fs.js';
import type { GenerationStore } from '../../src/index.js';
import { makePair, DAY_MS } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';
import { FakeClock, captureLog } from '../helpers/fake-clock.js';

async function setup(
  extra: Record<string, unknown> = {},
  provisioner?: Record<string, unknown>,
): Promise<{ config: AgentConfig; base: string }> {
  const base = await tempDir();
  const config = parseConfig(
    {
      certificates: [
        {
          name: 'device',
          dir: 'store',
          identity: { commonName: 'device-1', sans: ['device-1', '127.0.0.1'] },
          usages: ['clientAuth', 'serverAuth'],
          provisioner: provisioner ?? { type: 'local-ca', caDir: 'ca', lifetime: '10d' },
          retry: { initial: '1s', max: '1m' },
          ...extra,
        },
      ],
    },
    base,
  );
  return { config, base };
}

async function started(config: AgentConfig, clock = new FakeClock()) {
  const { events, log } = captureLog();
  const m = new CertificateManager(config, { clock, log, random: () => 0.5 });
  await m.start();
  return { m, clock, events, store: m.store('device') };
}

async function active(store: GenerationStore): Promise<number | null> {
  return (await store.status()).current;
}

/** A shell provisioner that writes the given pair. */
async function writesPair(cert: Buffer, key: Buffer): Promise<Record<string, unknown>> {
  const dir = await tempDir();
  await fse.writeFile(path.join(dir, 'c'), cert);
  await fse.writeFile(path.join(dir, 'k'), key);
  return {
    type: 'command',
    command: ['sh', '-c', `cp ${dir}/c "$CERTSWAP_CERT_PATH" && cp ${dir}/k "$CERTSWAP_KEY_PATH"`],
    timeout: '10s',
  };
}

describe('CertificateManager', function () {
  this.timeout(60_000);

  it('installs when nothing is active, then waits for the renewal point in the 70-90% window', async () => {
    const { config } = await setup();
    const { m, clock, store, events } = await started(config);
    const first = await m.ensureCertificate('device');
    expect(first.renewed).to.include({ generation: 1, reason: 'no active generation' });
    const again = await m.ensureCertificate('device');
    expect(again.renewed).to.equal(null);
    const life = 10 * DAY_MS;
    const at = again.nextRenewal.getTime() - (clock.t - 60_000);
    expect(at).to.be.within(0.7 * life - 120_000, 0.9 * life);
    clock.t = again.nextRenewal.getTime() + 1;
    const renewed = await m.ensureCertificate('device');
    expect(renewed.renewed).to.include({ generation: 2, reason: 'renewal due' });
    expect(await active(store)).to.equal(2);
    expect(events.filter((e) => e.event === 'rotated').map((e) => e.generation)).to.deep.equal([1, 2]);
  });

  it('renews at once when expired, when the key does not match, when the identity changed, and on demand', async () => {
    const { config, base } = await setup();
    const { m, clock, store } = await started(config);
    await m.ensureCertificate('device');
    clock.advance(11 * DAY_MS);
    expect((await m.ensureCertificate('device')).renewed?.reason).to.equal('CERTSWAP_EXPIRED');
    await fse.writeFile(path.join(store.generationDir(2), 'key.pem'), (await makePair()).key);
    expect((await m.ensureCertificate('device')).renewed?.reason).to.equal('CERTSWAP_KEY_MISMATCH');
    expect((await m.ensureCertificate('device', { force: true })).renewed?.reason).to.equal('forced');
    const changed = parseConfig(
      { certificates: [{ ...JSON.parse(JSON.stringify(configRaw(base))), identity: { commonName: 'device-2' } }] },
      base,
    );
    const m2 = new CertificateManager(changed, { clock });
    await m2.start();
    expect((await m2.ensureCertificate('device')).renewed?.reason).to.equal('identity changed');
    const s = await store.status();
    expect(s.current).to.equal(5);
    expect(s.generations.map((g) => g.id)).to.deep.equal([3, 4, 5]); // keep 3
  });

  it('issues every renewal with a fresh key from a CA created on first use (key 0600), verified by openssl', async () => {
    const { config, base } = await setup();
    const { m, store } = await started(config, new FakeClock(Date.now()));
    await m.ensureCertificate('device');
    await m.ensureCertificate('device', { force: true });
    expect((await fse.stat(path.join(base, 'ca', 'ca-key.pem'))).mode & 0o777).to.equal(0o600);
    expect((await fse.stat(path.join(base, 'ca'))).mode & 0o777).to.equal(0o700);
    const k1 = await fse.readFile(path.join(store.generationDir(1), 'key.pem'));
    const k2 = await fse.readFile(path.join(store.generationDir(2), 'key.pem'));
    expect(k1.equals(k2)).to.equal(false);
    const cert = path.join(store.generationDir(2), 'cert.pem');
    expect(
      execFileSync('openssl', ['verify', '-CAfile', path.join(base, 'ca', 'ca.pem'), cert], {
        encoding: 'utf8',
      }).trim(),
    ).to.equal(`${cert}: OK`);
    const x = new X509Certificate(await fse.readFile(cert));
    expect(x.subjectAltName).to.equal('DNS:device-1, IP Address:127.0.0.1');
    expect(x.keyUsage).to.include.members(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  describe('every failure leaves the old generation active', () => {
    async function withOne(extra: Record<string, unknown>, provisioner?: Record<string, unknown>) {
      const { config } = await setup();
      const s = await started(config);
      await s.m.ensureCertificate('device');
      const { config: bad } = await setup(extra, provisioner);
      bad.certificates[0]!.dir = config.certificates[0]!.dir;
      const b = await started(bad, s.clock);
      return b;
    }

    async function failsWith(b: Awaited<ReturnType<typeof withOne>>, code: string, mention?: RegExp): Promise<void> {
      await expectCode(b.m.ensureCertificate('device', { force: true }), code, mention);
      expect(b.events.filter((e) => e.event === 'renew-failed').at(-1)).to.include({ cert: 'device', code });
      expect(await active(b.store)).to.equal(1);
      expect((await b.store.status()).trial).to.equal(null);
      const leftovers = (await fse.readdir(b.store.dir)).filter(
        (n) => n.startsWith('.provision-') || n.includes('.tmp-'),
      );
      expect(leftovers).to.deep.equal([]);
      expect((await fse.readdir(path.join(b.store.dir, 'generations'))).filter((n) => n.startsWith('.'))).to.deep.equal(
        [],
      );
    }

    it('the provisioner fails: its stderr is in the error', async () => {
      await failsWith(
        await withOne({}, { type: 'command', command: ['sh', '-c', 'echo CA unreachable >&2; exit 3'] }),
        'CERTSWAP_PROVISION_FAILED',
        /exit 3: CA unreachable/,
      );
    });

    it('the provisioner writes nothing, or takes too long', async () => {
      await failsWith(
        await withOne({}, { type: 'command', command: ['true'] }),
        'CERTSWAP_PROVISION_FAILED',
        /wrote no certificate/,
      );
      await failsWith(
        await withOne({}, { type: 'command', command: ['sleep', '5'], timeout: '200ms' }),
        'CERTSWAP_PROVISION_FAILED',
        /timed out/,
      );
    });

    it('the provisioner returns a mismatched, an expired, or a wrongly named pair', async () => {
      const a = await makePair({ name: 'device-1', sans: ['device-1', '127.0.0.1'] });
      const b = await makePair({ name: 'device-1' });
      await failsWith(await withOne({}, await writesPair(a.cert, b.key)), 'CERTSWAP_KEY_MISMATCH');
      const old = await makePair({
        name: 'device-1',
        notBefore: new Date(Date.now() - 3 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      });
      await failsWith(await withOne({}, await writesPair(old.cert, old.key)), 'CERTSWAP_EXPIRED');
      const other = await makePair({ name: 'device-9' });
      await failsWith(await withOne({}, await writesPair(other.cert, other.key)), 'CERTSWAP_NAME_MISMATCH');
    });

    it('activation fails (EIO on the rename of current)', async () => {
      const b = await withOne({});
      const real = fsOps.rename;
      fsOps.rename = async (from, to) => {
        if (to.endsWith('/current')) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return real(from, to);
      };
      try {
        await failsWith(b, 'EIO');
      } finally {
        fsOps.rename = real;
      }
    });

    it('the post-activation check fails or times out: rolled back, with the rollback hook run', async () => {
      const out = path.join(await tempDir(), 'hook.log');
      const hooks = { command: ['sh', '-c', `echo "$CERTSWAP_EVENT $CERTSWAP_GENERATION" >> ${out}`] };
      const b = await withOne({ check: { command: ['sh', '-c', 'echo handshake refused >&2; exit 1'] }, hooks });
      await failsWith(b, 'CERTSWAP_CHECK_FAILED', /handshake refused/);
      expect(b.events.find((e) => e.event === 'rollback' && 'failed' in e)).to.include({
        failed: 2,
        generation: 1,
        code: 'CERTSWAP_CHECK_FAILED',
      });
      expect(await fse.readFile(out, 'utf8')).to.equal('rollback 1\n');
      await failsWith(
        await withOne({ check: { command: ['sleep', '5'], timeout: '300ms' } }),
        'CERTSWAP_CHECK_FAILED',
        /timed out/,
      );
    });

    it('a trial left pending (its rollback failed) is rolled back before the next renewal', async () => {
      const b = await withOne({});
      await b.store.stage(await makePair({ name: 'device-1', sans: ['device-1', '127.0.0.1'] }));
      await b.store.activate(2, { trial: true });
      const r = await b.m.ensureCertificate('device', { force: true });
      expect(r.renewed?.generation).to.equal(3);
      expect(b.events.find((e) => typeof e.msg === 'string' && /trial left pending/.test(e.msg))).to.include({
        generation: 1,
      });
    });

    it('a crash before the commit is rolled back by the next start', async () => {
      const b = await withOne({});
      await b.store.stage(await makePair({ name: 'device-1', sans: ['device-1', '127.0.0.1'] }));
      await b.store.activate(2, { trial: true }); // the agent died here, before its check passed
      const { events } = await started(b.m.config, b.clock);
      expect(await active(b.store)).to.equal(1);
      expect(events.find((e) => e.event === 'recover' && e.cert === 'device')).to.deep.include({
        trialRolledBack: { from: 2, to: 1 },
      });
    });
  });

  it('a passing check commits, and the activation hook signals the pid file', async () => {
    const dir = await tempDir();
    const pidFile = path.join(dir, 'consumer.pid');
    const got = path.join(dir, 'got-hup');
    const { spawn } = await import('node:child_process');
    const consumer = spawn(process.execPath, [
      '-e',
      `process.on('SIGHUP', () => { require('fs').writeFileSync(${JSON.stringify(got)}, 'hup'); process.exit(0); }); console.log('ready'); setInterval(() => {}, 1000);`,
    ]);
    const exited = new Promise((r) => consumer.once('exit', r));
    await new Promise((r) => consumer.stdout.once('data', r));
    await fse.writeFile(pidFile, `${consumer.pid}\n`);
    const { config } = await setup({
      check: { command: ['sh', '-c', 'test -s "$CERTSWAP_CERT" && test -s "$CERTSWAP_KEY"'] },
      hooks: { pidFile },
    });
    const { m, store } = await started(config);
    expect((await m.ensureCertificate('device')).renewed?.generation).to.equal(1);
    expect((await store.status()).trial).to.equal(null);
    await exited;
    expect(await fse.readFile(got, 'utf8')).to.equal('hup');
  });

  it('run() retries a failing provisioner with backoff, then rotates on schedule until stopped', async () => {
    const dir = await tempDir();
    const counter = path.join(dir, 'n');
    // Fails twice, then issues with openssl: a real `command` provisioner.
    const script = [
      `n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}`,
      `[ "$n" -ge 2 ] || { echo "attempt $n refused" >&2; exit 1; }`,
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTSWAP_KEY_PATH" -out "$CERTSWAP_CERT_PATH" -subj "/CN=device-1" -days 1 -addext "subjectAltName=DNS:device-1,IP:127.0.0.1" -addext "extendedKeyUsage=clientAuth,serverAuth" 2>/dev/null',
    ].join('\n');
    const { config } = await setup({}, { type: 'command', command: ['sh', '-c', script] });
    const { m, events } = await started(config, new FakeClock(Date.now()));
    const running = m.run();
    while (events.filter((e) => e.event === 'rotated').length < 3) await new Promise((r) => setTimeout(r, 20));
    await m.stop();
    await running;
    const failed = events.filter((e) => e.event === 'retry');
    expect(failed.map((e) => e.attempt)).to.deep.equal([1, 2]);
    expect(failed[1]!.retryInMs as number).to.be.greaterThan(failed[0]!.retryInMs as number);
    expect(
      events
        .filter((e) => e.event === 'rotated')
        .map((e) => e.generation)
        .slice(0, 3),
    ).to.deep.equal([1, 2, 3]);
  });
});

function configRaw(base: string): Record<string, unknown> {
  return {
    name: 'device',
    dir: path.join(base, 'store'),
    identity: { commonName: 'device-1', sans: ['device-1', '127.0.0.1'] },
    usages: ['clientAuth', 'serverAuth'],
    provisioner: { type: 'local-ca', caDir: path.join(base, 'ca'), lifetime: '10d' },
  };
}
