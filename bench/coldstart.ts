/** Section 4: whole-process wall time of the CLI against `node -e 0`, runs interleaved. */
import { spawnSync } from 'node:child_process';
import { summarise, type Summary } from './stats.js';

export function coldStart(cli: string, dir: string, runs: number): Record<string, Summary> {
  const node = process.execPath;
  const cmds: Record<string, string[]> = {
    'node -e 0': ['-e', '0'],
    'certswap status': [cli, 'status', '--dir', dir],
    'certswap verify': [cli, 'verify', '--dir', dir],
  };
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < runs + 2; i++) {
    for (const [name, args] of Object.entries(cmds)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(node, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      if (i >= 2) {
        samples[name] ??= [];
        samples[name].push(ms); // the first two runs warm the page cache
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v)]));
}
