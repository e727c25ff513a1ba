/**
 * The agent as a real process: start, rotate, SIGTERM; a kill -9 between activation and commit;
 * and signals that arrive while it is still starting up.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { GenerationStore } from '../../src/index.js';
import { CLI, certswap, fixture, until, waitForLine } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { checkStoreInvariants } from '../helpers/invariants.js';

function agent(config: string): { child: ChildProcess; events: Array<Record<string, unknown>> } {
  const child = spawn(process.execPath, [CLI, 'agent', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  let buf = '';
  child.stderr!.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      if (!l.trim()) continue;
      // A line that is not a log event (the CLI's error message) is kept, so that a test fails on it.
      try {
        events.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        events.push({ event: 'text', text: l });
      }
    }
  });
  return { child, events };
}

/** Whether `child` has a handler for `signal` (its SigCgt mask in /proc); fails once it has exited. */
function catches(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`the agent ended (${child.exitCode ?? child.signalCode}) before it caught ${signal}`);
  }
  const status = fse.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const mask = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
  return ((mask >> BigInt(os.constants.signals[signal] - 1)) & 1n) === 1n;
}

/**
 * Waits, polling every millisecond, for the first moment the agent can catch SIGHUP (and so SIGTERM
 * and SIGINT: signal-latch.ts latches SIGHUP last). Before that, Node itself is still starting
 * and no JavaScript has run: nothing a program does can survive a SIGHUP there.
 */
async function untilCatching(child: ChildProcess): Promise<void> {
  const end = Date.now() + 30_000; // a bound on a hang, not a performance check
  while (!catches(child, 'SIGHUP')) {
    if (Date.now() > end) throw new Error('gave up waiting for the agent to catch SIGHUP');
    await delay(1);
  }
}

async function writeConfig(dir: string, extra = ''): Promise<string> {
  const file = path.join(dir, 'agent.yaml');
  await fse.writeFile(
    file,
    `logLevel: info
certificates:
  - name: device
    dir: store
    identity: { commonName: device-1, sans: [device-1] }
    provisioner: { type: local-ca, caDir: ca, lifetime: 5s }
    renew: { from: 0.4, to: 0.5 }
${extra}`,
  );
  return file;
}

