/**
 * Debian's prometheus and prometheus-node-exporter as child processes on loopback, for the
 * monitoring tests, and Prometheus's HTTP API. Every process is stopped by its pid (SIGTERM, then
 * SIGKILL) by the `stop` the caller runs in a `finally`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fse from 'fs-extra';
import path from 'node:path';
import { freePort, until, which } from './proc.js';

export interface Server {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** The path of `program`, or null; under CI a missing one is an error (.ci/run installs it). */
export function tool(program: string): string | null {
  const bin = which(program);
  if (!bin && process.env.CI) throw new Error(`${program} is missing (.ci/run installs it)`);
  return bin;
}

function serve(bin: string, args: string[], url: string): Server {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = once(child, 'exit');
  return {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, 'SIGTERM');
      const kill = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
      try {
        await exited;
      } finally {
        clearTimeout(kill);
      }
    },
  };
}

/**
 * Waits until `url` answers 200 (a bound on a hang, not a performance check); a server that never
 * does is stopped before the error is raised, since the caller has no handle on it yet.
 */
async function ready(s: Server, url: string): Promise<Server> {
  try {
    await until(
      `${url} to answer`,
      async () => {
        if (s.child.exitCode !== null) throw new Error(`exited (${s.child.exitCode}): ${s.output()}`);
        return (await fetch(url).catch(() => null))?.status === 200;
      },
      30_000,
    );
  } catch (err) {
    await s.stop();
    throw err;
  }
  return s;
}

/** node_exporter with only the textfile collector, reading `dir`. */
export async function startNodeExporter(bin: string, dir: string): Promise<Server> {
  const port = await freePort();
  const s = serve(
    bin,
    [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      '--collector.textfile',
      `--collector.textfile.directory=${dir}`,
    ],
    `http://127.0.0.1:${port}`,
  );
  return ready(s, `${s.url}/metrics`);
}

/**
 * Prometheus scraping `targets` (job name -> host:port) every second and evaluating `ruleFile`
 * every second, its database in `dir`.
 */
export async function startPrometheus(
  bin: string,
  dir: string,
  targets: Record<string, string>,
  ruleFile: string,
): Promise<Server> {
  const port = await freePort();
  const config = path.join(dir, 'prometheus.yml');
  const jobs = Object.entries(targets)
    .map(([job, target]) => `  - job_name: ${job}\n    static_configs:\n      - targets: ['${target}']\n`)
    .join('');
  await fse.writeFile(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${ruleFile}\nscrape_configs:\n${jobs}`,
  );
  const s = serve(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    `http://127.0.0.1:${port}`,
  );
  return ready(s, `${s.url}/-/ready`);
}

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** GET /api/v1/<endpoint>; raises on an error status, returns `data`. */
export async function api<T>(prom: Server, endpoint: string, params: Record<string, string | number>): Promise<T> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const r = await fetch(`${prom.url}/api/v1/${endpoint}?${q}`);
  const body = (await r.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${endpoint} ${JSON.stringify(params)}: ${body.error}`);
  return body.data;
}

/** An instant query (at `time`, Unix seconds, when given). */
export async function query(prom: Server, expr: string, time?: number): Promise<PromSample[]> {
  const data = await api<{ result: PromSample[] }>(prom, 'query', { query: expr, ...(time !== undefined && { time }) });
  return data.result;
}

/**
 * A dashboard query as Grafana would send it: its template variables replaced (the agents'
 * endpoints, all devices; a rate interval of a few scrapes, as Grafana derives from a 1 s scrape
 * interval). The same queries with job="node" read the textfile's copies of these series.
 */
export function grafanaExpr(expr: string): string {
  return expr.replaceAll('$job', 'certswap').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '5s');
}
