/**
 * The agent's HTTP endpoint (`metrics.listen`): GET /metrics (the exposition, its store gauges
 * read at the scrape) and GET /healthz (200 or 503 with a JSON reason per certificate,
 * health.ts). Nothing else: no other path, no other method, no request body read. It serves
 * dates, generation numbers and counters, never key material; bind it to loopback unless the
 * network between it and Prometheus is trusted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log } from '../store/context.js';
import type { AgentMonitor } from './monitor.js';
import type { CertswapMetrics } from './metrics.js';
import { capConnections } from './connection-cap.js';

/** Connections held at once (connection-cap.ts). */
export const MAX_CONNECTIONS = 32;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface MetricsServer {
  /** The address bound (the port, when 0 was asked for). */
  address: ListenAddress;
  close(): Promise<void>;
}

async function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  monitor: AgentMonitor,
  metrics: CertswapMetrics,
): Promise<void> {
  // URL.parse is Node 22's; a target new URL cannot read (absolute-form `http://[`) is the
  // client's mistake: answered 400, not logged, so that no local user can flood the agent's log.
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
    return;
  }
  if (url.pathname !== '/metrics' && url.pathname !== '/healthz') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics or /healthz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (url.pathname === '/metrics') {
    await monitor.refresh();
    res.writeHead(200, { 'content-type': metrics.contentType }).end(await metrics.text());
    return;
  }
  const health = await monitor.health();
  res.writeHead(health.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(health)}\n`);
}

/**
 * Starts the endpoint on `address`. Raises the listen error (EADDRINUSE, EACCES, EADDRNOTAVAIL)
 * with its errno code; the agent does not start without the endpoint it was configured with.
 */
export async function startMetricsServer(
  address: ListenAddress,
  monitor: AgentMonitor,
  metrics: CertswapMetrics,
  log: Log,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    answer(req, res, monitor, metrics).catch((err: unknown) => {
      // A store that cannot be read now: the scrape fails (Prometheus marks it down), the agent goes on.
      log.warn({ event: 'metrics', err: (err as Error).message }, `metrics request failed: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('could not read a store; see the agent log\n');
    });
  });
  // A scrape that hangs must not keep the agent from stopping, nor a flood of connections eat a
  // small device's memory (Prometheus and a health probe need a few), nor lock them out.
  server.requestTimeout = 30_000;
  capConnections(server, MAX_CONNECTIONS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  log.info({ event: 'metrics', host: bound.address, port: bound.port }, `metrics on ${bound.address}:${bound.port}`);
  return {
    address: { host: bound.address, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
