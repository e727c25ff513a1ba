/** The agent as a real process: start, rotate, SIGTERM; and a kill -9 between activation and commit. */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { GenerationStore } from '../../src/index.js';
import { CLI, certswap, until } from '../helpers/proc.js';
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
    for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as Record<string, unknown>);
  });
  return { child, events };
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

  it('starts, rotates twice on its own, and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir();
    const { child, events } = agent(await writeConfig(dir));
    const exited = once(child, 'exit');
    await until('three rotations', () => events.filter((e) => e.event === 'rotated').length >= 3);
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
    await fse.writeFile(await writeConfig(dir), (await fse.readFile(path.join(dir, 'agent.yaml'), 'utf8')).replace('lifetime: 5s', 'lifetime: 1h'));
    expect((await certswap(['renew', '--config', path.join(dir, 'agent.yaml')])).code).to.equal(0); // generation 1, committed
    const marker = `certswap-test-check-${process.pid}-${Date.now()}`;
    const slow = await writeConfig(dir, `    check: { command: [sh, -c, "sleep 60 # ${marker}"], timeout: 90s }\n`);
    await fse.writeFile(slow, (await fse.readFile(slow, 'utf8')).replace('lifetime: 5s', 'lifetime: 1h'));
    const renew = spawn(process.execPath, [CLI, 'renew', '--config', slow], { stdio: 'ignore' });
    const store = path.join(dir, 'store');
    await until('generation 2 on trial', async () => (await fse.readlink(path.join(store, 'current')).catch(() => '')) === 'generations/2' && fse.pathExists(path.join(store, '.trial')));
    renew.kill('SIGKILL');
    await once(renew, 'exit');
    // The check ran in its own process group and outlives the agent; it must not outlive the test.
    spawn('pkill', ['-f', marker]);
    const r = await certswap(['recover', '--dir', store]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/generation 2 was on trial and never committed: returned to 1/);
    expect(await fse.readlink(path.join(store, 'current'))).to.equal('generations/1');
    expect((await (await GenerationStore.open(store)).status()).trial).to.equal(null);
  });
});
