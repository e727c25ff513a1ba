/**
 * The agent's monitor: observes the manager's events (counters, times, the due time), reads each
 * store's status when asked for fresh gauges (a scrape, a textfile write), answers /healthz, and
 * notices rollbacks the agent did not make.
 *
 * A manual rollback (`certswap rollback`, or `activate` of an older generation) happens in another
 * process; the agent only sees its result: `current` names a lower generation than the one the
 * agent itself last saw or left active. It is checked at each look (which the manager runs under
 * its per-certificate queue) and at each refresh while no operation of the agent is under way on
 * that certificate (the agent's own check rollback moves `current` back too, and is reported by its
 * own event). Each such move counts once as rollbacks_total{reason="manual"}, and is passed on
 * (`onEvent`) as a rolled-back event, so that webhooks hear of it too.
 */
import type { AgentEvent } from '../agent/events.js';
import type { StoreStatus } from '../store/ops/status.js';
import { certificateHealth, overallHealth, type Health } from './health.js';
import type { CertswapMetrics, Target } from './metrics.js';

export interface MonitorOptions {
  metrics: CertswapMetrics;
  targets: Target[];
  /** The store status of certificate `name` (read without a lock). */
  status(name: string): Promise<StoreStatus>;
  now(): Date;
  /** How long renewals may fail without a break before /healthz fails. */
  unhealthyAfterMs: number;
  /** Events the monitor infers (manual rollbacks), for other observers. */
  onEvent?: (e: AgentEvent) => void;
}

export class AgentMonitor {
  /** The generation the agent last saw or left active, per certificate. */
  private readonly expected = new Map<string, number>();
  /** Certificates with a look under way (between `look` and its end). */
  private readonly busy = new Set<string>();
  /** Counts looks, so that a refresh can tell whether one began while it read the status. */
  private readonly looks = new Map<string, number>();
  private readonly failingSince = new Map<string, number>();
  private refreshing: Promise<Map<string, StoreStatus>> | undefined;

  constructor(private readonly opts: MonitorOptions) {
    for (const t of opts.targets) opts.metrics.addTarget(t);
  }

  /** The observer to hand the manager (events.ts). */
  readonly observe = (e: AgentEvent): void => {
    this.opts.metrics.record(e, this.opts.now());
    switch (e.type) {
      case 'looking':
        // Before the look's first change (the rollback of a trial left pending): a refresh that
        // reads the store meanwhile must not take that rollback for someone else's.
        this.begin(e.name);
        return;
      case 'look':
        this.begin(e.name);
        if (e.generation !== null) this.saw(e.name, e.generation);
        return;
      case 'looked':
        this.busy.delete(e.name);
        this.failingSince.delete(e.name);
        return;
      case 'renewal-failed':
        this.busy.delete(e.name);
        if (!this.failingSince.has(e.name)) this.failingSince.set(e.name, this.opts.now().getTime());
        return;
      case 'rotated':
        this.expected.set(e.name, e.generation);
        return;
      case 'rolled-back':
        if (e.generation !== null) this.expected.set(e.name, e.generation);
        return;
      default:
        return;
    }
  };

  /** A look at `name` is under way: its moves of `current` are the agent's own. */
  private begin(name: string): void {
    this.busy.add(name);
    this.looks.set(name, (this.looks.get(name) ?? 0) + 1);
  }

  /** `current` of `name` is `generation`: a move below what the agent expects is a manual rollback. */
  private saw(name: string, generation: number): void {
    const before = this.expected.get(name);
    this.expected.set(name, generation);
    if (before === undefined || generation >= before) return;
    const e: AgentEvent = { type: 'rolled-back', name, reason: 'manual', generation, from: before };
    this.opts.metrics.record(e, this.opts.now());
    this.opts.onEvent?.(e);
  }

  /**
   * Reads every store's status and sets the gauges from it (one refresh at a time: concurrent
   * callers share it). A store that cannot be read keeps its last gauges and fails the refresh.
   */
  refresh(): Promise<Map<string, StoreStatus>> {
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async read(): Promise<Map<string, StoreStatus>> {
    const out = new Map<string, StoreStatus>();
    for (const t of this.opts.targets) {
      const looks = this.looks.get(t.name);
      const idle = !this.busy.has(t.name);
      const s = await this.opts.status(t.name);
      this.opts.metrics.setStore(t, s);
      // Only when no look of the agent began or ran meanwhile: its own moves are not manual.
      if (idle && !this.busy.has(t.name) && this.looks.get(t.name) === looks && s.current !== null) {
        if (this.expected.has(t.name)) this.saw(t.name, s.current);
      }
      out.set(t.name, s);
    }
    return out;
  }

  /** Refreshes, then judges every certificate (health.ts). */
  async health(): Promise<Health> {
    const statuses = await this.refresh();
    const now = this.opts.now().getTime();
    return overallHealth(
      this.opts.targets.map((t) =>
        certificateHealth(
          t.name,
          statuses.get(t.name)!,
          this.failingSince.get(t.name) ?? null,
          now,
          this.opts.unhealthyAfterMs,
        ),
      ),
    );
  }
}