describe('certswap agent (process)', function () {
  this.timeout(120_000);

  it('--once: one look at every certificate, then exit 0 when all are fine, 1 when a renewal failed', async () => {
    const dir = await tempDir();
    const config = await writeConfig(dir);
    await fse.writeFile(config, (await fse.readFile(config, 'utf8')).replace('lifetime: 5s', 'lifetime: 1h'));
    const once = (file: string) => certswap(['agent', '--config', file, '--once', '--log-level', 'info']);
    let r = await once(config); // nothing active: renews
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/"event":"once".*"renewed":true/);
    r = await once(config); // a one-hour certificate renewed a moment ago is not due
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/"event":"once".*"renewed":false/);
    const status = JSON.parse((await certswap(['status', '--dir', path.join(dir, 'store'), '--json'])).stdout) as {
      current: number;
    };
    expect(status.current).to.equal(1);
    // A second certificate whose provisioner fails: the run reports it, the first is still fine.
    const failing = path.join(dir, 'failing.yaml');
    await fse.writeFile(
      failing,
      `${(await fse.readFile(config, 'utf8')).trimEnd()}
  - name: broken
    dir: store2
    identity: { commonName: device-2 }
    provisioner: { type: command, command: [sh, -c, 'echo no CA today >&2; exit 3'] }
`,
    );
    r = await once(failing);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/no CA today/);
    expect(r.stderr).to.match(/1 certificate\(s\) failed/);
  });

  it('starts, rotates twice on its own, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir();
    const { child, events } = agent(await writeConfig(dir));
    const exited = once(child, 'exit');
    try {
      await until('three rotations', () => events.filter((e) => e.event === 'rotated').length >= 3);
    } catch (err) {
      child.kill('SIGKILL'); // never left running past a failed wait
      throw err;
    }
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).to.equal(0);
    expect(events.at(-1)).to.include({ event: 'stop' });
    const rotated = events.filter((e) => e.event === 'rotated');
    expect(rotated.slice(0, 3).map((e) => e.generation)).to.deep.equal([1, 2, 3]);
    for (const e of rotated) expect(e.fingerprint).to.match(/^[0-9A-F:]{95}$/);
    const store = path.join(dir, 'store');
    await checkStoreInvariants(store, 'after SIGTERM', { noLeftovers: true });
    const r = await certswap(['status', '--dir', store, '--json']);
    expect((JSON.parse(r.stdout) as { generations: unknown[] }).generations.length).to.be.within(2, 3);
    console.log(`      ${rotated.length} rotations, then SIGTERM: exit 0`);
  });

  it('a kill -9 between activation and commit is rolled back by recover', async () => {
    const dir = await tempDir();
    await fse.writeFile(
      await writeConfig(dir),
      (await fse.readFile(path.join(dir, 'agent.yaml'), 'utf8')).replace('lifetime: 5s', 'lifetime: 1h'),
    );
    expect((await certswap(['renew', '--config', path.join(dir, 'agent.yaml')])).code).to.equal(0); // generation 1, committed
    const checkPid = path.join(dir, 'check.pid');
    const slow = await writeConfig(
      dir,
      `    check: { command: [sh, -c, "echo $$ > ${checkPid}; exec sleep 60"], timeout: 90s }\n`,
    );
    await fse.writeFile(slow, (await fse.readFile(slow, 'utf8')).replace('lifetime: 5s', 'lifetime: 1h'));
    const renew = spawn(process.execPath, [CLI, 'renew', '--config', slow], { stdio: 'ignore' });
    const exited = once(renew, 'exit');
    const store = path.join(dir, 'store');
    try {
      await until(
        'generation 2 on trial',
        async () =>
          (await fse.readlink(path.join(store, 'current')).catch(() => '')) === 'generations/2' &&
          fse.pathExists(path.join(store, '.trial')),
      );
      // The kill lands while the check runs (between activation and commit), not before it starts.
      await until('the check to record its pid', async () =>
        /^\d+\n$/.test(await fse.readFile(checkPid, 'utf8').catch(() => '')),
      );
    } finally {
      // On every path: the agent dies here, and the check, which ran in its own process group and
      // outlives the agent, with it. (sh execs the sleep, so a marker in its command line would be
      // gone: the group is killed by the id it recorded.)
      renew.kill('SIGKILL');
      await exited;
      const pid = Number(await fse.readFile(checkPid, 'utf8').catch(() => ''));
      if (pid > 0) process.kill(-pid, 'SIGKILL'); // the check's sleep is alive: it waits 60 s
    }
    const r = await certswap(['recover', '--dir', store]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/generation 2 was on trial and never committed: returned to 1/);
    expect(await fse.readlink(path.join(store, 'current'))).to.equal('generations/1');
    expect((await (await GenerationStore.open(store)).status()).trial).to.equal(null);
  });
});

