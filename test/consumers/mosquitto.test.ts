/**
 * A real mosquitto (Debian's) running as its own user, a member of the certificate's group, and
 * reading `current/cert.pem` and `current/key.pem` through that group (key 0640 root:group,
 * directories 0710): started as root, it drops to that user (`user` in its configuration) as the
 * Debian service does, and every SIGHUP reload reads the new generation as that user. The agent
 * signals it through a pid file (written here by the test, root's, as a service manager would),
 * and hooks.verify proves each reload. 10 rotations, TLS handshakes from Node throughout: 0
 * failures, only activated certificates served. Needs root (useradd, groupadd).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fse from 'fs-extra';
import path from 'node:path';
import { freePort } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { addGroup, addUser, isRoot, removeGroup, removeUser, type Group, type User } from '../helpers/users.js';
import { followRotations, report, requireProgram, startAgent, stopProcess, verifyOn } from '../helpers/consumer.js';

const ROTATIONS = 10;

describe('mosquitto running as its own user, reading the key through the group', function () {
  this.timeout(120_000);
  let mosquitto: string;
  let broker: ChildProcess | undefined;
  let group: Group | undefined;
  let user: User | undefined;

  before(function () {
    mosquitto = requireProgram(this, 'mosquitto', ['/usr/sbin/mosquitto']);
    if (!isRoot()) {
      if (process.env.CI) throw new Error('this test makes a user and a group: run it as root');
      this.skip();
    }
    group = addGroup('csw-mqtt-');
    user = addUser('csw-mosquitto-', [group.name]);
  });
  afterEach(async () => {
    await stopProcess(broker);
    broker = undefined;
  });
  after(() => {
    if (user) removeUser(user);
    if (group) removeGroup(group);
  });

  it(`follows ${ROTATIONS} rotations, reloaded by SIGHUP, with 0 failed handshakes`, async () => {
    const base = await tempDir();
    await fse.chmod(base, 0o755);
    const storeDir = path.join(base, 'store');
    const pidFile = path.join(base, 'mosquitto.pid');
    const port = await freePort();
    const conf = path.join(base, 'mosquitto.conf');
    await fse.writeFile(
      conf,
      `user ${user!.name}
log_dest stderr
log_type error
log_type warning
persistence false
listener ${port} 127.0.0.1
certfile ${storeDir}/current/cert.pem
keyfile ${storeDir}/current/key.pem
`,
    );
    const { manager, log } = await startAgent(base, storeDir, 'broker', {
      access: { group: group!.name },
      hooks: { pidFile, signal: 'SIGHUP', verify: verifyOn(port) },
    });
    let stderr = '';
    try {
      await manager.ensureCertificate('broker');
      // That first hook found no broker yet (it needs generation 1 to start): not counted below.
      log.entries.length = 0;
      broker = spawn(mosquitto, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      broker.stderr!.on('data', (d) => (stderr += d));
      await fse.writeFile(pidFile, `${broker.pid}\n`, { mode: 0o644 });
      const ca = await fse.readFile(path.join(base, 'ca', 'ca.pem'));
      const stats = await followRotations(manager, 'broker', storeDir, ROTATIONS, { port, ca, servername: 'device-1' });

      // It ran as the consumer's user throughout, and could only have read the key through the group.
      const status = await fse.readFile(`/proc/${broker.pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)![1]).to.equal(String(user!.uid));
      expect(/^Groups:\s+(.*)$/m.exec(status)![1]!.split(/\s+/)).to.include(String(group!.gid));
      const key = await fse.stat(path.join(storeDir, 'current', 'key.pem'));
      expect([(key.mode & 0o777).toString(8), key.uid, key.gid]).to.deep.equal(['640', 0, group!.gid]);
      expect(log.events('verify-mismatch')).to.deep.equal([]);
      expect(log.events('verify').length).to.equal(ROTATIONS);
      report(`mosquitto (uid ${user!.uid})`, ROTATIONS, stats, log);
    } catch (err) {
      // Each probe hangs up after the handshake, which mosquitto logs as an error: left out.
      const lines = stderr.split('\n').filter((l) => !l.includes('unexpected eof'));
      throw new Error(`${(err as Error).message}\nmosquitto: ${lines.slice(-20).join('\n')}`, { cause: err });
    } finally {
      await manager.stop();
    }
  });
});
