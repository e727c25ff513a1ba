/**
 * The ACME "done when", end to end with the built CLI: pebble and challtestsrv started with the
 * commands docs/acme.md shows (taken from its shell block, on free ports), the agent configuration
 * docs/acme.md shows, then `certswap agent --config FILE` obtains generation 1, `certswap renew
 * --config FILE` obtains generation 2, and `certswap status` shows both with the chain pebble
 * issued. Without pebble the test is skipped, except under CI=true.
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fse from 'fs-extra';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pebbleAvailable } from '../helpers/pebble.js';
import { CLI, certswap, freePort, until } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'acme.md');

/** The fenced blocks of docs/acme.md's "pebble, to try it locally" section, by language. */
async function docBlocks(): Promise<{ sh: string[]; yaml: string }> {
  const text = await fse.readFile(DOC, 'utf8');
  const section = text.slice(text.indexOf('### pebble, to try it locally'), text.indexOf('## Why acme-client'));
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
  return {
    sh: blocks.filter((b) => b.lang === 'sh').map((b) => b.body),
    yaml: blocks.find((b) => b.lang === 'yaml')!.body,
  };
}

function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid!, 'SIGTERM');
  return gone;
}

describe('cli: certswap agent and renew with an acme provisioner, against pebble as docs/acme.md starts it', function () {
  this.timeout(120_000);
  before(function () {
    if (!pebbleAvailable()) this.skip();
  });

  it('agent obtains generation 1, renew generation 2, status shows both with the chain pebble issued', async () => {
    const dir = await tempDir();
    const ports: Record<string, number> = {};
    for (const p of ['14000', '15000', '5002', '5001', '8053', '8055']) ports[p] = await freePort();
    const local = (text: string): string =>
      text.replace(/\b(14000|15000|5002|5001|8053|8055)\b/g, (p) => String(ports[p])).replaceAll('/tmp/pebble', dir);
    const { sh, yaml } = await docBlocks();
    // The set-up block: the TLS certificate and pebble's configuration as shown; the servers
    // (the lines ending in '&') are started here instead, to be stopped by their pids.
    const lines = sh[0]!.replace(/\\\n\s*/g, ' ').split('\n');
    const servers = lines.filter((l) => l.trim().endsWith('&')).map((l) => local(l.trim().slice(0, -1)));
    const setup = lines.filter((l) => !l.trim().endsWith('&') && !/^(apt-get|mkdir)/.test(l)).join('\n');
    const made = spawnSync('sh', ['-ec', local(setup)], { cwd: dir, encoding: 'utf8' });
    expect(made.status, made.stderr).to.equal(0);
    expect(servers).to.have.length(2);
    const procs: ChildProcess[] = [];
    try {
      for (const cmd of servers) procs.push(spawn('sh', ['-c', `exec env ${cmd}`], { cwd: dir, stdio: 'ignore' }));
      const ca = await fse.readFile(path.join(dir, 'tls-ca.pem'));
      const get = (url: string): Promise<Buffer | null> =>
        new Promise((resolve) => {
          https
            .get(url, { ca }, (res) => {
              const parts: Buffer[] = [];
              res.on('data', (d) => parts.push(d));
              res.on('end', () => resolve(res.statusCode === 200 ? Buffer.concat(parts) : null));
            })
            .on('error', () => resolve(null));
        });
      await until(
        'pebble to serve its directory',
        async () => (await get(local('https://127.0.0.1:14000/dir'))) !== null,
        20_000,
      );
      const config = path.join(dir, 'agent.yaml');
      await fse.writeFile(config, local(yaml));
      const store = path.join(dir, 'store');
      const status = async (): Promise<{ current: number | null; generations: Array<Record<string, unknown>> }> => {
        const r = await certswap(['status', '--dir', store, '--json']);
        return r.code === 0 ? JSON.parse(r.stdout) : { current: null, generations: [] };
      };

      // certswap agent --config FILE: generation 1.
      const agent = spawn(process.execPath, [CLI, 'agent', '--config', config], { cwd: dir, stdio: 'ignore' });
      procs.push(agent);
      try {
        await until('the agent to obtain generation 1', async () => (await status()).current === 1, 60_000);
      } finally {
        await stop(agent);
      }
      expect(agent.exitCode).to.equal(0);

      // certswap renew --config FILE: generation 2.
      const renew = await certswap(['renew', '--config', config], {});
      expect(renew.code, renew.stderr).to.equal(0);
      expect(renew.stdout).to.equal('device: generation 2\n');

      // certswap status: both, issued by pebble's intermediate, the chain stored with the leaf.
      const st = await status();
      expect(st.current).to.equal(2);
      const intermediate = new X509Certificate((await get(local('https://127.0.0.1:15000/intermediates/0')))!);
      expect(st.generations.map((g) => [g.id, g.valid, g.issuer, g.chainLength])).to.deep.equal([
        [1, true, intermediate.subject, 2],
        [2, true, intermediate.subject, 2],
      ]);
      for (const n of [1, 2]) {
        const chain = (await fse.readFile(path.join(store, 'generations', `${n}`, 'cert.pem'), 'utf8')).split(
          /(?<=-----END CERTIFICATE-----\n)/,
        );
        expect(new X509Certificate(chain[1]!).fingerprint256).to.equal(intermediate.fingerprint256);
      }
      expect(intermediate.subject).to.match(/^CN=Pebble Intermediate CA/);
    } finally {
      for (const p of procs) await stop(p);
    }
  });
});
