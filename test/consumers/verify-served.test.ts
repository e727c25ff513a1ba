/**
 * Proof that the new certificate is served, against a real nginx: a reload hook that exits 0
 * without reloading (a broken `nginx -s reload` stand-in) is caught by hooks.verify, which runs it
 * again with backoff and, when the attempts run out, logs `verify-mismatch` with both
 * fingerprints; `certswap verify --served` exits 1 then. A hook that reloads only on its second
 * run is carried through by the re-runs. nginx from Debian's packages (.ci/run installs it).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import net from 'node:net';
import path from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
import { spawn } from 'node:child_process';
import { GenerationStore } from '../../src/index.js';
import { issue } from '../helpers/certs.js';
import { certswap, freePort, until } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import {
  generationFingerprint,
  probe,
  requireProgram,
  startAgent,
  stopProcess,
  type ProbeOptions,
  verifyOn,
} from '../helpers/consumer.js';
import { nginxInstance, startNginx, type Nginx } from '../helpers/nginx.js';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('hooks.verify and verify --served: a reload that did not take is caught', function () {
  this.timeout(120_000);
  let nginx: string;
  let server: Nginx | undefined;

  before(function () {
    nginx = requireProgram(this, 'nginx', ['/usr/sbin/nginx']);
  });
  afterEach(async () => {
    await stopProcess(server?.process);
    server = undefined;
  });

  it('a broken reload is retried and logged with both fingerprints; a late reload is carried through', async () => {
    const base = await tempDir();
    const storeDir = path.join(base, 'store');
    const port = await freePort();
    const args = await nginxInstance(path.join(base, 'nginx'), port, {
      cert: `${storeDir}/current/cert.pem`,
      key: `${storeDir}/current/key.pem`,
    });
    // The hook stand-in: 'broken' exits 0 and reloads nothing; 'flaky' reloads on every second run.
    const mode = path.join(base, 'hook-mode');
    const runs = path.join(base, 'hook-runs');
    const hook = path.join(base, 'reload.sh');
    await fse.writeFile(
      hook,
      `echo run >> ${runs}
case "$(cat ${mode})" in
  broken) exit 0 ;;
  flaky) [ $(( $(wc -l < ${runs}) % 2 )) -eq 0 ] || exit 0 ;;
esac
exec ${nginx} ${args.join(' ')} -s reload
`,
    );
    await fse.writeFile(mode, 'broken');
    const { manager, log } = await startAgent(base, storeDir, 'web', {
      hooks: { command: ['sh', hook], attempts: 1, verify: verifyOn(port, 4) },
    });
    try {
      // Generation 1 exists before nginx starts (nginx needs it): that first check finds no server.
      await manager.ensureCertificate('web');
      expect(log.events('verify-mismatch')[0]!.obj).to.include({ code: 'ECONNREFUSED', attempts: 4 });
      server = startNginx(nginx, args);
      const o: ProbeOptions = { port, ca: await fse.readFile(path.join(base, 'ca', 'ca.pem')), servername: 'device-1' };
      const g1 = await generationFingerprint(storeDir, 1);
      await until('nginx to serve generation 1', () =>
        probe(o).then(
          (f) => f === g1,
          () => false,
        ),
      );

      // The broken hook: run 4 times (once, then 3 re-runs), then the error with both fingerprints.
      log.entries.length = 0;
      await fse.writeFile(runs, '');
      await manager.ensureCertificate('web', { force: true });
      const g2 = await generationFingerprint(storeDir, 2);
      expect((await fse.readFile(runs, 'utf8')).split('\n').filter(Boolean)).to.have.length(4);
      expect(log.events('verify-retry').map((e) => e.obj.attempt)).to.deep.equal([1, 2, 3]);
      const [mismatch, ...more] = log.events('verify-mismatch');
      expect(more).to.deep.equal([]);
      expect(mismatch!.level).to.equal('error');
      expect(mismatch!.obj).to.include({ cert: 'web', generation: 2, expected: g2, served: g1, attempts: 4 });
      expect(await probe(o)).to.equal(g1);

      // The same check as a command: exit 1, both fingerprints named.
      const served = ['verify', '--dir', storeDir, '--served', `127.0.0.1:${port}`, '--servername', 'device-1'];
      const bad = await certswap(served);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.include(ErrorCodes.SERVED_MISMATCH).and.include(g1).and.include(g2);

      // A hook that reloads only on its second run: hooks.verify's re-run carries it through.
      log.entries.length = 0;
      await fse.writeFile(runs, '');
      await fse.writeFile(mode, 'flaky');
      await manager.ensureCertificate('web', { force: true });
      const g3 = await generationFingerprint(storeDir, 3);
      expect(log.events('verify-mismatch')).to.deep.equal([]);
      expect(log.events('verify-retry').length).to.be.greaterThanOrEqual(1);
      expect(log.events('verify')[0]!.obj).to.include({ generation: 3, expected: g3, served: g3 });
      const ok = await certswap([...served, '--json']);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(JSON.parse(ok.stdout)).to.include({ generation: 3, match: true, served: g3, expected: g3 });
      // A server that cannot be asked is a failure too, with the connection's code.
      const closed = await certswap([
        'verify',
        '--dir',
        storeDir,
        '--served',
        `127.0.0.1:${await freePort()}`,
        '--json',
      ]);
      expect([closed.code, JSON.parse(closed.stderr).error.code]).to.deep.equal([1, 'ECONNREFUSED']);
      expect((await certswap(['verify', '--dir', storeDir, '--servername', 'device-1'])).code).to.equal(2);
      expect((await certswap(['verify', '--dir', storeDir, '--served', 'nohostport'])).code).to.equal(2);
    } finally {
      await manager.stop();
    }
  });

  it('the right leaf under a wrong chain (a stale intermediate, or none) is a mismatch too', async function () {
    const openssl = requireProgram(this, 'openssl', ['/usr/bin/openssl']);
    const base = await tempDir();
    const storeDir = path.join(base, 'store');
    // root -> intermediate -> leaf; cert.pem holds the leaf and the intermediate. `stale` has the
    // intermediate's name under another key: what a chain file left from an earlier CA holds.
    const root = await issue({ ca: true, name: 'csw root' });
    const int = await issue({ ca: true, name: 'csw intermediate', issuer: root });
    const stale = await issue({ ca: true, name: 'csw intermediate', issuer: root });
    const leaf = await issue({ name: 'device-1', issuer: int });
    const store = await GenerationStore.open(storeDir);
    await store.install({
      cert: Buffer.from(leaf.certPem + int.certPem),
      key: Buffer.from(leaf.keyPem),
      ca: Buffer.from(root.certPem),
    });
    const files = { leaf: leaf.certPem, key: leaf.keyPem, int: int.certPem, stale: stale.certPem };
    for (const [name, pem] of Object.entries(files)) await fse.writeFile(path.join(base, `${name}.pem`), pem);
    // openssl s_server presents -cert's leaf followed by -cert_chain's certificates, as given.
    const chains: Array<[string, string[], number]> = [
      ['the active chain', ['-cert_chain', `${base}/int.pem`], 0],
      ['a stale intermediate', ['-cert_chain', `${base}/stale.pem`], 1],
      ['no intermediate', [], 1],
    ];
    for (const [what, chain, exit] of chains) {
      const port = await freePort();
      const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', `${base}/leaf.pem`, '-key', `${base}/key.pem`];
      const child = spawn(openssl, [...args, ...chain, '-quiet'], { stdio: 'ignore' });
      try {
        await until('openssl s_server to listen', () => listening(port));
        const r = await certswap(['verify', '--dir', storeDir, '--served', `127.0.0.1:${port}`, '--json']);
        expect(r.code, `${what}: ${r.stderr}`).to.equal(exit);
        if (exit === 0) expect(JSON.parse(r.stdout)).to.include({ match: true });
        else expect(JSON.parse(r.stderr).error.code, what).to.equal(ErrorCodes.SERVED_MISMATCH);
      } finally {
        await stopProcess(child);
      }
    }
  });
});
