/**
 * The monitor wired to a real CertificateManager: the agent's own moves of `current` are never
 * taken for someone else's (a manual rollback), even when a scrape reads the store in the middle
 * of one.
 */
import { expect } from 'chai';
import { CertificateManager } from '../../src/agent/manager.js';
import { parseConfig, type AgentConfig } from '../../src/agent/config.js';
import { CertswapMetrics, METRIC } from '../../src/monitor/metrics.js';
import { AgentMonitor } from '../../src/monitor/monitor.js';
import { parseExposition } from '../../src/monitor/exposition.js';
import { silentLog } from '../../src/store/context.js';
import { makePair } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';

async function deviceConfig(): Promise<AgentConfig> {
  const base = await tempDir();
  return parseConfig(
    {
      certificates: [
        {
          name: 'device',
          dir: 'store',
          identity: { commonName: 'device-1', sans: ['device-1'] },
          provisioner: { type: 'local-ca', caDir: 'ca', lifetime: '10d' },
        },
      ],
    },
    base,
  );
}

describe('monitor with the manager', function () {
  this.timeout(60_000);

  it('a trial left pending that the next look rolls back counts as recover only, scraped mid-rollback', async () => {
    const config = await deviceConfig();
    const metrics = new CertswapMetrics('test');
    let m: CertificateManager | undefined;
    const monitor = new AgentMonitor({
      metrics,
      targets: [{ name: 'device', dir: config.certificates[0]!.dir }],
      status: (name) => m!.store(name).status(),
      now: () => new Date(),
      unhealthyAfterMs: 60_000,
    });
    m = new CertificateManager(config, { log: silentLog, observer: monitor.observe });
    await m.start();
    await m.ensureCertificate('device');
    const store = m.store('device');
    // The agent's trial whose rollback failed (say EIO) after a scrape saw it: still pending.
    const { generation } = await store.stage(await makePair());
    await store.activate(generation, { trial: true });
    await monitor.refresh();
    // A scrape that lands while the next look rolls it back: after the rename, before the event.
    const rollback = store.rollback.bind(store);
    store.rollback = async (to?: number) => {
      const r = await rollback(to);
      await monitor.refresh();
      return r;
    };
    await m.ensureCertificate('device');
    const samples = parseExposition(await metrics.text());
    const rollbacks = (reason: string): number | undefined =>
      samples.find((s) => s.metric === METRIC.rollbacks && s.labels.reason === reason)?.value;
    expect(rollbacks('recover')).to.equal(1);
    expect(rollbacks('manual')).to.equal(0);
  });

  it('a rotation committed before its prune failed counts as a success, not also as a failure', async () => {
    const config = await deviceConfig();
    const metrics = new CertswapMetrics('test');
    // Counters only: the store gauges (status) are not read here.
    const monitor = new AgentMonitor({
      metrics,
      targets: [{ name: 'device', dir: config.certificates[0]!.dir }],
      status: () => Promise.reject(new Error('not read')),
      now: () => new Date(),
      unhealthyAfterMs: 60_000,
    });
    const events: string[] = [];
    const observed = new CertificateManager(config, {
      log: silentLog,
      observer: (e) => {
        events.push(e.type);
        monitor.observe(e);
      },
    });
    await observed.start();
    await observed.ensureCertificate('device');
    // Prune is housekeeping after the commit; it can fail (EIO, or the lock held by a CLI command).
    observed.store('device').prune = () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const r = await observed.ensureCertificate('device', { force: true });
    expect(r.renewed?.generation).to.equal(2);
    expect((await observed.store('device').status()).current).to.equal(2);
    const samples = parseExposition(await metrics.text());
    const v = (metric: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.metric === metric && Object.entries(labels).every(([k, x]) => s.labels[k] === x))?.value;
    expect(v(METRIC.renewals, { result: 'success' })).to.equal(2);
    expect(v(METRIC.renewals, { result: 'failure' })).to.equal(0);
    expect(v(METRIC.failingSince)).to.equal(0);
    expect(events).to.not.include('renewal-failed');
  });
});
