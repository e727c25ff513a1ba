/** Signals caught before the agent's handlers exist, and replayed by runAgent once it has started. */
import { expect } from 'chai';
import { AGENT_SIGNALS, latchSignals } from '../../src/agent/signal-latch.js';
import { runAgent } from '../../src/agent/agent.js';
import { parseConfig } from '../../src/agent/config.js';
import { CertificateManager } from '../../src/agent/manager.js';
import { GenerationStore } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/proc.js';
import { captureLog } from '../helpers/fake-clock.js';

const listeners = (): number[] => AGENT_SIGNALS.map((s) => process.listenerCount(s));

/** Sends `signal` to this process and waits until it has been handled. */
async function selfSignal(signal: NodeJS.Signals): Promise<void> {
  const seen = new Promise((r) => process.once(signal, r));
  process.kill(process.pid, signal);
  await seen;
}

async function agentConfig() {
  const base = await tempDir();
  const provisioner = { type: 'local-ca', caDir: 'ca', lifetime: '1h' };
  return parseConfig(
    { certificates: [{ name: 'device', dir: 'store', identity: { commonName: 'device-1' }, provisioner }] },
    base,
  );
}

describe('signal latch', function () {
  this.timeout(30_000);

  it('catches real signals from the moment it is installed, each once, until released', async () => {
    const before = listeners();
    const latch = latchSignals();
    expect(listeners()).to.deep.equal(before.map((n) => n + 1));
    await selfSignal('SIGHUP');
    await selfSignal('SIGTERM');
    await selfSignal('SIGHUP');
    expect(latch.release()).to.deep.equal(['SIGHUP', 'SIGTERM']);
    expect(listeners()).to.deep.equal(before);
    expect(latch.release()).to.deep.equal([]);
  });

  it('runAgent: a SIGHUP caught during start-up becomes one renewal once started', async () => {
    const config = await agentConfig();
    const first = new CertificateManager(config);
    await first.start();
    expect((await first.ensureCertificate('device')).renewed?.generation).to.equal(1);
    const { events, log } = captureLog();
    const before = process.listenerCount('SIGTERM');
    let released = 0;
    const running = runAgent(config, log, {
      release: () => {
        released++;
        return ['SIGHUP'];
      },
    });
    await until('the renewal asked for during start-up', () => events.some((e) => e.event === 'rotated'));
    expect(released).to.equal(1);
    expect(events.filter((e) => e.event === 'rotated').map((e) => e.generation)).to.deep.equal([2]);
    // Without the SIGHUP nothing was due (a one-hour certificate, just made).
    expect(events.find((e) => e.event === 'renew')).to.include({ reason: 'forced' });
    expect(process.listenerCount('SIGTERM')).to.equal(before + 1);
    process.emit('SIGTERM', 'SIGTERM');
    expect(await running).to.equal(0);
    expect(process.listenerCount('SIGTERM')).to.equal(before);
    expect(events.filter((e) => e.event === 'rotated')).to.have.length(1);
  });

  it('runAgent: a SIGTERM caught during start-up stops it as soon as it has started, before any renewal', async () => {
    const config = await agentConfig();
    for (const caught of [['SIGTERM'], ['SIGHUP', 'SIGINT']] as const) {
      const { events, log } = captureLog();
      expect(await runAgent(config, log, { release: () => [...caught] })).to.equal(0);
      expect(events.map((e) => e.event)).to.include.members(['start', 'stop']);
      expect(events.some((e) => e.event === 'renew' || e.event === 'rotated')).to.equal(false);
      // Started: the store was opened and recovered, but nothing was provisioned.
      const status = await (await GenerationStore.open(config.certificates[0]!.dir, { create: false })).status();
      expect(status).to.deep.include({ current: null, generations: [] });
    }
  });
});
