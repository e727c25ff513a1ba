/**
 * The fleet against a real CA: `cfssl serve` (Debian's golang-cfssl) signs with the real clock, so
 * the run is scaled in time: certificates of `lifetimeS` seconds stand for 30-day ones (one
 * simulated day is lifetimeS / 30 seconds of real time). Each device is a whole agent: its own
 * CertificateManager, store and `csr` provisioner (key made in memory, CSR to cfssl's authsign),
 * its loop on the real clock. A recording proxy in front of cfssl notes when each signing request
 * arrives. Then the same devices, with the same identities and the same enrolment times, go through
 * the simulation (fleet-sim.ts) against a CA that issues by cfssl's own rule, and the two are
 * compared renewal by renewal and window by window.
 *
 * cfssl's rule (golang-cfssl 1.2.0, signer.FillTemplate, checked by hand against `cfssl sign`):
 * notBefore = the request time rounded to the nearest minute (halves up), less the profile's
 * `backdate` (5 minutes when unset); notAfter = notBefore + `expiry`. A 5-minute backdate would
 * eat a few-minute lifetime, and without one the rounding can put notBefore in the future; so the
 * profile backdates by 30 s: notBefore falls up to a minute before the request, never after it.
 * That minute of rounding is large against a lifetime of minutes (a 30-day certificate does not
 * notice it); it is the same in both runs, because the simulated CA applies the same rule.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type AgentConfig, parseConfig } from '../src/agent/config.js';
import { phaseSeed } from '../src/agent/due.js';
import { CertificateManager } from '../src/agent/manager.js';
import { RenewalTimer } from '../src/agent/renewal-timer.js';
import type { RenewWindow } from '../src/agent/schedule.js';
import type { Log } from '../src/store/context.js';
import { CfsslServer, RecordingProxy, makeCfsslCa } from '../test/helpers/cfssl.js';
import { freePort, which } from '../test/helpers/proc.js';
import { type FleetOptions, seeded, simulate } from './fleet-sim.js';

/** cfssl's backdate in the profile (see the module comment). */
export const BACKDATE_S = 30;
const MINUTE_MS = 60_000;

export interface RealFleetOptions {
  devices: number;
  /** The cfssl profile's expiry: the certificates' lifetime, in real seconds. */
  lifetimeS: number;
  /** How long the fleet runs, from the first enrolment (real ms). */
  runMs: number;
  window: RenewWindow;
  /** Enrolments are spread over this many simulated days (lifetimeS / 30 s each). */
  enrolDays: number;
  seed: number;
  progress?: (line: string) => void;
}

export interface WindowPeak {
  window: number;
  peakToMean: number;
}

export interface RealFleetResult {
  devices: number;
  lifetimeSeconds: number;
  /** Real seconds per simulated day (a 30-day lifetime). */
  secondsPerDay: number;
  runSeconds: number;
  renew: RenewWindow;
  real: { renewals: number; failedAttempts: number; windows: WindowPeak[] };
  simulated: { renewals: number; expired: number; windows: WindowPeak[] };
  /**
   * The simulation again, with a CA that backdates by the same 30 s but does not round to the
   * minute: what the same agents would do with a CA whose clock has a finer grain.
   */
  simulatedExactCa: { renewals: number; windows: WindowPeak[] };
  agreement: {
    /** Devices with as many renewals in both runs. */
    devicesSameCount: number;
    /** Renewals paired (the k-th of a device in each run) and how far apart they fell. */
    paired: number;
    withinOneSecond: number;
    withinFiveSeconds: number;
    medianDeltaMs: number;
    p95DeltaMs: number;
    maxDeltaMs: number;
    /** Paired renewals counted in another simulated day in the two runs (the agent's latency). */
    otherDay: number;
    /** The largest difference of a window's peakToMean between the runs, relative to the simulated one. */
    maxPeakToMeanRelative: number;
  };
}

/** cfssl's certificate for a request at `t` (see the module comment). */
export function cfsslValidity(t: number, lifetimeS: number): { notBefore: string; notAfter: string } {
  const nb = Math.floor((t + MINUTE_MS / 2) / MINUTE_MS) * MINUTE_MS - BACKDATE_S * 1000;
  return { notBefore: new Date(nb).toISOString(), notAfter: new Date(nb + lifetimeS * 1000).toISOString() };
}

