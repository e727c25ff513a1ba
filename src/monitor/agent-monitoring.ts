/**
 * Everything the agent's configuration asks for beside renewing: the metrics (endpoint and/or
 * textfile) and the webhook, wired to the manager through one observer (agent/events.ts).
 *
 * Lifecycle, for `runAgent` and `runOnce` alike:
 *   1. createMonitoring(config) before the manager: the observer the manager is given, the
 *      textfile opened (its counters carried over), the webhook's CA read. Raises what reading
 *      notify.ca raises.
 *   2. start(manager) after manager.start(): the endpoint binds (raising EADDRINUSE and the like);
 *      stores are open now, so a scrape can read them. `agent --once` serves no endpoint.
 *   3. Every look ends in a textfile write, at its `scheduled` event (a failed write is logged;
 *      the agent goes on).
 *   4. close(): a last textfile write, the webhook's queue drained (for at most one delivery's
 *      longest time: attempts x timeout plus the backoffs), the endpoint closed.
 */
import { readInputFile } from '../io/input.js';
import type { Log } from '../store/context.js';
import type { AgentConfig } from '../agent/config.js';
import type { AgentEvent, AgentObserver } from '../agent/events.js';
import type { Clock } from '../agent/clock.js';
import { systemClock } from '../agent/clock.js';
import type { StoreStatus } from '../store/ops/status.js';
import type { Notifier } from '../notify/notifier.js';
import type { CertswapMetrics } from './metrics.js';
import type { AgentMonitor } from './monitor.js';
import type { MetricsServer } from './server.js';
import type { TextfileWriter } from './textfile.js';

/** What the monitoring needs of the manager: each certificate's store. */
export interface StoreSource {
  store(name: string): { status(): Promise<StoreStatus> };
}

export interface Monitoring {
  observer: AgentObserver;
  /** The endpoint's address, once started with `metrics.listen`. */
  server?: MetricsServer;
  /** `serve: false` (`agent --once`): no endpoint; nothing would scrape a process that lives a second. */
  start(stores: StoreSource, opts?: { serve: boolean }): Promise<void>;
  /** Refreshes the gauges and rewrites the textfile (when configured); never raises. */
  writeTextfile(): Promise<void>;
  close(): Promise<void>;
}

export async function createMonitoring(config: AgentConfig, log: Log, clock: Clock = systemClock): Promise<Monitoring> {
  const targets = config.certificates.map((c) => ({ name: c.name, dir: c.dir }));
  const now = (): Date => clock.now();
  let stores: StoreSource | undefined;
  let notifier: Notifier | undefined;
  // Loaded only when configured: prom-client alone costs an `agent --once` run some 40 ms.
  if (config.notify) {
    const { Notifier } = await import('../notify/notifier.js');
    const { Webhook } = await import('../notify/webhook.js');
    const n = config.notify;
    const ca = n.ca === undefined ? undefined : await readInputFile(n.ca, 'ca');
    const webhook = new Webhook(
      { url: n.webhook, timeoutMs: n.timeoutMs, attempts: n.attempts, backoffMs: n.backoffMs, ...(ca && { ca }) },
      clock,
      log,
    );
    const dirs = new Map(targets.map((t) => [t.name, t.dir]));
    notifier = new Notifier(webhook, { events: n.events, expiringWithinMs: n.expiringWithinMs, dirs, now });
  }
  let monitor: AgentMonitor | undefined;
  let textfile: TextfileWriter | undefined;
  let metrics: CertswapMetrics | undefined;
  if (config.metrics) {
    const { CertswapMetrics } = await import('./metrics.js');
    const { AgentMonitor } = await import('./monitor.js');
    const { TextfileWriter } = await import('./textfile.js');
    const { packageVersion } = await import('./version.js');
    metrics = new CertswapMetrics(packageVersion());
    monitor = new AgentMonitor({
      metrics,
      targets,
      now,
      unhealthyAfterMs: config.metrics.unhealthyAfterMs,
      status: (name) => {
        if (!stores) throw new Error('monitoring not started');
        return stores.store(name).status();
      },
      ...(notifier && { onEvent: notifier.observe }),
    });
    if (config.metrics.textfile) textfile = await TextfileWriter.open(config.metrics.textfile, metrics, log);
  }

  const writeTextfile = async (): Promise<void> => {
    if (!textfile || !monitor || !stores) return;
    try {
      await monitor.refresh();
      await textfile.write();
    } catch (err) {
      // Logged by the writer, or here for a store that could not be read: the renewals go on.
      log.warn({ event: 'textfile', err: (err as Error).message }, 'metrics textfile not updated');
    }
  };
  const observer = (e: AgentEvent): void => {
    monitor?.observe(e);
    notifier?.observe(e);
    // Every look ends with its next renewal scheduled (in `--once` too): the textfile then shows
    // what the look did and when the next one is due.
    if (e.type === 'scheduled') void writeTextfile();
  };

  const m: Monitoring = {
    observer,
    async start(s, opts = { serve: true }) {
      stores = s;
      if (config.metrics?.listen && monitor && metrics && opts.serve) {
        const { startMetricsServer } = await import('./server.js');
        m.server = await startMetricsServer(config.metrics.listen, monitor, metrics, log);
      }
    },
    writeTextfile,
    async close() {
      await writeTextfile();
      await notifier?.close();
      await m.server?.close();
    },
  };
  return m;
}
