/**
 * The monitor wired to a real CertificateManager: the agent's own moves of `current` are never
 * taken for someone else's (a manual rollback), even when a scrape reads the store in the middle
 * of one.
 */
import { expect } from 'chai';
import { CertificateManager } from '../../src/agent/manager.js';
import { parseConfig } from '../../src/agent/config.js';
import { CertswapMetrics, METRIC } from '../../src/monitor/metrics.js';
import { AgentMonitor } from '../../src/monitor/monitor.js';
import { parseExposition } from '../../src/monitor/exposition.js';
import { silentLog } from '../../src/store/context.js';
import { makePair } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';

describe('monitor with the manager', function () {
  this.timeout(60_000);

  it('a trial left pending that the next look rolls back counts as recover only, scraped mid-rollback', async () => {
    const base = await tempDir();
    const config = parseConfig(
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
});
