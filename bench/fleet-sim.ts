/**
 * A fleet of devices renewing against a CA that only counts requests, on a simulated clock: an
 * event queue (one pending attempt per device) instead of timers, so 10,000 devices over 21
 * certificate lifetimes take seconds. Each device's timing comes from a Policy: the agent's own
 * RenewalTimer for "certswap", the rule it replaced for "today" (fleet-today.ts).
 */
import type { RenewWindow } from '../src/agent/schedule.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** What a device's agent decides: the same calls the agent's loop makes. */
export interface Policy {
  /** After enrolment or a renewal: when to renew next (ms). */
  succeeded(cert: { notBefore: string; notAfter: string }): number;
  /** After a failed attempt at `nowMs`: when to try again (ms). */
  failed(nowMs: number, notAfterMs: number): number;
}

export interface Scenario {
  name: string;
  rule: 'certswap' | 'today';
  window: RenewWindow;
  /** Enrolments are uniform over this many days from t0. */
  enrolDays: number;
  /** The CA refuses every request from t0 + startMs for durationMs. */
  outage?: { startMs: number; durationMs: number };
}

export interface FleetOptions {
  devices: number;
  lifetimeMs: number;
  /** How long the simulation runs, in certificate lifetimes. */
  lifetimes: number;
  /** How far the CA backdates notBefore (cfssl: 5 minutes). */
  backdateMs: number;
  t0: number;
  policy(device: number, random: () => number): Policy;
  random: () => number;
  /**
   * The certificate the CA issues for a request at `requestMs`; by default notBefore is the request
   * time less backdateMs. The real run (fleet-real.ts) gives cfssl's own rule here.
   */
  issue?(requestMs: number): { notBefore: string; notAfter: string };
  /** Each device's enrolment time; by default uniform over the scenario's enrolDays. */
  enrolAt?: readonly number[];
  /** Called for every renewal the CA serves (enrolments are not renewals). */
  onRenewal?(device: number, atMs: number): void;
}

export interface FleetCounts {
  /** Renewals served per day and per hour since t0 (enrolments are not counted). */
  perDay: Int32Array;
  perHour: Int32Array;
  /** Certificates that expired before a renewal replaced them. */
  expired: number;
  renewals: number;
}

/** A binary min-heap of (time, device): the simulated clock's event queue. */
class EventQueue {
  private readonly at: Float64Array;
  private readonly who: Int32Array;
  size = 0;
  constructor(capacity: number) {
    this.at = new Float64Array(capacity);
    this.who = new Int32Array(capacity);
  }
  push(t: number, d: number): void {
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= t) break;
      this.at[i] = this.at[p]!;
      this.who[i] = this.who[p]!;
      i = p;
    }
    this.at[i] = t;
    this.who[i] = d;
  }
  /** Removes the earliest event; returns its device, its time in `this.time`. */
  pop(): number {
    const d = this.who[0]!;
    this.time = this.at[0]!;
    const t = this.at[--this.size]!;
    const w = this.who[this.size]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.size) break;
      if (c + 1 < this.size && this.at[c + 1]! < this.at[c]!) c++;
      if (this.at[c]! >= t) break;
      this.at[i] = this.at[c]!;
      this.who[i] = this.who[c]!;
      i = c;
    }
    this.at[i] = t;
    this.who[i] = w;
    return d;
  }
  time = 0;
}

function certificate(issuedMs: number, o: FleetOptions): { notBefore: string; notAfter: string } {
  const nb = issuedMs - o.backdateMs;
  return { notBefore: new Date(nb).toISOString(), notAfter: new Date(nb + o.lifetimeMs).toISOString() };
}

/** Runs one scenario to the end of `o.lifetimes` lifetimes after t0. */
export function simulate(s: Scenario, o: FleetOptions): FleetCounts {
  const end = o.t0 + o.lifetimes * o.lifetimeMs;
  const counts: FleetCounts = {
    perDay: new Int32Array(Math.ceil((end - o.t0) / DAY_MS) + 1),
    perHour: new Int32Array(Math.ceil((end - o.t0) / HOUR_MS) + 1),
    expired: 0,
    renewals: 0,
  };
  const down = s.outage && { from: o.t0 + s.outage.startMs, to: o.t0 + s.outage.startMs + s.outage.durationMs };
  const policies: Policy[] = [];
  const notAfter = new Float64Array(o.devices);
  const queue = new EventQueue(o.devices);
  const issue = o.issue ?? ((t: number) => certificate(t, o));
  for (let d = 0; d < o.devices; d++) {
    const policy = o.policy(d, o.random);
    const enrolled = o.enrolAt?.[d] ?? o.t0 + o.random() * s.enrolDays * DAY_MS;
    const cert = issue(enrolled);
    policies.push(policy);
    notAfter[d] = Date.parse(cert.notAfter);
    queue.push(policy.succeeded(cert), d);
  }
  while (queue.size > 0) {
    const d = queue.pop();
    const t = queue.time;
    if (t >= end) continue;
    const policy = policies[d]!;
    if (down && t >= down.from && t < down.to) {
      queue.push(policy.failed(t, notAfter[d]!), d);
      continue;
    }
    counts.renewals++;
    counts.perDay[Math.floor((t - o.t0) / DAY_MS)]!++;
    counts.perHour[Math.floor((t - o.t0) / HOUR_MS)]!++;
    if (t > notAfter[d]!) counts.expired++;
    o.onRenewal?.(d, t);
    const cert = issue(t);
    notAfter[d] = Date.parse(cert.notAfter);
    const next = policy.succeeded(cert);
    // A certificate due the moment it is issued (a CA that backdates notBefore past the window's
    // start) would be renewed again and again at the same instant: say so instead of looping.
    if (next <= t) {
      throw new Error(
        `device ${d}: a certificate issued at ${new Date(t).toISOString()} is due at once ` +
          `(${new Date(next).toISOString()}): the CA backdates notBefore past the renewal window's start`,
      );
    }
    queue.push(next, d);
  }
  // A certificate that ran out before the end and was still waiting for its renewal.
  for (let d = 0; d < o.devices; d++) if (notAfter[d]! < end) counts.expired++;
  return counts;
}

/** A seeded generator (mulberry32): the same run gives the same figures. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