describe('certswap agent: signals during start-up', function () {
  this.timeout(120_000);

  /** A store with a committed one-hour generation 1: nothing is due, so any renewal was asked for. */
  async function freshStore(): Promise<{ dir: string; config: string; store: string }> {
    const dir = await tempDir();
    const config = await writeConfig(dir);
    await fse.writeFile(config, (await fse.readFile(config, 'utf8')).replace('lifetime: 5s', 'lifetime: 1h'));
    const r = await certswap(['renew', '--config', config]);
    expect(r.code, r.stderr).to.equal(0);
    return { dir, config, store: path.join(dir, 'store') };
  }

  /** Runs `body` while another process holds the store's lock, which holds the agent's start-up at its recover. */
  async function withStoreLocked(store: string, body: (release: () => void) => Promise<void>): Promise<void> {
    const holder = fixture('hold-lock.ts', [store]);
    try {
      await waitForLine(holder, 'locked');
      await body(() => holder.kill('SIGKILL'));
    } finally {
      holder.kill('SIGKILL');
    }
  }

  it('a SIGHUP while it starts up is survived, and becomes a renewal once it has started', async () => {
    const { config, store } = await freshStore();
    await withStoreLocked(store, async (release) => {
      const { child, events } = agent(config);
      const exited = once(child, 'exit');
      await untilCatching(child);
      child.kill('SIGHUP');
      await until('the agent to note the SIGHUP', () => events.some((e) => e.event === 'signal'));
      // Start-up is held at the lock: the signal really came before the agent had started.
      expect(events.some((e) => e.event === 'start')).to.equal(false);
      release();
      await until('the renewal asked for', () => events.some((e) => e.event === 'rotated'));
      expect(events.find((e) => e.event === 'renew')).to.include({ reason: 'forced' });
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).to.equal(0);
      expect(events.filter((e) => e.event === 'rotated').map((e) => e.generation)).to.deep.equal([2]);
    });
  });

  it('a SIGTERM while it starts up stops it with exit 0 as soon as it has started, renewing nothing', async () => {
    const { config, store } = await freshStore();
    await withStoreLocked(store, async (release) => {
      const { child, events } = agent(config);
      const exited = once(child, 'exit');
      await untilCatching(child);
      child.kill('SIGTERM');
      await until('the agent to note the SIGTERM', () => events.some((e) => e.event === 'signal'));
      expect(events.some((e) => e.event === 'start')).to.equal(false);
      release();
      const [code, signal] = await exited;
      expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
      expect(events.at(-1)).to.include({ event: 'stop' });
      expect(events.some((e) => e.event === 'renew')).to.equal(false);
    });
    expect((await (await GenerationStore.open(store)).status()).current).to.equal(1);
  });

  it('a SIGHUP at any moment from its first instruction on is survived and renews; a SIGTERM exits 0', async () => {
    const { config } = await freshStore();
    for (const wait of [0, 2, 5, 10, 20, 40, 80, 160]) {
      const { child, events } = agent(config);
      const exited = once(child, 'exit');
      await untilCatching(child);
      await delay(wait);
      child.kill('SIGHUP');
      await until(`a renewal after a SIGHUP ${wait} ms in`, () => events.some((e) => e.event === 'rotated'));
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code, `SIGHUP ${wait} ms in`).to.equal(0);
      expect(
        events.filter((e) => e.event === 'rotated'),
        `SIGHUP ${wait} ms in`,
      ).to.have.length(1);
    }
    for (const wait of [0, 2, 5, 10, 20, 40, 80, 160]) {
      const { child, events } = agent(config);
      const exited = once(child, 'exit');
      await untilCatching(child);
      await delay(wait);
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect({ code, signal }, `SIGTERM ${wait} ms in`).to.deep.equal({ code: 0, signal: null });
      expect(events.at(-1), `SIGTERM ${wait} ms in`).to.include({ event: 'stop' });
    }
  });

  it('other commands keep the default signal actions: a SIGHUP ends `certswap renew`', async () => {
    const dir = await tempDir();
    const pidFile = path.join(dir, 'provisioner.pid');
    const config = await writeConfig(dir);
    const slow = `provisioner: { type: command, command: [sh, -c, 'echo $$ > ${pidFile}; exec sleep 60'] }`;
    await fse.writeFile(
      config,
      (await fse.readFile(config, 'utf8')).replace(/provisioner: .*/, () => slow),
    );
    const renew = spawn(process.execPath, [CLI, 'renew', '--config', config], { stdio: 'ignore' });
    const exited = once(renew, 'exit');
    let provisioner: number | undefined;
    try {
      await until('the provisioner to run', async () =>
        /^\d+\n$/.test(await fse.readFile(pidFile, 'utf8').catch(() => '')),
      );
      provisioner = Number(await fse.readFile(pidFile, 'utf8'));
      expect(catches(renew, 'SIGHUP')).to.equal(false);
      renew.kill('SIGHUP');
      const [code, signal] = await exited;
      expect({ code, signal }).to.deep.equal({ code: null, signal: 'SIGHUP' });
    } finally {
      renew.kill('SIGKILL');
      // The provisioner runs in its own process group and outlives the renew; not the test.
      if (provisioner) {
        try {
          process.kill(provisioner, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});
