/**
 * Enrolment over ACME against the real Debian pebble (with pebble-challtestsrv answering its DNS
 * queries): every challenge type, renewals with a new key and with the same key, and what is left
 * afterwards (nothing listening, no token file, no TXT record, the account in `.acme/`). Pebble
 * is reached through test/helpers/acme-proxy.ts, which here only records the request bodies.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import fse from 'fs-extra';
import http from 'node:http';
import path from 'node:path';
import { captureLog } from '../helpers/fake-clock.js';
import { tempDir } from '../helpers/tmp.js';
import { closeServer, listenLoopback, listening } from '../helpers/servers.js';
import { NAMES, withAcmeEnv } from './acme-env.js';

describe('acme: enrolment and renewal against pebble', function () {
  this.timeout(60_000);
  const env = withAcmeEnv();
  const { events, log } = captureLog();

  /** Generation n of `dir`: issued by pebble's intermediate, for our key and names, chain stored. */
  async function expectIssued(dir: string, n: number): Promise<X509Certificate> {
    const chain = (await env().gen(dir, n, 'cert.pem')).toString();
    const certs = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    expect(certs, 'leaf and intermediate').to.have.length(2);
    const leaf = new X509Certificate(certs[0]!);
    const intermediate = new X509Certificate(await env().pebble.intermediate());
    expect(new X509Certificate(certs[1]!).fingerprint256).to.equal(intermediate.fingerprint256);
    expect(leaf.checkIssued(intermediate) && leaf.verify(intermediate.publicKey)).to.equal(true);
    expect(leaf.checkPrivateKey(createPrivateKey(await env().gen(dir, n, 'key.pem')))).to.equal(true);
    expect(leaf.subjectAltName?.split(', ').sort()).to.deep.equal(
      ['DNS:device.example.test', 'DNS:device-alt.example.test', 'IP Address:127.0.0.1'].sort(),
    );
    // openssl agrees: the stored chain leads to pebble's root.
    const root = path.join(await tempDir(), 'root.pem');
    await fse.writeFile(root, await env().pebble.root());
    const file = path.join(dir, 'generations', `${n}`, 'cert.pem');
    const v = spawnSync('openssl', ['verify', '-CAfile', root, '-untrusted', file, file], { encoding: 'utf8' });
    expect(v.status, v.stderr).to.equal(0);
    return leaf;
  }

  it('http-01 standalone: enrols, keeps the account in .acme/ (0700, key 0600), closes its listener', async () => {
    const { m, dir } = env().manager(log);
    await m.start();
    const r = await m.ensureCertificate('device');
    expect(r.renewed?.generation).to.equal(1);
    await expectIssued(dir, 1);
    const acme = path.join(dir, '.acme');
    expect((await fse.lstat(acme)).mode & 0o7777).to.equal(0o700);
    expect((await fse.lstat(path.join(acme, 'account-key.pem'))).mode & 0o7777).to.equal(0o600);
    expect(await fse.readdir(acme)).to.deep.equal(['account-key.pem']);
    expect(await listening(env().httpPort), 'the http-01 listener is closed').to.equal(false);
    expect((await fse.readdir(dir)).filter((e) => e.startsWith('.provision-'))).to.deep.equal([]);
  });

  it('renews with a new key, then with reuseKey keeps it; the account is reused', async () => {
    const { m, dir } = env().manager(log, { reuseKey: true });
    await m.start();
    await m.ensureCertificate('device');
    const account = await fse.readFile(path.join(dir, '.acme', 'account-key.pem'));
    await m.ensureCertificate('device', { force: true });
    const [c1, c2] = [await expectIssued(dir, 1), await expectIssued(dir, 2)];
    expect(c2.serialNumber).to.not.equal(c1.serialNumber);
    expect((await env().gen(dir, 2, 'key.pem')).equals(await env().gen(dir, 1, 'key.pem'))).to.equal(true);
    expect((await fse.readFile(path.join(dir, '.acme', 'account-key.pem'))).equals(account)).to.equal(true);

    const fresh = env().manager(log);
    await fresh.m.start();
    await fresh.m.ensureCertificate('device');
    await fresh.m.ensureCertificate('device', { force: true });
    await expectIssued(fresh.dir, 2);
    expect((await env().gen(fresh.dir, 2, 'key.pem')).equals(await env().gen(fresh.dir, 1, 'key.pem'))).to.equal(false);
  });

  it('http-01 webroot: the token is served by a web server from the webroot, and removed afterwards', async () => {
    const webroot = await tempDir();
    const served: string[] = [];
    // The web server already on the device: a tiny static server of the webroot.
    const web = http.createServer((req, res) => {
      const file = path.join(webroot, path.normalize(decodeURIComponent(req.url ?? '/')));
      fse.readFile(file).then(
        (data) => {
          served.push(req.url!);
          res.end(data);
        },
        () => res.writeHead(404).end(),
      );
    });
    await listenLoopback(web, env().httpPort);
    try {
      const { m, dir } = env().manager(log, { http: { webroot } });
      await m.start();
      await m.ensureCertificate('device');
      await expectIssued(dir, 1);
    } finally {
      await closeServer(web);
    }
    expect(served.length, 'pebble fetched the tokens from the web server').to.be.greaterThanOrEqual(NAMES.length);
    expect(served.every((u) => u.startsWith('/.well-known/acme-challenge/'))).to.equal(true);
    expect(await fse.readdir(webroot), 'token files and the directories made for them removed').to.deep.equal([]);
  });

  it('tls-alpn-01: enrols through a standalone acme-tls/1 listener, closed afterwards', async () => {
    const { m, dir } = env().manager(log, { challenge: 'tls-alpn-01' });
    await m.start();
    await m.ensureCertificate('device');
    await expectIssued(dir, 1);
    expect(await listening(env().tlsPort)).to.equal(false);
  });

  it('dns-01: the hook sets each TXT record through challtestsrv and clears it afterwards', async () => {
    const hook = await env().pebble.dnsHook();
    const { m, dir } = env().manager(
      log,
      { challenge: 'dns-01', dns: { hook: hook.argv, wait: '0s' } },
      // dns-01 cannot validate an IP address (RFC 8738 §7): DNS names only.
      { identity: { commonName: NAMES[0], sans: NAMES.slice(0, 2) } },
    );
    await m.start();
    await m.ensureCertificate('device');
    const leaf = new X509Certificate(await env().gen(dir, 1, 'cert.pem'));
    expect(leaf.subjectAltName).to.equal('DNS:device.example.test, DNS:device-alt.example.test');
    const calls = (await fse.readFile(hook.calls, 'utf8')).trim().split('\n').sort();
    expect(calls).to.deep.equal(
      [
        'clear _acme-challenge.device-alt.example.test',
        'clear _acme-challenge.device.example.test',
        'set _acme-challenge.device-alt.example.test',
        'set _acme-challenge.device.example.test',
      ].sort(),
    );
    const dns = new Resolver();
    dns.setServers([`127.0.0.1:${env().pebble.dnsPort}`]);
    for (const name of NAMES.slice(0, 2)) {
      expect(await dns.resolveTxt(`_acme-challenge.${name}`).catch(() => [])).to.deep.equal([]);
    }
  });

  it('finds every private key made only in its own file: generations/<n>/key.pem, the account key in .acme/', async () => {
    const owned = new Map<string, string>();
    for (const dir of env().stores) {
      const gens = await fse.readdir(path.join(dir, 'generations')).catch(() => [] as string[]);
      for (const n of gens) owned.set(path.join(dir, 'generations', n, 'key.pem'), 'generation');
      const account = path.join(dir, '.acme', 'account-key.pem');
      if (await fse.pathExists(account)) owned.set(account, 'account');
    }
    expect([...owned.values()].filter((v) => v === 'account').length).to.be.greaterThanOrEqual(5);
    // Each key as its PEM, and its private scalar raw, in hex, base64 and as a JWK carries it. A key
    // kept by reuseKey is in two generations' key.pem: both are its own files.
    const needles = new Map<string, Set<string>>();
    const add = (needle: string, file: string): void => {
      needles.set(needle, (needles.get(needle) ?? new Set()).add(file));
    };
    for (const file of owned.keys()) {
      const pem = (await fse.readFile(file)).toString();
      // Not every PEM line: the last ones carry the public key, which the certificate holds too.
      const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
      add(body[0]!, file);
      add(body.join(''), file);
      const d = (createPrivateKey(pem).export({ format: 'jwk' }) as { d: string }).d;
      const raw = Buffer.from(d, 'base64url');
      for (const form of [d, raw.toString('hex'), raw.toString('latin1'), raw.toString('base64')]) add(form, file);
    }
    const hits: string[] = [];
    const search = (where: string, text: string): void => {
      for (const [needle, files] of needles) {
        if (text.includes(needle) && !files.has(where)) hits.push(`${where} holds ${[...files][0]}`);
      }
    };
    // The search can fail: a copy of a key anywhere else is found.
    search('a planted copy', (await fse.readFile([...owned.keys()][0]!)).toString());
    expect(hits.length).to.be.greaterThan(0);
    hits.length = 0;
    const walk = async (dir: string): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await fse.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...(await walk(p)));
        else if (e.isFile()) out.push(p);
      }
      return out;
    };
    const files = [...(await walk(env().base)), ...(await walk(env().pebble.dir))];
    for (const f of files) {
      const bytes = await fse.readFile(f);
      search(f, bytes.toString('latin1'));
      search(f, bytes.toString('hex'));
    }
    for (const e of events) search('a log event', JSON.stringify(e));
    for (const b of env().proxy.bodies) search('a request body', b);
    expect(hits).to.deep.equal([]);
    console.log(
      `      acme key search: ${owned.size} key files, ${files.length} files, ${events.length} log events, ` +
        `${env().proxy.bodies.length} request bodies and payloads; 0 places hold a key outside its file`,
    );
  });
});
