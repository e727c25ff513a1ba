/**
 * Proof that the new certificate is served, against a real nginx: a reload hook that exits 0
 * without reloading (a broken `nginx -s reload` stand-in) is caught by hooks.verify, which runs it
 * again with backoff and, when the attempts run out, logs `verify-mismatch` with both
 * fingerprints; `certswap verify --served` exits 1 then. A hook that reloads only on its second
 * run is carried through by the re-runs. nginx from Debian's packages (.ci/run installs it).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { ErrorCodes } from '../../src/errors.js';
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
});
