/**
 * The agent's metrics as a real process: /metrics serves what `certswap status --json` reports,
 * and what `status --prometheus` prints; a rollback by the CLI is counted as manual; /healthz
 * fails for a certificate with nothing active and for renewals failing too long; `agent --once`
 * writes the textfile and carries its counters from run to run.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { certswap, freePort, until } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { CA_DOWN, LOCAL_CA, certificateYaml, get, startAgent } from '../helpers/agent-proc.js';
import { parseExposition, type Sample } from '../../src/monitor/exposition.js';
import type { StoreStatus } from '../../src/store/ops/status.js';

const find = (samples: Sample[], metric: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('monitor: the agent process', function () {
  this.timeout(60_000);

  it('serves on metrics.listen the values `status --json` reports; counts a CLI rollback as manual', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const config = path.join(dir, 'agent.yaml');
    await fse.writeFile(
      config,
      `metrics: { listen: "127.0.0.1:${port}" }\ncertificates:\n${certificateYaml('device', 'store', LOCAL_CA('1h'))}`,
    );
    const store = path.join(dir, 'store');
    const agent = startAgent(config);
    try {
      const scrape = async (): Promise<Sample[]> =>
        parseExposition((await get(`http://127.0.0.1:${port}/metrics`)).body);
      await until('generation 1 in /metrics', async () => {
        const ok = await scrape().catch(() => []);
        return find(ok, 'certswap_active_generation', { name: 'device' }) === 1;
      });
      // A second generation by another process (renew), so that there is something to roll back to.
      expect((await certswap(['renew', '--config', config])).code).to.equal(0);
      const status = JSON.parse((await certswap(['status', '--dir', store, '--json'])).stdout) as StoreStatus;
      const active = status.generations.find((g) => g.active)!;
      const m = await scrape();
      const labels = { name: 'device', dir: store };
      expect(find(m, 'certswap_active_generation', labels))
        .to.equal(status.current)
        .and.equal(2);
      expect(find(m, 'certswap_generations', labels)).to.equal(status.generations.length);
      expect(find(m, 'certswap_trial_pending', labels)).to.equal(status.trial === null ? 0 : 1);
      expect(find(m, 'certswap_certificate_expiry_timestamp_seconds', labels)).to.equal(
        Date.parse(active.notAfter!) / 1000,
      );
      expect(find(m, 'certswap_certificate_not_before_timestamp_seconds', labels)).to.equal(
        Date.parse(active.notBefore!) / 1000,
      );
      expect(find(m, 'certswap_renewals_total', { ...labels, result: 'success' })).to.equal(1); // the agent's own
      expect(find(m, 'certswap_build_info')).to.equal(1);
      const due = find(m, 'certswap_renewal_due_timestamp_seconds', labels)!;
      expect(due).to.be.above(Date.now() / 1000);
      expect(agent.log()).to.contain(`"nextRenewal":"${new Date(due * 1000).toISOString()}"`);
      // status --prometheus prints the same store gauges (named after the directory).
      const cli = await certswap(['status', '--dir', store, '--prometheus']);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: cli.stdout, encoding: 'utf8' });
      expect(check.status, check.stderr).to.equal(0);
      for (const metric of [
        'certswap_active_generation',
        'certswap_generations',
        'certswap_trial_pending',
        'certswap_certificate_expiry_timestamp_seconds',
        'certswap_certificate_not_before_timestamp_seconds',
      ]) {
        expect(find(parseExposition(cli.stdout), metric, { name: 'store', dir: store }), metric).to.equal(
          find(m, metric, labels),
        );
      }
      // certswap rollback from the CLI: the agent did not make it, the next scrape counts it.
      expect((await certswap(['rollback', '--dir', store])).code).to.equal(0);
      const after = await scrape();
      expect(find(after, 'certswap_active_generation', labels)).to.equal(1);
      expect(find(after, 'certswap_rollbacks_total', { ...labels, reason: 'manual' })).to.equal(1);
      expect((await get(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);
      expect((await get(`http://127.0.0.1:${port}/nothing`)).status).to.equal(404);
    } finally {
      expect(await agent.stop()).to.equal(0);
    }
  });

  it('/healthz fails while a certificate has nothing active, or its renewals fail longer than unhealthyAfter', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const config = path.join(dir, 'agent.yaml');
    // An 8 s certificate, enrolled first, then renewed (due at once) through a CA that is down:
    // failing for more than 1 s, then expired.
    await fse.writeFile(config, `certificates:\n${certificateYaml('device', 'store', LOCAL_CA('8s'))}`);
    expect((await certswap(['renew', '--config', config])).code).to.equal(0);
    await fse.writeFile(
      config,
      `metrics: { listen: "127.0.0.1:${port}", unhealthyAfter: 1s }
certificates:
${certificateYaml('device', 'store', CA_DOWN, '    renew: { from: 0.01, to: 0.02 }\n')}${certificateYaml('down', 'store2', CA_DOWN)}`,
    );
    const agent = startAgent(config);
    try {
      const health = async () => {
        const r = await get(`http://127.0.0.1:${port}/healthz`).catch(() => ({ status: 0, body: '' }));
        return { status: r.status, body: r.status ? (JSON.parse(r.body) as { certificates: unknown[] }) : null };
      };
      await until('/healthz to answer', async () => (await health()).status !== 0);
      const first = await health();
      expect(first.status).to.equal(503);
      expect(first.body!.certificates).to.deep.include({
        name: 'down',
        healthy: false,
        problem: 'no active generation',
      });
      await until('renewals of device failing for more than 1 s', async () =>
        JSON.stringify((await health()).body).includes('"name":"device","healthy":false'),
      );
      expect(JSON.stringify((await health()).body)).to.match(
        /"name":"device","healthy":false,"problem":"renewals failing since/,
      );
      await until('device to expire', async () => JSON.stringify((await health()).body).includes('CERTSWAP_EXPIRED'));
      expect((await health()).body!.certificates).to.deep.include({
        name: 'device',
        healthy: false,
        problem: 'active generation 1 is not valid (CERTSWAP_EXPIRED)',
      });
    } finally {
      expect(await agent.stop()).to.equal(0);
    }
  });

  it('agent --once writes the textfile (valid for promtool), and the next run counts on from it', async () => {
    const dir = await tempDir();
    const textfile = path.join(dir, 'textfile', 'certswap.prom');
    await fse.mkdirp(path.dirname(textfile));
    const config = path.join(dir, 'agent.yaml');
    const certificates = [
      certificateYaml('device', 'store', LOCAL_CA('1h')),
      certificateYaml('down', 'store2', CA_DOWN),
      // A check that always fails.
      certificateYaml('picky', 'store3', LOCAL_CA('1h'), "    check: { command: [sh, -c, 'exit 1'] }\n"),
      // A reload hook that never takes: nothing serves on the port hooks.verify checks.
      certificateYaml(
        'lagging',
        'store4',
        LOCAL_CA('1h'),
        '    hooks: { command: ["true"], verify: { host: 127.0.0.1, port: 1, attempts: 1, backoff: 100ms } }\n',
      ),
    ];
    await fse.writeFile(
      config,
      `metrics: { textfile: textfile/certswap.prom }\ncertificates:\n${certificates.join('')}`,
    );
    for (const run of [1, 2]) {
      const r = await certswap(['agent', '--config', config, '--once']);
      expect(r.code, r.stderr).to.equal(1); // `down` failed
      const text = await fse.readFile(textfile, 'utf8');
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.status, check.stderr).to.equal(0);
      const m = parseExposition(text);
      expect(find(m, 'certswap_renewals_total', { name: 'down', result: 'failure' })).to.equal(run);
      expect(find(m, 'certswap_renewals_total', { name: 'device', result: 'success' })).to.equal(1);
      expect(find(m, 'certswap_active_generation', { name: 'device' })).to.equal(1);
      expect(find(m, 'certswap_last_renewal_success_timestamp_seconds', { name: 'device' })).to.be.above(0);
      // A check that fails: the trial is rolled back (reason check) and the renewal counted failed.
      expect(find(m, 'certswap_rollbacks_total', { name: 'picky', reason: 'check' })).to.equal(run);
      expect(find(m, 'certswap_renewals_total', { name: 'picky', result: 'failure' })).to.equal(run);
      expect(find(m, 'certswap_trial_pending', { name: 'picky' })).to.equal(0);
      // hooks.verify found nothing serving the new certificate: the reload did not take (run 1;
      // run 2 renews nothing and carries the count over).
      expect(find(m, 'certswap_hook_failures_total', { name: 'lagging' })).to.equal(1);
      expect(find(m, 'certswap_hook_failures_total', { name: 'device' })).to.equal(0);
    }
    expect(await fse.readdir(path.dirname(textfile))).to.deep.equal(['certswap.prom']);
    // A textfile that cannot be written (its directory is gone) is logged; the renewals go on.
    await fse.remove(path.dirname(textfile));
    await fse.remove(path.join(dir, 'store'));
    const r = await certswap(['agent', '--config', config, '--once', '--log-level', 'warn']);
    expect(r.code).to.equal(1); // `down` and `picky` still fail; `device` is enrolled again
    expect(r.stderr).to.match(/"event":"textfile".*ENOENT|ENOENT.*"event":"textfile"/);
    expect((await certswap(['status', '--dir', path.join(dir, 'store'), '--json'])).stdout).to.match(/"current":1/);
  });

  it('does not start when metrics.listen cannot be bound (agent --once, which serves nothing, does)', async () => {
    const dir = await tempDir();
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const config = path.join(dir, 'agent.yaml');
      await fse.writeFile(
        config,
        `metrics: { listen: "127.0.0.1:${port}" }\ncertificates:\n${certificateYaml('device', 'store', LOCAL_CA('1h'))}`,
      );
      const r = await certswap(['agent', '--config', config]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/EADDRINUSE/);
      // agent --once serves no endpoint: the port being taken does not matter to it.
      const once = await certswap(['agent', '--config', config, '--once']);
      expect(once.code, once.stderr).to.equal(0);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
