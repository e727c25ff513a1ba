/** Consumer hooks: the pid file is trusted only when no one else could have written it. */
import { expect } from 'chai';
import fse from 'fs-extra';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ErrorCodes } from '../../src/index.js';
import { runHooks, type HookOptions } from '../../src/agent/hooks.js';
import { systemClock } from '../../src/agent/clock.js';
import { tempDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';

describe('consumer hooks: the pid file', () => {
  it('signals the process a sound pid file names, and refuses one with a loose mode, another owner or a link', async () => {
    const dir = await tempDir();
    const pidFile = path.join(dir, 'consumer.pid');
    // A consumer that counts SIGHUPs and exits on the first.
    const consumer = spawn('sh', ['-c', 'trap "exit 7" HUP; while :; do sleep 0.05; done'], { stdio: 'ignore' });
    try {
      const exited = new Promise<number | null>((r) => consumer.on('exit', (code) => r(code)));
      const h: HookOptions = { pidFile, signal: 'SIGHUP', timeoutMs: 5000, attempts: 1 };
      await fse.writeFile(pidFile, `${consumer.pid}\n`, { mode: 0o644 });
      await fse.chmod(pidFile, 0o666);
      await expectCode(
        runHooks(h, 'activate', {}, systemClock),
        ErrorCodes.HOOK_FAILED,
        /pid file refused: .*writable by group or others/,
      );
      if (process.getuid?.() === 0) {
        await fse.chmod(pidFile, 0o644);
        await fse.chown(pidFile, 65534, 65534);
        await expectCode(
          runHooks(h, 'activate', {}, systemClock),
          ErrorCodes.HOOK_FAILED,
          /pid file refused: .*belongs to uid 65534/,
        );
        await fse.chown(pidFile, 0, 0);
      }
      await fse.remove(pidFile);
      await fse.symlink('/proc/1/stat', pidFile);
      await expectCode(runHooks(h, 'activate', {}, systemClock), ErrorCodes.HOOK_FAILED, /symbolic link/);
      await fse.remove(pidFile);
      await fse.writeFile(pidFile, `${consumer.pid}\n`, { mode: 0o644 });
      await runHooks(h, 'activate', {}, systemClock);
      expect(await exited).to.equal(7);
    } finally {
      consumer.kill('SIGKILL');
    }
  });
});
