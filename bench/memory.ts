/** Section 7: peak RSS of CLI commands (getrusage at exit) and of the agent, idle and rotating. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchPair } from './fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function cliPeakKiB(args: string[]): number {
  const r = spawnSync(process.execPath, ['--import', path.join(here, 'rss-probe.mjs'), ...args], { encoding: 'utf8' });
  const m = /certswap-bench-maxrss-kib (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no RSS from ${args.join(' ')}: ${r.stderr}`);
  return Number(m[1]);
}

function procStatus(pid: number): { rssKiB: number; hwmKiB: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKiB: Number(/VmRSS:\s+(\d+)/.exec(s)![1]), hwmKiB: Number(/VmHWM:\s+(\d+)/.exec(s)![1]) };
}

export interface MemoryResult {
  cliPeakMiB: Record<string, number>;
  agent: { idleRssMiB: number; peakAfterRotationMiB: number; rssAfterRotationMiB: number };
}

const mib = (k: number): number => Number((k / 1024).toFixed(1));

export async function memory(base: string, cli: string, pair: BenchPair): Promise<MemoryResult> {
  const dir = path.join(base, 'mem-store');
  const f = pair.files;
  const cliPeakMiB: Record<string, number> = {
    'node -e 0': mib(cliPeakKiB(['-e', '0'])),
    'certswap install': mib(cliPeakKiB([cli, 'install', '--dir', dir, '--cert', f.cert, '--key', f.key, '--ca', f.ca])),
    'certswap status': mib(cliPeakKiB([cli, 'status', '--dir', dir])),
    'certswap verify': mib(cliPeakKiB([cli, 'verify', '--dir', dir])),
  };

  // The agent: a local CA, a one-hour lifetime (so it idles after the first install), SIGHUP to rotate.
  const cfg = path.join(base, 'agent.yaml');
  fs.writeFileSync(
    cfg,
    `logLevel: info\ncertificates:\n  - name: device\n    dir: ${path.join(base, 'agent-store')}\n    identity: { commonName: bench-device, sans: [bench-device] }\n    provisioner: { type: local-ca, caDir: ${path.join(base, 'agent-ca')}, lifetime: 1h }\n`,
  );
  const agent = spawn(process.execPath, [cli, 'agent', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  agent.stdout.on('data', (d) => (out += d));
  agent.stderr.on('data', (d) => (out += d));
  const rotations = (): number => (out.match(/"event":"rotated"/g) ?? []).length;
  const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!cond()) throw new Error(`agent: no ${what}: ${out.slice(-2000)}`);
  };
  try {
    await waitFor(() => rotations() >= 1, 'first install');
    await new Promise((r) => setTimeout(r, 2000));
    const idle = procStatus(agent.pid!);
    agent.kill('SIGHUP');
    await waitFor(() => rotations() >= 2, 'rotation after SIGHUP');
    const after = procStatus(agent.pid!);
    return {
      cliPeakMiB,
      agent: {
        idleRssMiB: mib(idle.rssKiB),
        peakAfterRotationMiB: mib(after.hwmKiB),
        rssAfterRotationMiB: mib(after.rssKiB),
      },
    };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('close', r));
  }
}