/** Window k's busiest simulated day over the mean daily rate (bench/fleet.ts, scaled). */
function windowPeaks(times: number[], o: RealFleetOptions, t0: number): WindowPeak[] {
  const day = (o.lifetimeS * 1000) / 30;
  const period = ((o.window.from + o.window.to) / 2) * o.lifetimeS * 1000;
  const perDay = new Map<number, number>();
  for (const t of times) perDay.set(Math.floor((t - t0) / day), (perDay.get(Math.floor((t - t0) / day)) ?? 0) + 1);
  const mean = o.devices / (period / day);
  const out: WindowPeak[] = [];
  for (let k = 1; k * period <= o.runMs; k++) {
    let peak = 0;
    for (let d = Math.ceil(((k - 1) * period) / day); (d + 1) * day <= k * period; d++) {
      peak = Math.max(peak, perDay.get(d) ?? 0);
    }
    out.push({ window: k, peakToMean: Math.round((peak / mean) * 100) / 100 });
  }
  return out;
}

/** The device a signing request was for: the first host of the authsign request it carries. */
function deviceOf(body: string): number | null {
  try {
    const outer = JSON.parse(body) as { request?: string };
    if (typeof outer.request !== 'string') return null;
    const inner = JSON.parse(Buffer.from(outer.request, 'base64').toString('utf8')) as { hosts?: string[] };
    const m = /^device-(\d+)\./.exec(inner.hosts?.[0] ?? '');
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

/** One device's certificate: its own store, identity and key, from cfssl at `url`. */
function deviceConfigs(o: RealFleetOptions, base: string, url: string): AgentConfig[] {
  return Array.from({ length: o.devices }, (_, i) => {
    const certificate = {
      name: 'device',
      dir: path.join(base, 'devices', `${i}`),
      identity: { commonName: `device-${i}`, sans: [`device-${i}.fleet.test`] },
      usages: ['clientAuth'],
      renew: o.window,
      provisioner: { type: 'csr', cfssl: { url, authKeyFile: path.join(base, 'auth.key') } },
    };
    return parseConfig({ certificates: [certificate] }, base);
  });
}

/**
 * Runs `o.devices` agents against a real `cfssl serve` for `o.runMs`, then the same devices
 * through the simulation, and compares them. Every server it starts is stopped, and its
 * directory removed, on every path.
 */
export async function runRealFleet(o: RealFleetOptions): Promise<RealFleetResult> {
  const bin = which('cfssl');
  if (!bin) throw new Error('cfssl is not installed (Debian package golang-cfssl)');
  const say = o.progress ?? (() => undefined);
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'certswap-fleet-real-'));
  const caDir = path.join(base, 'ca');
  await fs.mkdir(caDir);
  const usages = ['digital signature', 'key encipherment', 'client auth'];
  const ca = await makeCfsslCa(bin, caDir, {
    default: { expiry: `${o.lifetimeS}s`, backdate: `${BACKDATE_S}s`, usages, auth_key: 'fleet' },
  });
  await fs.writeFile(path.join(base, 'auth.key'), `${ca.authKey}\n`, { mode: 0o600 });
  const server = new CfsslServer(bin, caDir, await freePort());
  let proxy: RecordingProxy | undefined;
  const managers: CertificateManager[] = [];
  const loops: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];
  let failedAttempts = 0;
  const log: Log = {
    debug: () => undefined,
    info: () => undefined,
    warn: (obj) => void ((obj as { event?: string }).event === 'renew-failed' && failedAttempts++),
    error: () => undefined,
  };
  const random = seeded(o.seed);
  const dayMs = (o.lifetimeS * 1000) / 30;
  const offsets = Array.from({ length: o.devices }, () => random() * o.enrolDays * dayMs);
  let configs: AgentConfig[] = [];
  let t0 = 0;
  let ended: PromiseSettledResult<void>[] = [];
  try {
    await server.start();
    proxy = new RecordingProxy(server.port);
    await proxy.start();
    configs = deviceConfigs(o, base, `http://127.0.0.1:${proxy.port}`);
    t0 = Date.now();
    say(`${o.devices} agents, ${o.lifetimeS}-s certificates from cfssl, for ${o.runMs / 1000} s`);
    for (const [i, c] of configs.entries()) {
      const m = new CertificateManager(c, { log });
      managers.push(m);
      timers.push(setTimeout(() => loops.push(m.start().then(() => m.run())), offsets[i]));
    }
    await new Promise((r) => setTimeout(r, o.runMs));
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.allSettled(managers.map((m) => m.stop()));
    ended = await Promise.allSettled(loops);
    // Each stopped whatever the other does: a proxy that fails to close must not leave cfssl running.
    await Promise.allSettled([proxy?.stop(), server.stop()]);
    await fs.rm(base, { recursive: true, force: true });
  }
  // An agent's loop never ends in an error (it retries): one that did is a broken run.
  const broken = ended.find((e) => e.status === 'rejected');
  if (broken) throw (broken as PromiseRejectedResult).reason;
  const recorded = proxy!;
  const end = t0 + o.runMs;
  // The CA's view: every signing request, per device, in order; the first is the enrolment.
  const real: number[][] = configs.map(() => []);
  for (const [i, body] of recorded.bodies.entries()) {
    const d = deviceOf(body);
    if (d !== null && recorded.times[i]! < end) real[d]!.push(recorded.times[i]!);
  }
  const enrolAt = real.map((ts, d) => ts[0] ?? t0 + offsets[d]!);
  const simulated = (issue: FleetOptions['issue']): { times: number[][]; renewals: number; expired: number } => {
    const times: number[][] = configs.map(() => []);
    const c = simulate(
      { name: 'real', rule: 'certswap', window: o.window, enrolDays: o.enrolDays },
      {
        devices: o.devices,
        lifetimeMs: o.lifetimeS * 1000,
        lifetimes: o.runMs / (o.lifetimeS * 1000),
        backdateMs: BACKDATE_S * 1000,
        t0,
        policy: (d) => {
          const cert = configs[d]!.certificates[0]!;
          const timer = new RenewalTimer({ seed: phaseSeed(cert), window: cert.renew, backoff: cert.retry });
          return {
            succeeded: (info) => timer.succeeded(info).at.getTime(),
            failed: (now, notAfter) => timer.failed(now, notAfter).at.getTime(),
          };
        },
        random,
        issue,
        enrolAt,
        onRenewal: (d, t) => void times[d]!.push(t),
      },
    );
    return { times, renewals: c.renewals, expired: c.expired };
  };
  const counts = simulated((t) => cfsslValidity(t, o.lifetimeS));
  const sim = counts.times;
  const exact = simulated(undefined);
  const realRenewals = real.map((ts) => ts.slice(1));
  const deltas: number[] = [];
  let devicesSameCount = 0;
  let otherDay = 0;
  const dayOf = (t: number): number => Math.floor((t - t0) / dayMs);
  for (const [d, ts] of realRenewals.entries()) {
    if (ts.length === sim[d]!.length) devicesSameCount++;
    for (let k = 0; k < Math.min(ts.length, sim[d]!.length); k++) {
      deltas.push(Math.abs(ts[k]! - sim[d]![k]!));
      if (dayOf(ts[k]!) !== dayOf(sim[d]![k]!)) otherDay++;
    }
  }
  const realWindows = windowPeaks(realRenewals.flat(), o, t0);
  const simWindows = windowPeaks(sim.flat(), o, t0);
  return {
    devices: o.devices,
    lifetimeSeconds: o.lifetimeS,
    secondsPerDay: o.lifetimeS / 30,
    runSeconds: o.runMs / 1000,
    renew: o.window,
    real: { renewals: realRenewals.flat().length, failedAttempts, windows: realWindows },
    simulated: { renewals: counts.renewals, expired: counts.expired, windows: simWindows },
    simulatedExactCa: { renewals: exact.renewals, windows: windowPeaks(exact.times.flat(), o, t0) },
    agreement: {
      devicesSameCount,
      paired: deltas.length,
      withinOneSecond: deltas.filter((x) => x <= 1000).length,
      withinFiveSeconds: deltas.filter((x) => x <= 5000).length,
      medianDeltaMs: percentile(deltas, 0.5),
      p95DeltaMs: percentile(deltas, 0.95),
      maxDeltaMs: percentile(deltas, 1),
      otherDay,
      maxPeakToMeanRelative: Math.max(
        0,
        ...realWindows.map((w, k) => {
          const s = simWindows[k]!.peakToMean;
          return Math.round((Math.abs(w.peakToMean - s) / s) * 1000) / 1000;
        }),
      ),
    },
  };
}
