/** A `certswap agent` process for the monitoring tests, stopped by its pid on every path. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CLI } from './proc.js';

export interface AgentProcess {
  child: ChildProcess;
  /** Everything it logged (JSON lines on stderr). */
  log(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with its exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export function startAgent(config: string, extra: string[] = []): AgentProcess {
  const child = spawn(process.execPath, [CLI, 'agent', '--config', config, ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    log: () => log,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGTERM');
        const kill = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), graceMs);
        try {
          return (await exited)[0];
        } finally {
          clearTimeout(kill);
        }
      }
      return (await exited)[0];
    },
  };
}

/** GET `url`; the status and body (no exception for a non-2xx). */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/** One entry of an agent configuration's `certificates:` list, as YAML (retries quick, for tests). */
export function certificateYaml(name: string, store: string, provisioner: string, extra = ''): string {
  return `  - name: ${name}
    dir: ${store}
    identity: { commonName: ${name}-1 }
    provisioner: ${provisioner}
    retry: { initial: 200ms, max: 1s }
${extra}`;
}

/** A local CA (under ./ca) issuing certificates of `lifetime`. */
export const LOCAL_CA = (lifetime: string): string => `{ type: local-ca, caDir: ca, lifetime: ${lifetime} }`;
/** A CA that is down: nothing listens on port 1 of loopback. */
export const CA_DOWN = `{ type: csr, cfssl: { url: "http://127.0.0.1:1", attempts: 1 } }`;
