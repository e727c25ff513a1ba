/**
 * The agent's monitor against a real store: gauges read at a refresh, manual rollbacks noticed
 * (and the agent's own moves not taken for them), the textfile written durably and read back.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { GenerationStore } from '../../src/index.js';
import { CertswapMetrics, METRIC } from '../../src/monitor/metrics.js';
import { AgentMonitor } from '../../src/monitor/monitor.js';
import { parseExposition } from '../../src/monitor/exposition.js';
import { TextfileWriter } from '../../src/monitor/textfile.js';
import type { AgentEvent } from '../../src/agent/events.js';
import { silentLog } from '../../src/store/context.js';
import { makePair } from '../helpers/certs.js';
import { injectFault } from '../helpers/faults.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { isRoot } from '../helpers/users.js';
import { captureLog } from '../helpers/fake-clock.js';
import { until } from '../helpers/proc.js';
import { startMetricsServer } from '../../src/monitor/server.js';
import net from 'node:net';
import http from 'node:http';

async function setUp(): Promise<{
  store: GenerationStore;
  monitor: AgentMonitor;
  metrics: CertswapMetrics;
  inferred: AgentEvent[];
  value: (metric: string, labels?: Record<string, string>) => Promise<number | undefined>;
}> {
  const dir = await storeDir();
  const store = await GenerationStore.open(dir);
  for (let i = 0; i < 3; i++) await store.install(await makePair());
  const metrics = new CertswapMetrics('test');
  const inferred: AgentEvent[] = [];
  const monitor = new AgentMonitor({
    metrics,
    targets: [{ name: 'device', dir }],
    status: () => store.status(),
    now: () => new Date(),
    unhealthyAfterMs: 60_000,
    onEvent: (e) => inferred.push(e),
  });
  const value = async (metric: string, labels: Record<string, string> = {}) =>
    parseExposition(await metrics.text()).find(
      (s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value;
  return { store, monitor, metrics, inferred, value };
}

describe('monitor: the agent side', () => {
  it('counts a rollback made by another process as manual, once, and never the agent’s own', async () => {
    const { store, monitor, inferred, value } = await setUp();
    monitor.observe({ type: 'look', name: 'device', generation: 3, notAfter: null });
    monitor.observe({ type: 'looked', name: 'device', renewed: false });
    await monitor.refresh();
    expect(await value(METRIC.activeGeneration)).to.equal(3);
    // certswap rollback, from the CLI: seen at the next refresh.
    await store.rollback();
    await monitor.refresh();
    expect(await value(METRIC.activeGeneration)).to.equal(2);
    expect(await value(METRIC.rollbacks, { reason: 'manual' })).to.equal(1);
    expect(inferred).to.deep.equal([{ type: 'rolled-back', name: 'device', reason: 'manual', generation: 2, from: 3 }]);
    await monitor.refresh();
    monitor.observe({ type: 'look', name: 'device', generation: 2, notAfter: null });
    monitor.observe({ type: 'looked', name: 'device', renewed: false });
    expect(await value(METRIC.rollbacks, { reason: 'manual' })).to.equal(1);
    // The agent's own check rollback, while its look is under way: not manual.
    monitor.observe({ type: 'look', name: 'device', generation: 2, notAfter: null });
    await store.activate(3, { trial: true });
    await monitor.refresh();
    await store.rollback();
    await monitor.refresh();
    monitor.observe({ type: 'rolled-back', name: 'device', reason: 'check', generation: 2, from: 3 });
    monitor.observe({ type: 'renewal-failed', name: 'device', code: 'CERTSWAP_CHECK_FAILED', message: '' });
    await monitor.refresh();
    expect(await value(METRIC.rollbacks, { reason: 'manual' })).to.equal(1);
    expect(await value(METRIC.rollbacks, { reason: 'check' })).to.equal(1);
    // A manual rollback found by the agent's next look rather than a scrape.
    await store.activate(1);
    monitor.observe({ type: 'look', name: 'device', generation: 1, notAfter: null });
    monitor.observe({ type: 'looked', name: 'device', renewed: false });
    expect(await value(METRIC.rollbacks, { reason: 'manual' })).to.equal(2);
  });

  it('writes the textfile durably, readable by others, valid for promtool, and carries counters over', async () => {
    const { monitor, metrics } = await setUp();
    const dir = await tempDir();
    const file = path.join(dir, 'certswap.prom');
    // A temporary left by a writer that died (pid 2^22+1 is above pid_max's default), and a live one's.
    const dead = `.certswap.prom.tmp-4194305-0badc0de`;
    const live = `.certswap.prom.tmp-${process.pid}-0badc0de`;
    await fse.writeFile(path.join(dir, dead), 'half');
    await fse.writeFile(path.join(dir, live), 'half');
    const writer = await TextfileWriter.open(file, metrics, silentLog);
    expect((await fse.readdir(dir)).sort()).to.deep.equal([live]);
    monitor.observe({ type: 'renewal-failed', name: 'device', code: 'CERTSWAP_CA_UNAVAILABLE', message: 'down' });
    await monitor.refresh();
    await writer.write();
    expect((await fse.stat(file)).mode & 0o777).to.equal(0o644);
    const text = await fse.readFile(file, 'utf8');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).to.equal(0);
    expect(text).to.match(/^certswap_renewals_total\{name="device",dir="[^"]+",result="failure"\} 1$/m);
    // The next run (agent --once under a timer) starts from these counters.
    const nextMetrics = new CertswapMetrics('test');
    nextMetrics.addTarget({ name: 'device', dir: parseExposition(text).find((s) => s.labels.dir)!.labels.dir! });
    await TextfileWriter.open(file, nextMetrics, silentLog);
    expect(await nextMetrics.text()).to.match(/result="failure"\} 1$/m);
  });

  it('a textfile write failed at any mutating call raises its code and leaves the old file whole', async () => {
    const { monitor, metrics } = await setUp();
    const dir = await tempDir();
    const file = path.join(dir, 'certswap.prom');
    const writer = await TextfileWriter.open(file, metrics, silentLog);
    await monitor.refresh();
    await writer.write();
    const before = await fse.readFile(file, 'utf8');
    const counting = injectFault(Infinity, 'EIO');
    monitor.observe({ type: 'renewal-failed', name: 'device', code: 'CERTSWAP_CA_UNAVAILABLE', message: '' });
    try {
      await writer.write();
    } finally {
      counting.restore();
    }
    const calls = counting.count();
    expect(calls).to.be.at.least(4); // open (O_CREAT), fchmod, write, fsync, rename...
    const after = await fse.readFile(file, 'utf8');
    expect(after).to.not.equal(before);
    for (const errno of ['EIO', 'ENOSPC']) {
      for (let k = 1; k <= calls; k++) {
        await fse.writeFile(file, after);
        monitor.observe({ type: 'renewal-failed', name: 'device', code: 'X', message: '' });
        const fault = injectFault(k, errno);
        let code: string | undefined;
        try {
          await writer.write();
        } catch (err) {
          code = (err as NodeJS.ErrnoException).code;
        } finally {
          fault.restore();
        }
        // A failure before the rename leaves the old file; after it (the directory fsync), the new
        // one, which is also whole. Either way no temporary is left and the code is the errno.
        expect(code, `${fault.failed()}`).to.equal(errno);
        const now = await fse.readFile(file, 'utf8');
        expect(parseExposition(now).length, fault.failed()!).to.equal(parseExposition(after).length);
        expect(await fse.readdir(dir), fault.failed()!).to.deep.equal(['certswap.prom']);
      }
    }
  });

  it('a link planted at the textfile name is replaced, never written through', async () => {
    const { monitor, metrics } = await setUp();
    const dir = await tempDir();
    const canary = path.join(await tempDir(), 'canary');
    await fse.writeFile(canary, 'certswap_renewals_total{name="device",dir="DIR",result="failure"} 99\n');
    const file = path.join(dir, 'certswap.prom');
    await fse.symlink(canary, file);
    // And a link at a leftover's name pointing at the canary: unlinked, not followed.
    await fse.symlink(canary, path.join(dir, '.certswap.prom.tmp-4194305-00000000'));
    await fse.writeFile(
      canary,
      (await fse.readFile(canary, 'utf8')).replace('DIR', (await monitor.refresh()).get('device')!.dir),
    );
    const before = await fse.readFile(canary, 'utf8');
    const writer = await TextfileWriter.open(file, metrics, silentLog);
    await monitor.refresh();
    await writer.write();
    expect(await fse.readFile(canary, 'utf8')).to.equal(before);
    // Nor read through: the planted file's counters are not carried over.
    expect(await fse.readFile(file, 'utf8')).to.match(/result="failure"\} 0$/m);
    expect((await fse.lstat(file)).isFile()).to.equal(true);
    expect(await fse.readdir(dir)).to.deep.equal(['certswap.prom']);
  });

  it('an earlier textfile that another user planted (or a second name of one) is not read back', async function () {
    if (!isRoot()) this.skip(); // a file owned by another user is made with chown
    const { monitor, metrics, value } = await setUp();
    const storePath = (await monitor.refresh()).get('device')!.dir;
    const dir = await tempDir();
    const file = path.join(dir, 'certswap.prom');
    // What a member of a group-writable textfile directory could leave there: a last success far in
    // the future would silence CertswapRenewalFailing for good, as every later run carried it over.
    const forged =
      `certswap_renewals_total{name="device",dir="${storePath}",result="failure"} 99\n` +
      `certswap_last_renewal_success_timestamp_seconds{name="device",dir="${storePath}"} 9999999999\n`;
    await fse.writeFile(file, forged);
    await fse.chown(file, 65534, 65534);
    await TextfileWriter.open(file, metrics, silentLog);
    expect(await value(METRIC.renewals, { result: 'failure' })).to.equal(0);
    expect(await value(METRIC.lastSuccess)).to.equal(0);
    // Ours by owner, but with a second name: not the file this writer left (it writes a new inode).
    await fse.chown(file, 0, 0);
    await fse.link(file, path.join(dir, 'other'));
    await TextfileWriter.open(file, metrics, silentLog);
    expect(await value(METRIC.renewals, { result: 'failure' })).to.equal(0);
  });

  it("a directory on the textfile's way that became a link is refused, not written or read through", async () => {
    const { monitor, metrics } = await setUp();
    // Debian: /var/lib/prometheus (the prometheus user's) holds node-exporter/ (root's). Whoever
    // owns the parent can put a link in the textfile directory's place, to a directory of root's.
    const parent = await tempDir();
    const textDir = path.join(parent, 'node-exporter');
    await fse.mkdirp(textDir);
    const file = path.join(textDir, 'certswap.prom');
    const elsewhere = await tempDir();
    const storePath = (await monitor.refresh()).get('device')!.dir;
    await fse.writeFile(
      path.join(elsewhere, 'certswap.prom'),
      `certswap_renewals_total{name="device",dir="${storePath}",result="failure"} 99\n`,
    );
    await fse.writeFile(path.join(elsewhere, '.certswap.prom.tmp-4194305-0badc0de'), 'not ours');
    const before = (await fse.readdir(elsewhere)).sort();
    const canary = await fse.readFile(path.join(elsewhere, 'certswap.prom'), 'utf8');
    await fse.remove(textDir);
    await fse.symlink(elsewhere, textDir);
    const writer = await TextfileWriter.open(file, metrics, silentLog);
    expect(await metrics.text()).to.match(/result="failure"\} 0$/m);
    let code: string | undefined;
    try {
      await writer.write();
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
    expect(code).to.be.oneOf(['ENOTDIR', 'ELOOP']);
    expect((await fse.readdir(elsewhere)).sort()).to.deep.equal(before);
    expect(await fse.readFile(path.join(elsewhere, 'certswap.prom'), 'utf8')).to.equal(canary);
    // The directory put back: written there, as configured.
    await fse.remove(textDir);
    await fse.mkdirp(textDir);
    await writer.write();
    expect(await fse.readdir(textDir)).to.deep.equal(['certswap.prom']);
  });

  it('the endpoint answers a request target it cannot read with 400, and logs nothing for it', async () => {
    const { monitor, metrics } = await setUp();
    const { log, events } = captureLog();
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, monitor, metrics, log);
    try {
      // Any local user can send these as fast as they like: a warning each would flood the log.
      const answer = await new Promise<string>((resolve, reject) => {
        let got = '';
        const s = net.connect(server.address.port, '127.0.0.1', () =>
          s.end('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        );
        s.on('data', (d) => (got += d));
        s.on('end', () => resolve(got));
        s.on('error', reject);
      });
      expect(answer.split('\r\n')[0]).to.equal('HTTP/1.1 400 Bad Request');
      expect(events.filter((e) => e.level !== 'info')).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('the endpoint stays reachable past connections that send nothing, and holds at most 32', async () => {
    const { monitor, metrics } = await setUp();
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, monitor, metrics, silentLog);
    const port = server.address.port;
    const closed = new Set<number>();
    const open = (i: number): Promise<net.Socket> =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.resume();
        s.on('close', () => closed.add(i));
        s.on('error', () => undefined);
        s.once('error', reject);
      });
    const scrape = (): Promise<number | string> =>
      new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
    const idle: net.Socket[] = [];
    try {
      // What any local user can do: 40 connections that never send a request, the last half-sent.
      for (let i = 0; i < 40; i++) idle.push(await open(i));
      idle[39]!.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      expect(await scrape()).to.equal(200);
      // The oldest idle ones made room (8 for the 33rd to 40th, one for the scrape); the rest stay.
      await until('the oldest idle connections to be closed', () => closed.size >= 9);
      expect([...closed].sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    } finally {
      for (const s of idle) s.destroy();
      await server.close();
    }
  });

  it('the endpoint refuses a connection over 32 while every one held is being answered', async () => {
    const { store, metrics } = await setUp();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    // Counts the requests answer() has begun (one refresh each; they share the one under way).
    const monitor = new (class extends AgentMonitor {
      begun = 0;
      override refresh(): ReturnType<AgentMonitor['refresh']> {
        this.begun++;
        return super.refresh();
      }
    })({
      metrics,
      targets: [{ name: 'device', dir: store.dir }],
      status: async () => {
        await gate;
        return store.status();
      },
      now: () => new Date(),
      unhealthyAfterMs: 60_000,
    });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, monitor, metrics, silentLog);
    const scrape = (): Promise<number | string> =>
      new Promise((resolve) => {
        const req = http.get(
          { host: '127.0.0.1', port: server.address.port, path: '/metrics', agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
    try {
      const held: Promise<number | string>[] = [];
      for (let i = 0; i < 32; i++) held.push(scrape());
      // Each of the 32 has sent its request (the refresh waits at the gate for all of them).
      await until('32 requests in flight', () => monitor.begun === 32);
      expect(await scrape()).to.equal('ECONNRESET');
      release();
      expect(await Promise.all(held)).to.deep.equal(Array(32).fill(200));
    } finally {
      release();
      await server.close();
    }
  });
});
