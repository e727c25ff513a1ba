/**
 * A real nginx reading the pair through `current/`: the agent rotates 20 times with the hook
 * running `nginx -s reload`; after each activation a real TLS client must be served the new
 * certificate, and a client loop handshaking throughout must never fail.
 * nginx comes from Debian's packages (.ci/run installs it); without it the suite is skipped,
 * except in CI, where a missing nginx is a failure.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import tls from 'node:tls';
import { CertificateManager } from '../../src/agent/manager.js';
import { parseConfig } from '../../src/agent/config.js';
import { freePort, until, which } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { nginxInstance } from '../helpers/nginx.js';

const ROTATIONS = 20;

interface Handshake {
  fingerprint: string;
  status: string;
}

/** One TLS handshake and one HTTP request, verified against `ca`; rejects on any failure. */
function handshake(port: number, ca: Buffer): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'device-1' });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    let fingerprint = '';
    let body = '';
    socket.on('secureConnect', () => {
      fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
      socket.write('GET / HTTP/1.0\r\nHost: device-1\r\n\r\n');
    });
    socket.on('data', (d) => (body += d));
    socket.on('end', () => resolve({ fingerprint, status: body.split('\r\n')[0] ?? '' }));
    socket.on('error', reject);
  });
}

describe('nginx serving <store>/current, reloaded by the activation hook', function () {
  this.timeout(300_000);
  const nginx = which('nginx') ?? ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => fse.existsSync(p)) ?? null;
  let master: ChildProcess | undefined;

  before(function () {
    if (!nginx) {
      if (process.env.CI) throw new Error('nginx is not installed (.ci/run installs it from Debian packages)');
      this.skip();
    }
  });
  afterEach(async () => {
    if (master && master.exitCode === null) {
      master.kill('SIGTERM');
      await new Promise((r) => master!.once('exit', r));
    }
    master = undefined;
  });

  it(`follows ${ROTATIONS} rotations; a client handshaking throughout never fails`, async () => {
    const base = await tempDir();
    const prefix = path.join(base, 'nginx');
    const storeDir = path.join(base, 'store');
    const port = await freePort();
    const nginxArgs = await nginxInstance(prefix, port, {
      cert: `${storeDir}/current/cert.pem`,
      key: `${storeDir}/current/key.pem`,
    });
    const config = parseConfig(
      {
        certificates: [
          {
            name: 'web',
            dir: storeDir,
            identity: { commonName: 'device-1', sans: ['device-1', '127.0.0.1'] },
            usages: ['serverAuth'],
            provisioner: { type: 'local-ca', caDir: path.join(base, 'ca'), lifetime: '10d' },
            hooks: { command: [nginx!, ...nginxArgs, '-s', 'reload'], attempts: 3 },
            keep: 3,
          },
        ],
      },
      base,
    );
    const manager = new CertificateManager(config);
    await manager.start();
    const first = await manager.ensureCertificate('web');
    expect(first.renewed).to.not.equal(null);

    let nginxErr = '';
    master = spawn(nginx!, nginxArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    master.stderr!.on('data', (d) => (nginxErr += d));
    const ca = await fse.readFile(path.join(base, 'ca', 'ca.pem'));
    await until('nginx to serve', async () => {
      if (master!.exitCode !== null) throw new Error(`nginx exited: ${nginxErr}`);
      return handshake(port, ca).then(
        () => true,
        () => false,
      );
    });

    // The bounded client loop: back-to-back handshakes until the rotations are done.
    let rotating = true;
    const loop = { handshakes: 0, failures: 0, errors: [] as string[], served: new Set<string>() };
    const client = (async () => {
      while (rotating) {
        try {
          const h = await handshake(port, ca);
          loop.handshakes++;
          loop.served.add(h.fingerprint);
          if (h.status !== 'HTTP/1.1 200 OK') throw new Error(`answer ${JSON.stringify(h.status)}`);
        } catch (err) {
          loop.failures++;
          if (loop.errors.length < 5) loop.errors.push(String(err));
        }
      }
    })();

    const activated = [
      new X509Certificate(await fse.readFile(path.join(storeDir, 'generations', '1', 'cert.pem'))).fingerprint256,
    ];
    let probes = 0;
    for (let i = 1; i <= ROTATIONS; i++) {
      const r = await manager.ensureCertificate('web', { force: true });
      expect(r.generation).to.equal(i + 1);
      const want = new X509Certificate(
        await fse.readFile(path.join(storeDir, 'generations', `${r.generation}`, 'cert.pem')),
      ).fingerprint256;
      activated.push(want);
      // The hook has signalled nginx; a new handshake must be served the new certificate.
      await until(`nginx to serve generation ${r.generation}`, async () => {
        probes++;
        return (await handshake(port, ca)).fingerprint === want;
      });
    }
    rotating = false;
    await client;
    await manager.stop();

    console.log(
      `      nginx: ${ROTATIONS} rotations, each served after its reload (${probes} probe handshakes); ` +
        `client loop: ${loop.handshakes} handshakes, ${loop.failures} failures, ${loop.served.size} distinct certificates seen`,
    );
    expect(loop.errors).to.deep.equal([]);
    expect(loop.failures).to.equal(0);
    expect(loop.handshakes).to.be.greaterThan(ROTATIONS);
    // Every certificate the loop was served was one the store activated: never anything else.
    for (const f of loop.served) expect(activated).to.include(f);
    expect(loop.served.size).to.be.greaterThan(1);
  });
});
