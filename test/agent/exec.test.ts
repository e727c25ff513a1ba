/**
 * Outside commands are contained: real shells, real background processes. The command is done
 * when it exits, a timeout kills its whole process group, a long timeout does not fire early, and
 * a private key it prints never reaches the result or an error message.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { describeFailure, runCommand } from '../../src/agent/exec.js';
import { runCheck } from '../../src/agent/check.js';
import { REDACTED } from '../../src/agent/redact.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/proc.js';
import { expectCode } from '../helpers/expect-code.js';

const DAY_MS = 86_400_000;

/** Whether `pid` is gone (or a zombie nobody has reaped yet: it runs no more code). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = fse.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

async function readPid(file: string): Promise<number> {
  await until(`${file} to be written`, async () => /^\d+\n$/.test(await fse.readFile(file, 'utf8').catch(() => '')));
  return Number(await fse.readFile(file, 'utf8'));
}

const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
  type: 'pkcs1',
  format: 'pem',
}) as string;
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;

function expectNoKey(text: string, pem: string): void {
  for (const line of pem.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'))) {
    expect(text, 'key material').to.not.include(line);
  }
  expect(text).to.not.match(/PRIVATE KEY/);
}

describe('runCommand', function () {
  this.timeout(30_000);

  it('returns when the command exits, although a background process it left holds stderr open', async () => {
    const dir = await tempDir();
    const pidFile = path.join(dir, 'bg.pid');
    let bg: number | undefined;
    try {
      const r = await runCommand(['sh', '-c', `sleep 1000 & echo $! > ${pidFile}; echo hi >&2; exit 0`], {
        timeoutMs: 60_000,
      });
      bg = await readPid(pidFile);
      expect(r).to.deep.equal({ code: 0, signal: null, timedOut: false, stderr: 'hi' });
      // Exited in time: what it started is not killed (it may be a daemon it was asked to start).
      expect(gone(bg)).to.equal(false);
    } finally {
      if (bg) process.kill(bg, 'SIGKILL');
    }
  });

  it('a timeout kills the whole process group, the background processes included', async () => {
    const dir = await tempDir();
    const pidFile = path.join(dir, 'bg.pid');
    const r = await runCommand(['sh', '-c', `sleep 1000 & echo $! > ${pidFile}; echo started >&2; wait`], {
      timeoutMs: 500,
    });
    expect(r).to.include({ timedOut: true, code: null, signal: 'SIGKILL' });
    expect(describeFailure(r, 500)).to.equal('timed out after 0.5 s');
    const bg = await readPid(pidFile);
    await until(`background sleep ${bg} to be killed`, () => gone(bg), 10_000);
  });

  it('a 30-day timeout does not fire early (Node timers overflow above 24.8 days)', async () => {
    const r = await runCommand(['sh', '-c', 'sleep 0.3; echo fine >&2; exit 0'], { timeoutMs: 30 * DAY_MS });
    expect(r).to.deep.equal({ code: 0, signal: null, timedOut: false, stderr: 'fine' });
    expect(describeFailure(r, 30 * DAY_MS)).to.equal(null);
    expect(await runCommand(['true'], { timeoutMs: Infinity })).to.include({ code: 0, timedOut: false });
  });

  it('reports a command that cannot start as exit 127, and a failure with the end of its stderr', async () => {
    const missing = await runCommand(['/nonexistent/certswap-test-command'], { timeoutMs: 5000 });
    expect(missing).to.include({ code: 127, timedOut: false });
    expect(missing.stderr).to.match(/ENOENT/);
    const r = await runCommand(['sh', '-c', 'for i in 1 2 3 4 5 6 7; do echo line $i >&2; done; exit 3'], {
      timeoutMs: 5000,
    });
    expect(describeFailure(r, 5000)).to.equal('exit 3: line 3 | line 4 | line 5 | line 6 | line 7');
  });

  it('a private key printed to stderr never appears in the result or the failure text', async () => {
    const dir = await tempDir();
    await fse.writeFile(path.join(dir, 'rsa.pem'), rsaKey);
    await fse.writeFile(path.join(dir, 'ec.pem'), ecKey);
    await fse.writeFile(path.join(dir, 'inline.json'), JSON.stringify({ key: ecKey }));
    const scripts = [
      // Whole, then split across two writes (two chunks on our side).
      'echo starting >&2; cat rsa.pem >&2; echo failed >&2; exit 3',
      'head -c 700 rsa.pem >&2; sleep 0.2; tail -c +701 rsa.pem >&2; echo failed >&2; exit 3',
      // The key's BEGIN line would fall off the front of the 4 KiB tail kept.
      'cat rsa.pem >&2; head -c 3000 /dev/zero | tr "\\0" x >&2; echo >&2; echo failed >&2; exit 3',
      // On one line with literal \\n escapes, as a JSON error body would carry it.
      'echo request failed >&2; cat inline.json >&2; echo >&2; exit 3',
      // No END line: everything after BEGIN is hidden.
      'echo failed >&2; head -n 3 ec.pem >&2; exit 3',
    ];
    for (const script of scripts) {
      const r = await runCommand(['sh', '-c', script], { timeoutMs: 10_000, cwd: dir });
      const failure = describeFailure(r, 10_000)!;
      expect(r.code, script).to.equal(3);
      expect(r.stderr, script).to.include(REDACTED);
      expect(failure, script).to.match(/^exit 3: /);
      for (const text of [r.stderr, failure, JSON.stringify(r)]) {
        expectNoKey(text.replace(/\\n/g, '\n'), rsaKey);
        expectNoKey(text.replace(/\\n/g, '\n'), ecKey);
      }
    }
    // And through a check, into the CertswapError that is logged and shown.
    const pair = {
      generation: 7,
      cert: Buffer.from(''),
      key: Buffer.from(''),
      certPath: 'c',
      keyPath: path.join(dir, 'rsa.pem'),
    };
    const check = { command: ['sh', '-c', 'cat "$CERTSWAP_KEY" >&2; exit 1'], timeoutMs: 10_000 };
    const e = await expectCode(runCheck(check, pair), 'CERTSWAP_CHECK_FAILED');
    expect(e.message).to.include(REDACTED);
    expectNoKey(e.message, rsaKey);
  });
});
