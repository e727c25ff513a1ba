/**
 * A real HAProxy (Debian's) in master-worker mode reading `current/bundle.pem` (key, leaf and
 * chain in one file: its `crt`), reloaded through its master socket by the agent's hook, with
 * hooks.verify checking after each reload that the new certificate is served. 10 rotations, a
 * client handshaking throughout: 0 failed handshakes, only activated certificates served.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fse from 'fs-extra';
import path from 'node:path';
import { freePort } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { followRotations, report, requireProgram, startAgent, stopProcess, verifyOn } from '../helpers/consumer.js';

const ROTATIONS = 10;

/** The hook: one `reload` on HAProxy's master CLI, waiting for the master to close the connection. */
const RELOAD = `
const s = require('net').connect(process.argv[1], () => s.end('reload\\n'));
s.on('data', () => {}); s.on('close', (err) => process.exit(err ? 1 : 0)); s.on('error', () => process.exit(1));
`;

describe('HAProxy serving current/bundle.pem, reloaded through its master socket', function () {
  this.timeout(120_000);
  let haproxy: string;
  let master: ChildProcess | undefined;

  before(function () {
    haproxy = requireProgram(this, 'haproxy', ['/usr/sbin/haproxy']);
  });
  afterEach(async () => {
    await stopProcess(master);
    master = undefined;
  });

  it(`follows ${ROTATIONS} rotations with 0 failed handshakes`, async () => {
    const base = await tempDir();
    const storeDir = path.join(base, 'store');
    const socket = path.join(base, 'master.sock');
    const port = await freePort();
    const cfg = path.join(base, 'haproxy.cfg');
    await fse.writeFile(
      cfg,
      `global
  log stderr format raw local0 warning
defaults
  mode http
  log global
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend tls
  bind 127.0.0.1:${port} ssl crt ${storeDir}/current/bundle.pem
  http-request return status 200 content-type text/plain string "ok\\n"
`,
    );
    const { manager, log } = await startAgent(base, storeDir, 'lb', {
      formats: ['bundle'],
      hooks: { command: [process.execPath, '-e', RELOAD, socket], verify: verifyOn(port) },
    });
    let stderr = '';
    try {
      await manager.ensureCertificate('lb');
      // Its own process group: stopProcess then signals the master and its workers together.
      master = spawn(haproxy, ['-W', '-S', socket, '-f', cfg, '-p', path.join(base, 'haproxy.pid')], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      master.stderr!.on('data', (d) => (stderr += d));
      const ca = await fse.readFile(path.join(base, 'ca', 'ca.pem'));
      const request = 'GET / HTTP/1.0\r\nHost: device-1\r\n\r\n';
      log.entries.length = 0;
      const stats = await followRotations(manager, 'lb', storeDir, ROTATIONS, {
        port,
        ca,
        servername: 'device-1',
        request,
      });
      report('haproxy', ROTATIONS, stats, log);
      // Every reload was proven by hooks.verify (a re-run is allowed: a reload takes a moment).
      expect(log.events('verify-mismatch')).to.deep.equal([]);
      expect(log.events('verify').length).to.equal(ROTATIONS);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nhaproxy: ${stderr}`, { cause: err });
    } finally {
      await manager.stop();
    }
  });
});
