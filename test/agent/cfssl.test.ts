/**
 * Enrolment against a real CA server: CloudFlare's cfssl from Debian's golang-cfssl, started on
 * 127.0.0.1 with an HMAC auth key. The agent makes its key, sends a CSR and stages what comes
 * back. A recording proxy sits between agent and CA: it keeps every request body sent, and can
 * substitute the CA's answer. Without cfssl the suite is skipped, except in CI.
 *
 * At the end, every file under the test's directories that the agent wrote, every log event and
 * every request body is searched for every private key the agent made: a key may appear only in
 * generations/<n>/key.pem.
 */
import { expect } from 'chai';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import { CertificateManager } from '../../src/agent/manager.js';
import { parseConfig } from '../../src/agent/config.js';
import { ErrorCodes } from '../../src/index.js';
import { freePort, until, which } from '../helpers/proc.js';
import { CfsslServer, RecordingProxy, makeCfsslCa } from '../helpers/cfssl.js';
import { runTempDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';
import { captureLog } from '../helpers/fake-clock.js';

describe('enrolment against a real cfssl CA server', function () {
  this.timeout(120_000);
  const bin = which('cfssl');
  let base: string;
  let caDir: string;
  let ca: CfsslServer;
  let proxy: RecordingProxy;
  let caCert: string;
  const { events: logEvents, log } = captureLog();
  /** Every store the agent used, for the final search. */
  const stores: string[] = [];

  before(async function () {
    if (!bin) {
      if (process.env.CI)
        throw new Error('cfssl is not installed (.ci/run installs golang-cfssl from Debian packages)');
      this.skip();
    }
    base = await runTempDir('certswap-cfssl-');
    caDir = path.join(base, 'ca-server');
    await fse.mkdirp(caDir);
    const made = await makeCfsslCa(bin, caDir, {
      default: {
        expiry: '1h',
        usages: ['digital signature', 'key encipherment', 'client auth', 'server auth'],
        auth_key: 'fleet',
      },
      // A profile without an auth key, for the unauthenticated /sign endpoint.
      profiles: { open: { expiry: '1h', usages: ['digital signature', 'client auth'] } },
    });
    caCert = made.cert;
    await fse.writeFile(path.join(base, 'auth.key'), `${made.authKey}\n`, { mode: 0o600 });
    await fse.writeFile(path.join(base, 'wrong.key'), `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
    ca = new CfsslServer(bin, caDir, await freePort());
    await ca.start();
    proxy = new RecordingProxy(ca.port);
    await proxy.start();
  });

  after(async () => {
    await ca?.stop();
    await proxy?.stop();
  });

  function manager(
    name: string,
    extra: Record<string, unknown> = {},
    cfssl: Record<string, unknown> = {},
  ): { m: CertificateManager; dir: string } {
    const dir = path.join(base, name);
    stores.push(dir);
    const config = parseConfig(
      {
        certificates: [
          {
            name: 'device',
            dir,
            identity: { commonName: 'device-42', sans: ['device-42.fleet.test', '127.0.0.1'] },
            usages: ['clientAuth'],
            retry: { initial: '100ms', max: '300ms' },
            provisioner: {
              type: 'csr',
              subject: { O: 'certswap test fleet', OU: 'devices' },
              cfssl: {
                url: `http://127.0.0.1:${proxy.port}`,
                authKeyFile: path.join(base, 'auth.key'),
                timeout: '5s',
                attempts: 2,
                backoff: '100ms',
                ...cfssl,
              },
              ...extra,
            },
          },
        ],
      },
      base,
    );
    const m = new CertificateManager(config, { log });
    return { m, dir };
  }

  const gen = (dir: string, n: number, file: string): Promise<Buffer> =>
    fse.readFile(path.join(dir, 'generations', `${n}`, file));

  it('enrols (key made on the device, CSR to cfssl authsign), then renews twice with a new key each time', async () => {
    const { m, dir } = manager('store-new-keys');
    await m.start();
    const first = await m.ensureCertificate('device');
    expect(first.renewed?.reason).to.equal('no active generation');
    for (let i = 0; i < 2; i++) await m.ensureCertificate('device', { force: true });
    const status = await m.store('device').status();
    expect(status.current).to.equal(3);
    const keys = new Set<string>();
    for (const n of [1, 2, 3]) {
      const cert = new X509Certificate(await gen(dir, n, 'cert.pem'));
      const key = await gen(dir, n, 'key.pem');
      keys.add(key.toString());
      expect(cert.checkPrivateKey(createPrivateKey(key))).to.equal(true);
      expect(cert.checkIssued(new X509Certificate(caCert))).to.equal(true);
      expect(cert.subject).to.match(/CN=device-42/);
      expect(cert.subjectAltName).to.include('DNS:device-42.fleet.test').and.include('IP Address:127.0.0.1');
      expect((await gen(dir, n, 'ca.pem')).toString()).to.equal(new X509Certificate(caCert).toString());
      expect((await fse.stat(path.join(dir, 'generations', `${n}`, 'key.pem'))).mode & 0o777).to.equal(0o600);
    }
    expect(keys.size, 'a new key on every renewal').to.equal(3);
    const signs = proxy.bodies.filter((b) => b.includes('"token"'));
    expect(signs.length).to.be.greaterThanOrEqual(3);
    console.log(
      `      cfssl: enrolment + 2 renewals, 3 generations, 3 distinct keys, ${signs.length} authsign requests`,
    );
  });

  it('enrols through the unauthenticated /sign endpoint when no auth key is configured', async () => {
    const { m, dir } = manager('store-sign', {}, { authKeyFile: undefined, profile: 'open' });
    const before = proxy.bodies.length;
    await m.start();
    await m.ensureCertificate('device');
    const cert = new X509Certificate(await gen(dir, 1, 'cert.pem'));
    expect(cert.checkPrivateKey(createPrivateKey(await gen(dir, 1, 'key.pem')))).to.equal(true);
    const sent = proxy.bodies.slice(before).map((b) => JSON.parse(b) as Record<string, unknown>);
    expect(
      sent.some((b) => typeof b.certificate_request === 'string' && b.profile === 'open' && !('token' in b)),
    ).to.equal(true);
  });

  it('keeps the key across renewals when reuseKey is set; the pair is still staged as one generation', async () => {
    const { m, dir } = manager('store-reuse', { reuseKey: true, keyType: 'P-384' });
    await m.start();
    await m.ensureCertificate('device');
    await m.ensureCertificate('device', { force: true });
    const [k1, k2] = [await gen(dir, 1, 'key.pem'), await gen(dir, 2, 'key.pem')];
    expect(k2.toString()).to.equal(k1.toString());
    expect(createPrivateKey(k1).asymmetricKeyDetails?.namedCurve).to.equal('secp384r1');
    const [c1, c2] = [
      new X509Certificate(await gen(dir, 1, 'cert.pem')),
      new X509Certificate(await gen(dir, 2, 'cert.pem')),
    ];
    expect(c1.serialNumber).to.not.equal(c2.serialNumber);
    expect(c2.checkPrivateKey(createPrivateKey(k2))).to.equal(true);
  });

  it('keeps the old generation active while the CA is down, retries, and rotates once it is back', async () => {
    const { m } = manager('store-ca-down');
    await m.start();
    await m.ensureCertificate('device');
    const store = m.store('device');
    await ca.stop();
    const failures = (): number =>
      logEvents.filter((e) => e.event === 'retry' && e.code === ErrorCodes.CA_UNAVAILABLE).length;
    const before = failures();
    const running = m.run();
    try {
      m.renewAll();
      await until('the agent to fail and retry three times', () => failures() >= before + 3);
      const st = await store.status();
      expect(st.current).to.equal(1);
      expect(st.generations.map((g) => g.id)).to.deep.equal([1]);
    } finally {
      await ca.start();
    }
    try {
      await until('the agent to rotate once the CA is back', async () => (await store.status()).current === 2);
    } finally {
      await m.stop();
      await running;
    }
    console.log(
      `      cfssl: CA down, ${failures() - before} failed attempts (each ${2} requests), generation 1 stayed active; CA back: generation 2`,
    );
  });

  it('refuses a certificate the CA issued for another key, and changes nothing', async () => {
    const { m } = manager('store-other-key');
    await m.start();
    await m.ensureCertificate('device');
    // A real certificate from the same CA, for the same identity, but for someone else's key.
    const other = manager('store-other-device');
    await other.m.start();
    await other.m.ensureCertificate('device');
    proxy.replaceCertificate = (await gen(other.dir, 1, 'cert.pem')).toString();
    try {
      await expectCode(m.ensureCertificate('device', { force: true }), ErrorCodes.CA_BAD_ANSWER, /another key/);
    } finally {
      proxy.replaceCertificate = null;
    }
    const st = await m.store('device').status();
    expect(st.current).to.equal(1);
    expect(st.generations).to.have.length(1);
  });

  it('refuses with a clear error when the auth key is wrong, and changes nothing', async () => {
    const { m } = manager('store-wrong-key');
    await m.start();
    await m.ensureCertificate('device');
    const wrong = manager('store-wrong-key', {}, { authKeyFile: path.join(base, 'wrong.key') });
    await wrong.m.start();
    const err = await expectCode(
      wrong.m.ensureCertificate('device', { force: true }),
      ErrorCodes.CA_REFUSED,
      /invalid token/,
    );
    expect(err.message).to.match(/HTTP 400/);
    expect((await m.store('device').status()).generations).to.have.length(1);
  });

  it('finds every private key the agent made only in generations/<n>/key.pem: not in other files, logs or requests', async () => {
    const keyFiles: string[] = [];
    for (const dir of stores) {
      for (const n of await fse.readdir(path.join(dir, 'generations')).catch(() => [] as string[])) {
        if (/^\d+$/.test(n)) keyFiles.push(path.join(dir, 'generations', n, 'key.pem'));
      }
    }
    expect(keyFiles.length).to.be.greaterThan(5);
    // Needles: each 64-character base64 line of each key's PEM, and its DER in hex.
    const needles = new Map<string, string>();
    for (const f of keyFiles) {
      const pem = (await fse.readFile(f)).toString();
      for (const line of pem.split('\n')) if (line.length >= 40 && !line.startsWith('-----')) needles.set(line, f);
      needles.set(createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }).toString('hex').slice(0, 64), f);
    }
    const hits: string[] = [];
    /** Records each key found in `text`; `keyFile` is the generation key file being searched, which may hold its own key. */
    const search = (where: string, text: string, keyFile?: string): void => {
      for (const [needle, owner] of needles) {
        if (!text.includes(needle)) continue;
        if (keyFile && fse.readFileSync(keyFile).equals(fse.readFileSync(owner))) continue;
        hits.push(`${where} holds the key of ${owner}`);
      }
    };
    // Files: everything the agent wrote under its stores (the CA server's own directory is not the agent's).
    let files = 0;
    for (const dir of stores) {
      for (const f of await walk(dir)) {
        files++;
        search(f, (await fse.readFile(f)).toString('latin1'), /\/generations\/\d+\/key\.pem$/.test(f) ? f : undefined);
      }
    }
    const logText = logEvents.map((e) => JSON.stringify(e)).join('\n');
    search('the log', logText);
    for (const [i, b] of proxy.bodies.entries()) {
      search(`request ${i}`, b);
      const wrapped = JSON.parse(b) as { request?: string };
      if (wrapped.request) search(`request ${i} (decoded)`, Buffer.from(wrapped.request, 'base64').toString('utf8'));
    }
    console.log(
      `      key search: ${keyFiles.length} key files, ${files} files, ${logEvents.length} log events, ${proxy.bodies.length} request bodies searched; ${hits.length} places hold a key outside generations/<n>/key.pem`,
    );
    expect(hits).to.deep.equal([]);
    // The search can fail: a key is found where it is (guards against needles that match nothing).
    const probe = (await fse.readFile(keyFiles[0]!)).toString();
    expect([...needles.keys()].some((n) => probe.includes(n))).to.equal(true);
  });
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fse.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
