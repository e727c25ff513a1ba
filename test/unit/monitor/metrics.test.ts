import { expect } from 'chai';
import { CertswapMetrics, METRIC } from '../../../src/monitor/metrics.js';
import { parseExposition, type Sample } from '../../../src/monitor/exposition.js';
import type { StoreStatus } from '../../../src/store/ops/status.js';

const T = { name: 'device', dir: '/var/lib/certswap/device' };
const value = (samples: Sample[], metric: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find(
    (s) =>
      s.metric === metric && s.labels.name === T.name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;

function status(over: Partial<StoreStatus> = {}): StoreStatus {
  return {
    dir: T.dir,
    current: 3,
    previous: 2,
    trial: null,
    generations: [
      { id: 2, active: false, rollbackTarget: true, valid: true, notAfter: '2030-01-01T00:00:00.000Z' },
      {
        id: 3,
        active: true,
        rollbackTarget: false,
        valid: true,
        notBefore: '2029-12-01T00:00:00.000Z',
        notAfter: '2030-01-31T00:00:00.000Z',
      },
    ],
    problems: [],
    ...over,
  };
}

describe('monitor/metrics', () => {
  it('sets the store gauges from a status, as status --json reports it', async () => {
    const m = new CertswapMetrics('1.2.3');
    m.addTarget(T);
    m.setStore(T, status());
    const s = parseExposition(await m.text());
    expect(value(s, METRIC.expiry)).to.equal(Date.parse('2030-01-31T00:00:00Z') / 1000);
    expect(value(s, METRIC.notBefore)).to.equal(Date.parse('2029-12-01T00:00:00Z') / 1000);
    expect(value(s, METRIC.activeGeneration)).to.equal(3);
    expect(value(s, METRIC.generations)).to.equal(2);
    expect(value(s, METRIC.trialPending)).to.equal(0);
    expect(s.find((x) => x.metric === METRIC.buildInfo)?.labels).to.deep.equal({ version: '1.2.3' });
    expect(s.find((x) => x.metric === METRIC.expiry)?.labels).to.deep.equal(T);
    // A trial, then nothing active: the dates disappear rather than stay stale.
    m.setStore(T, status({ trial: { generation: 3, returnTo: 2 } as StoreStatus['trial'] }));
    expect(value(parseExposition(await m.text()), METRIC.trialPending)).to.equal(1);
    m.setStore(T, status({ current: null, generations: [] }));
    const none = parseExposition(await m.text());
    expect(value(none, METRIC.activeGeneration)).to.equal(0);
    expect(value(none, METRIC.expiry)).to.equal(undefined);
    expect(value(none, METRIC.notBefore)).to.equal(undefined);
  });

  it('starts every counter at 0 and counts the agent events', async () => {
    const m = new CertswapMetrics('x');
    m.addTarget(T);
    let s = parseExposition(await m.text());
    for (const result of ['success', 'failure']) expect(value(s, METRIC.renewals, { result })).to.equal(0);
    for (const reason of ['check', 'manual', 'recover']) expect(value(s, METRIC.rollbacks, { reason })).to.equal(0);
    expect(value(s, METRIC.hookFailures)).to.equal(0);
    expect(value(s, `${METRIC.provisionDuration}_count`)).to.equal(0);
    const at = new Date('2030-01-02T03:04:05.678Z');
    const r = { name: T.name, generation: 4, previous: 3, fingerprint: 'ab', notAfter: '2030-02-01T00:00:00Z' };
    m.record({ type: 'rotated', ...r }, at);
    m.record({ type: 'renewal-failed', name: T.name, code: 'CERTSWAP_CA_UNAVAILABLE', message: 'down' }, at);
    m.record({ type: 'renewal-failed', name: T.name, code: 'CERTSWAP_CA_UNAVAILABLE', message: 'down' }, at);
    m.record({ type: 'rolled-back', name: T.name, reason: 'check', generation: 3, from: 4 }, at);
    m.record({ type: 'hook-failed', name: T.name, hook: 'activate', code: 'CERTSWAP_HOOK_FAILED' }, at);
    m.record({ type: 'provisioned', name: T.name, seconds: 0.3 }, at);
    m.record({ type: 'scheduled', name: T.name, at: new Date('2030-01-20T00:00:00Z'), why: 'window' }, at);
    m.record({ type: 'rotated', ...r, name: 'unknown' }, at); // not a target: ignored
    s = parseExposition(await m.text());
    expect(value(s, METRIC.renewals, { result: 'success' })).to.equal(1);
    expect(value(s, METRIC.renewals, { result: 'failure' })).to.equal(2);
    expect(value(s, METRIC.rollbacks, { reason: 'check' })).to.equal(1);
    expect(value(s, METRIC.hookFailures)).to.equal(1);
    expect(value(s, METRIC.lastSuccess)).to.equal(at.getTime() / 1000);
    expect(value(s, METRIC.lastFailure)).to.equal(at.getTime() / 1000);
    expect(value(s, `${METRIC.provisionDuration}_count`)).to.equal(1);
    expect(value(s, `${METRIC.provisionDuration}_bucket`, { le: '0.5' })).to.equal(1);
    expect(value(s, `${METRIC.provisionDuration}_bucket`, { le: '0.25' })).to.equal(0);
    expect(value(s, METRIC.due)).to.equal(Date.parse('2030-01-20T00:00:00Z') / 1000);
    expect(s.some((x) => x.labels.name === 'unknown')).to.equal(false);
  });

  it('keeps the start of a failure streak until a look ends fine, even one that renews nothing', async () => {
    const m = new CertswapMetrics('x');
    m.addTarget(T);
    const failingSince = async (): Promise<number | undefined> =>
      value(parseExposition(await m.text()), METRIC.failingSince);
    expect(await failingSince()).to.equal(0);
    const t1 = new Date('2030-01-02T00:00:00Z');
    m.record({ type: 'renewal-failed', name: T.name, code: 'E', message: '' }, t1);
    m.record({ type: 'renewal-failed', name: T.name, code: 'E', message: '' }, new Date('2030-01-03T00:00:00Z'));
    expect(await failingSince()).to.equal(t1.getTime() / 1000);
    // A pair installed by hand meanwhile: the next look finds nothing due. No renewal succeeded, so
    // last_success stays below last_failure; the streak is over all the same.
    m.record({ type: 'looked', name: T.name, renewed: false }, new Date('2030-01-04T00:00:00Z'));
    expect(await failingSince()).to.equal(0);
    // Carried over by a later run (agent --once), and kept by its next failure.
    m.record({ type: 'renewal-failed', name: T.name, code: 'E', message: '' }, t1);
    const next = new CertswapMetrics('x');
    next.addTarget(T);
    next.seed(parseExposition(await m.text()));
    next.record({ type: 'renewal-failed', name: T.name, code: 'E', message: '' }, new Date('2030-01-05T00:00:00Z'));
    expect(value(parseExposition(await next.text()), METRIC.failingSince)).to.equal(t1.getTime() / 1000);
  });

  it('carries counters and last-renewal times over from an earlier exposition of the same targets', async () => {
    const a = new CertswapMetrics('x');
    a.addTarget(T);
    const at = new Date('2030-01-02T00:00:00Z');
    a.record({ type: 'renewal-failed', name: T.name, code: 'E', message: '' }, at);
    a.record({ type: 'rolled-back', name: T.name, reason: 'manual', generation: 1, from: 2 }, at);
    const earlier = await a.text();
    const b = new CertswapMetrics('x');
    b.addTarget(T);
    b.seed(parseExposition(earlier));
    // A certificate that moved to another store is not seeded from the old one's series.
    b.seed(parseExposition(earlier.replaceAll(T.dir, '/elsewhere').replaceAll('failure"} 1', 'failure"} 7')));
    b.record({ type: 'renewal-failed', name: T.name, code: 'E', message: '' }, new Date('2030-01-03T00:00:00Z'));
    const s = parseExposition(await b.text());
    expect(value(s, METRIC.renewals, { result: 'failure' })).to.equal(2);
    expect(value(s, METRIC.rollbacks, { reason: 'manual' })).to.equal(1);
    expect(value(s, METRIC.lastFailure)).to.equal(Date.parse('2030-01-03T00:00:00Z') / 1000);
  });
});
