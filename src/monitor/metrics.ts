/**
 * The metrics certswap exports (docs/monitoring.md has the table), in one prom-client registry:
 * gauges read from a store's status (what is on disk now), and counters and timestamps fed by the
 * agent's events (what the agent did). Every certificate's series carry `name` and `dir`.
 *
 * Counters start at 0 for every label value the agent may use, so that a query such as
 * `increase(certswap_renewals_total{result="failure"}[1h])` finds a series (and a rule can
 * compare failure with success times) before the first failure ever happens.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreStatus } from '../store/ops/status.js';
import { ROLLBACK_REASONS, type AgentEvent } from '../agent/events.js';

/** The metric names: a contract (issue 14), used by the rules, the dashboard and the docs. */
export const METRIC = {
  expiry: 'certswap_certificate_expiry_timestamp_seconds',
  notBefore: 'certswap_certificate_not_before_timestamp_seconds',
  due: 'certswap_renewal_due_timestamp_seconds',
  activeGeneration: 'certswap_active_generation',
  generations: 'certswap_generations',
  trialPending: 'certswap_trial_pending',
  renewals: 'certswap_renewals_total',
  rollbacks: 'certswap_rollbacks_total',
  hookFailures: 'certswap_hook_failures_total',
  lastSuccess: 'certswap_last_renewal_success_timestamp_seconds',
  lastFailure: 'certswap_last_renewal_failure_timestamp_seconds',
  /** Beyond issue 14's list: what CertswapRenewalFailing needs (see failingSince below). */
  failingSince: 'certswap_renewal_failing_since_timestamp_seconds',
  provisionDuration: 'certswap_provision_duration_seconds',
  buildInfo: 'certswap_build_info',
} as const;

/** What one store's status alone tells (`certswap status --prometheus`), and the version. */
export const STORE_GAUGES = [
  METRIC.expiry,
  METRIC.notBefore,
  METRIC.activeGeneration,
  METRIC.generations,
  METRIC.trialPending,
  METRIC.buildInfo,
] as const;

export const RENEWAL_RESULTS = ['success', 'failure'] as const;

/**
 * Provisioning takes milliseconds with a local CA and up to minutes with an ACME CA that
 * validates over the network: 10 ms to about 5 min.
 */
