/**
 * `certswap status --dir DIR --prometheus`: the store gauges of one store (expiry, notBefore,
 * active generation, generations, trial pending) and certswap_build_info, in the Prometheus text
 * format, for a cron job that writes a node_exporter textfile without running the agent. The
 * `name` label is the store directory's base name (the CLI knows no configuration); `dir` is the
 * directory. The agent's counters and due time are not here: they exist only in the agent.
 */
import path from 'node:path';
import type { StoreStatus } from '../store/ops/status.js';
import { CertswapMetrics, STORE_GAUGES } from './metrics.js';
import { packageVersion } from './version.js';

export async function storeExposition(s: StoreStatus): Promise<string> {
  const metrics = new CertswapMetrics(packageVersion());
  metrics.setStore({ name: path.basename(s.dir), dir: s.dir }, s);
  return metrics.text({ only: STORE_GAUGES });
}
