/**
 * No key material in any log line or error: every command and the agent run at the most verbose
 * level, and neither a PEM body nor any 32-character run of one appears in what they print.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { makePair } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { CLI, certswap, collect, until } from '../helpers/proc.js';

/** Every 32-character window of the base64 body of each private key PEM. */
function secretRuns(keys: string[]): string[] {
  const runs: string[] = [];
  for (const k of keys) {
    const body = k.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    for (let i = 0; i + 32 <= body.length; i += 4) runs.push(body.slice(i, i + 32));
  }
  return runs;
}

async function keysIn(store: string): Promise<string[]> {
  const gens = await fse.readdir(path.join(store, 'generations'));
  return Promise.all(
    gens.filter((g) => /^\d+$/.test(g)).map((g) => fse.readFile(path.join(store, 'generations', g, 'key.pem'), 'utf8')),
  );
}

describe('secrets never reach a log or an error', function () {
  this.timeout(120_000);

  it('every command at trace level, including refusals of a key', async () => {
    const dir = await storeDir();
    const files = await tempDir();
    const a = await makePair();
    const b = await makePair();
    const w = async (name: string, data: Buffer): Promise<string> => {
      const f = path.join(files, name);
      await fse.writeFile(f, data);
      return f;
    };
    const [ac, ak, bc, bk] = await Promise.all([w('ac', a.cert), w('ak', a.key), w('bc', b.cert), w('bk', b.key)]);
    const damaged = await w('dk', Buffer.from(a.key.toString().replace(/\n[A-Za-z0-9+/]{8}/, '\n!!!!!!!!')));
    const env = { CERTSWAP_LOG_LEVEL: 'trace' };
    const runs = [
      ['install', '--dir', dir, '--cert', ac, '--key', ak],
      ['stage', '--dir', dir, '--cert', bc, '--key', bk],
      ['activate', '--dir', dir, '--trial', '2'],
      ['commit', '--dir', dir],
      ['rollback', '--dir', dir],
      ['install', '--dir', dir, '--cert', ac, '--key', bk],
      ['install', '--dir', dir, '--cert', ac, '--key', damaged],
      ['install', '--dir', dir, '--cert', ak, '--key', ac],
      ['status', '--dir', dir, '--json'],
      ['verify', '--dir', dir],
      ['prune', '--dir', dir, '--keep', '1'],
      ['recover', '--dir', dir],
    ];
    let output = '';
    for (const args of runs) {
      const r = await certswap(args, env);
      output += r.stdout + r.stderr;
    }
    expect(output).to.match(/"level":10|"level":20|"level":30/); // the log really was verbose
    const secrets = secretRuns([a.key.toString(), b.key.toString()]);
    for (const s of secrets) expect(output, 'key material in the output').to.not.include(s);
  });

  it('the agent at trace level, across rotations and a failed check', async () => {
    const dir = await tempDir();
    const cfg = path.join(dir, 'agent.yaml');
    await fse.writeFile(
      cfg,
      `logLevel: trace
certificates:
  - name: device
    dir: store
    identity: { commonName: device-1 }
    provisioner: { type: local-ca, caDir: ca, lifetime: 4s }
    renew: { from: 0.4, to: 0.5 }
  - name: picky
    dir: store2
    identity: { commonName: device-2 }
    provisioner: { type: local-ca, caDir: ca, lifetime: 1h }
    check: { command: [sh, -c, "exit 1"] }
    retry: { initial: 200ms, max: 1s }
`,
    );
    const child = spawn(process.execPath, [CLI, 'agent', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result = collect(child);
    const store = path.join(dir, 'store');
    await until(
      'three generations',
      async () => (await fse.readdir(path.join(store, 'generations')).catch(() => [])).length >= 3,
    );
    child.kill('SIGTERM');
    await once(child, 'exit');
    const r = await result;
    const output = r.stdout + r.stderr;
    expect(output).to.include('"event":"rotated"').and.include('CERTSWAP_CHECK_FAILED');
    const keys = [
      ...(await keysIn(store)),
      ...(await keysIn(path.join(dir, 'store2'))),
      await fse.readFile(path.join(dir, 'ca', 'ca-key.pem'), 'utf8'),
    ];
    expect(keys.length).to.be.greaterThan(3);
    for (const s of secretRuns(keys)) expect(output, 'key material in the agent log').to.not.include(s);
  });
});