const PROVISION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** One certificate the metrics describe: its configured name and its store directory. */
export interface Target {
  name: string;
  dir: string;
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export class CertswapMetrics {
  readonly registry = new Registry();
  private readonly g: Record<
    | 'expiry'
    | 'notBefore'
    | 'due'
    | 'activeGeneration'
    | 'generations'
    | 'trialPending'
    | 'lastSuccess'
    | 'lastFailure'
    | 'failingSince',
    Gauge<'name' | 'dir'>
  >;
  private readonly renewals: Counter<'name' | 'dir' | 'result'>;
  private readonly rollbacks: Counter<'name' | 'dir' | 'reason'>;
  private readonly hookFailures: Counter<'name' | 'dir'>;
  private readonly provision: Histogram<'name' | 'dir'>;
  private readonly dirs = new Map<string, string>();
  /** name -> start of its failure streak (ms), while its last look failed. */
  private readonly failing = new Map<string, number>();

  constructor(version: string) {
    const registers = [this.registry];
    const gauge = (name: string, help: string): Gauge<'name' | 'dir'> =>
      new Gauge({ name, help, labelNames: ['name', 'dir'], registers });
    this.g = {
      expiry: gauge(METRIC.expiry, 'notAfter of the active certificate (Unix time).'),
      notBefore: gauge(METRIC.notBefore, 'notBefore of the active certificate (Unix time).'),
      due: gauge(METRIC.due, 'When the agent will next try to renew (window, or retry after a failure; Unix time).'),
      activeGeneration: gauge(METRIC.activeGeneration, 'The active generation number (0: none).'),
      generations: gauge(METRIC.generations, 'Generations on disk.'),
      trialPending: gauge(METRIC.trialPending, '1 while an activation waits for its check (commit or rollback).'),
      lastSuccess: gauge(METRIC.lastSuccess, 'When a renewal last succeeded (Unix time; 0: not since start).'),
      lastFailure: gauge(METRIC.lastFailure, 'When a renewal last failed (Unix time; 0: not since start).'),
      // last_failure > last_success cannot say "still failing": a look that finds nothing due (a
      // pair installed by hand after the failures) renews nothing, so no success clears it.
      failingSince: gauge(
        METRIC.failingSince,
        'Start of the current run of failed looks, which the next good look ends (Unix time; 0: not failing).',
      ),
    };
    this.renewals = new Counter({
      name: METRIC.renewals,
      help: 'Renewals attempted, by result.',
      labelNames: ['name', 'dir', 'result'],
      registers,
    });
    this.rollbacks = new Counter({
      name: METRIC.rollbacks,
      help: 'Rollbacks of the active generation, by reason (check, manual, recover).',
      labelNames: ['name', 'dir', 'reason'],
      registers,
    });
    this.hookFailures = new Counter({
      name: METRIC.hookFailures,
      help: 'Consumer hooks that failed after all their attempts.',
      labelNames: ['name', 'dir'],
      registers,
    });
    this.provision = new Histogram({
      name: METRIC.provisionDuration,
      help: 'Time the provisioner took to return a new pair (or fail).',
      labelNames: ['name', 'dir'],
      buckets: PROVISION_BUCKETS,
      registers,
    });
    new Gauge({ name: METRIC.buildInfo, help: 'The certswap version.', labelNames: ['version'], registers }).set(
      { version },
      1,
    );
  }

  /** Adds a certificate: its counters start at 0, its timestamps at 0 (never, in this process). */
  addTarget(t: Target): void {
    this.dirs.set(t.name, t.dir);
    const l = { name: t.name, dir: t.dir };
    for (const result of RENEWAL_RESULTS) this.renewals.inc({ ...l, result }, 0);
    for (const reason of ROLLBACK_REASONS) this.rollbacks.inc({ ...l, reason }, 0);
    this.hookFailures.inc(l, 0);
    this.provision.zero(l);
    this.g.lastSuccess.set(l, 0);
    this.g.lastFailure.set(l, 0);
    this.g.failingSince.set(l, 0);
  }

  /**
   * Sets the store gauges of `t` from its status: what `certswap status --json` reports. The
   * expiry and notBefore series are removed while nothing is active or the active generation's
   * dates are unknown: a stale expiry would hide the problem from the expiry alert.
   */
  setStore(t: Target, s: StoreStatus): void {
    const l = { name: t.name, dir: t.dir };
    const active = s.generations.find((g) => g.active);
    this.g.activeGeneration.set(l, s.current ?? 0);
    this.g.generations.set(l, s.generations.length);
    this.g.trialPending.set(l, s.trial === null ? 0 : 1);
    if (active?.notAfter !== undefined && active.notBefore !== undefined) {
      this.g.expiry.set(l, seconds(active.notAfter));
      this.g.notBefore.set(l, seconds(active.notBefore));
    } else {
      this.g.expiry.remove(l);
      this.g.notBefore.remove(l);
    }
  }

  /** Counts one agent event at `now`. Events about an unknown certificate are ignored. */
  record(e: AgentEvent, now: Date): void {
    const dir = this.dirs.get(e.name);
    if (dir === undefined) return;
    const l = { name: e.name, dir };
    switch (e.type) {
      case 'rotated':
        this.renewals.inc({ ...l, result: 'success' });
        this.g.lastSuccess.set(l, now.getTime() / 1000);
        return;
      case 'renewal-failed':
        this.renewals.inc({ ...l, result: 'failure' });
        this.g.lastFailure.set(l, now.getTime() / 1000);
        if (!this.failing.has(e.name)) this.setFailing(l, now.getTime() / 1000);
        return;
      case 'looked':
        this.setFailing(l, 0);
        return;
      case 'rolled-back':
        this.rollbacks.inc({ ...l, reason: e.reason });
        return;
      case 'hook-failed':
        this.hookFailures.inc(l);
        return;
      case 'provisioned':
        this.provision.observe(l, e.seconds);
        return;
      case 'scheduled':
        this.g.due.set(l, e.at.getTime() / 1000);
        return;
      default:
        return;
    }
  }

  /**
   * Carries counters, last-renewal times and the failure streak over from an earlier exposition of the same targets
   * (the textfile a previous `agent --once` wrote): a timer-driven agent is a new process each
   * run, and counters that restarted at 0 every run would hide renewals from increase().
   */
  seed(samples: Array<{ metric: string; labels: Record<string, string>; value: number }>): void {
    for (const { metric, labels, value } of samples) {
      if (!Number.isFinite(value) || value < 0 || this.dirs.get(labels.name ?? '') !== labels.dir) continue;
      const l = { name: labels.name!, dir: labels.dir! };
      if (metric === METRIC.renewals && (RENEWAL_RESULTS as readonly string[]).includes(labels.result ?? '')) {
        this.renewals.inc({ ...l, result: labels.result! }, value);
      } else if (metric === METRIC.rollbacks && (ROLLBACK_REASONS as readonly string[]).includes(labels.reason ?? '')) {
        this.rollbacks.inc({ ...l, reason: labels.reason! }, value);
      } else if (metric === METRIC.hookFailures) {
        this.hookFailures.inc(l, value);
      } else if (metric === METRIC.lastSuccess) {
        this.g.lastSuccess.set(l, value);
      } else if (metric === METRIC.lastFailure) {
        this.g.lastFailure.set(l, value);
      } else if (metric === METRIC.failingSince) {
        this.setFailing(l, value);
      }
    }
  }

  /** The failure streak of `l` began at `seconds` (0: it has none). */
  private setFailing(l: Target, seconds: number): void {
    if (seconds > 0) this.failing.set(l.name, seconds);
    else this.failing.delete(l.name);
    this.g.failingSince.set({ name: l.name, dir: l.dir }, seconds);
  }

  /** The exposition text (Prometheus text format 0.0.4): every metric, or `only` these. */
  async text(opts: { only?: readonly string[] } = {}): Promise<string> {
    if (!opts.only) return this.registry.metrics();
    const parts = await Promise.all(opts.only.map((n) => this.registry.getSingleMetricAsString(n)));
    return `${parts.join('\n\n')}\n`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
