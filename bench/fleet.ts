/**
 * `npm run bench:fleet`: 10,000 devices with 30-day certificates, each renewing with the agent's
 * own RenewalTimer (src/agent/renewal-timer.ts: the renewal schedule, backoff and herd control)
 * on a simulated clock, for 21 lifetimes, against a CA that only counts requests; beside them the
 * same fleet, with the same enrolments, under the rule certswap used before ("today": a random
 * point of the window).
 *
 * Window k is the k-th stretch of one mean renewal interval P = (from + to) / 2 of the lifetime,
 * from the first enrolment. Its peakToMean is its busiest day's renewals over the long-run mean
 * daily rate (devices / P in days); outagePeakToMean is the busiest hour in the P after the CA
 * returns over the mean hourly rate. Enrolments are not counted: only renewals. Prints a table,
 * checks the targets of issue 17 and writes bench/fleet.json. Not part of `npm test`.
 *
 *   npm run bench:fleet                    10,000 devices (about half a minute)
 *   npm run bench:fleet -- --devices 2000  a smaller fleet (written to bench/fleet-2000.json)
 *   npm run bench:fleet -- --seed 30       other enrolments and draws (bench/fleet-seed30.json):
 *                                          scenario i uses seed + i; the default is 17
 *   npm run bench:fleet -- --sweep 60 --seed 11 --only 3-day
 *                                          the certswap rule's 3-day outage scenarios for seeds 11
 *                                          to 70: range and median of their figures
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RenewalTimer } from '../src/agent/renewal-timer.js';
import { DEFAULT_BACKOFF, type RenewWindow } from '../src/agent/schedule.js';
import { DAY_MS, HOUR_MS, seeded, simulate, type FleetOptions, type Policy, type Scenario } from './fleet-sim.js';
import { todayPolicy } from './fleet-today.js';
import { table } from './table.js';

const here = path.dirname(fileURLToPath(import.meta.url));
function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const DEVICES = option('--devices', 10_000);
const DEFAULT_SEED = 17;
const SEED = option('--seed', DEFAULT_SEED);
const LIFETIME_MS = 30 * DAY_MS;
const LIFETIMES = 21;
/** The CA backdates notBefore by this much, as cfssl does: the schedule must absorb the slip. */
const BACKDATE_MS = 5 * 60_000;
/** The outages start 10 mean intervals after the first enrolment (window 11), at an odd hour. */
const OUTAGE_WINDOW = 11;
/** Per renewal window: the first window from which peakToMean must be at most TARGET_PEAK. */
const VARIANTS: { window: RenewWindow; firstTargetWindow: number; label: string }[] = [
  { window: { from: 0.7, to: 0.9 }, firstTargetWindow: 5, label: '' },
  { window: { from: 0.5, to: 0.9 }, firstTargetWindow: 3, label: ', renew 0.5-0.9' },
];
const TARGET_PEAK = 1.2;
const TARGET_OUTAGE = 3;

interface ScenarioResult {
  name: string;
  rule: 'certswap' | 'today';
  windows: { window: number; peakToMean: number }[];
  outagePeakToMean: number | null;
  expired: number;
}

interface Run {
  scenario: Scenario;
  firstTargetWindow: number;
  seed: number;
}

const periodOf = (w: RenewWindow): number => ((w.from + w.to) / 2) * LIFETIME_MS;
const round = (x: number): number => Math.round(x * 100) / 100;

function policyFor(s: Scenario): FleetOptions['policy'] {
  if (s.rule === 'today') return (d, random) => todayPolicy(d, s.window, random);
  return (d, random): Policy => {
    const timer = new RenewalTimer({ seed: `device-${d}`, window: s.window, backoff: DEFAULT_BACKOFF, random });
    return {
      succeeded: (cert) => timer.succeeded(cert).at.getTime(),
      failed: (now, notAfter) => timer.failed(now, notAfter).at.getTime(),
    };
  };
}

function measure({ scenario: s, seed }: Run): ScenarioResult {
  const c = simulate(s, {
    devices: DEVICES,
    lifetimeMs: LIFETIME_MS,
    lifetimes: LIFETIMES,
    backdateMs: BACKDATE_MS,
    t0: Date.parse('2026-01-01T00:00:00Z'),
    policy: policyFor(s),
    random: seeded(seed),
  });
  const periodMs = periodOf(s.window);
  const perDay = DEVICES / (periodMs / DAY_MS);
  const windows: ScenarioResult['windows'] = [];
  for (let k = 1; k * periodMs <= LIFETIMES * LIFETIME_MS; k++) {
    let peak = 0;
    for (let d = Math.ceil(((k - 1) * periodMs) / DAY_MS); (d + 1) * DAY_MS <= k * periodMs; d++) {
      peak = Math.max(peak, c.perDay[d]!);
    }
    windows.push({ window: k, peakToMean: round(peak / perDay) });
  }
  let outagePeakToMean: number | null = null;
  if (s.outage) {
    const back = (s.outage.startMs + s.outage.durationMs) / HOUR_MS;
    let peak = 0;
    for (let h = back; h < back + periodMs / HOUR_MS; h++) peak = Math.max(peak, c.perHour[h]!);
    outagePeakToMean = round(peak / (DEVICES / (periodMs / HOUR_MS)));
  }
  return { name: s.name, rule: s.rule, windows, outagePeakToMean, expired: c.expired };
}

function runs(seed = SEED): Run[] {
  const out: Run[] = [];
  for (const { window, firstTargetWindow, label } of VARIANTS) {
    const start = Math.round(((OUTAGE_WINDOW - 1) * periodOf(window)) / HOUR_MS + 5) * HOUR_MS;
    const kinds: Omit<Scenario, 'rule' | 'window'>[] = [
      { name: `batch in one day${label}`, enrolDays: 1 },
      { name: `spread over a month${label}`, enrolDays: 30 },
      { name: `6-hour outage${label}`, enrolDays: 30, outage: { startMs: start, durationMs: 6 * HOUR_MS } },
      { name: `3-day outage${label}`, enrolDays: 30, outage: { startMs: start, durationMs: 3 * DAY_MS } },
    ];
    for (const rule of ['certswap', 'today'] as const) {
      // The same seed for both rules: the same enrolments.
      for (const [i, k] of kinds.entries())
        out.push({ scenario: { ...k, rule, window }, firstTargetWindow, seed: seed + i });
    }
  }
  return out;
}

/** The targets of issue 17 that `r` misses (they are for the certswap rule only). */
function misses(run: Run, r: ScenarioResult): string[] {
  if (r.rule !== 'certswap') return [];
  const out: string[] = [];
  for (const w of r.windows) {
    if (w.window < run.firstTargetWindow || w.peakToMean <= TARGET_PEAK) continue;
    const why =
      run.scenario.outage && w.window === OUTAGE_WINDOW
        ? ' (the outage and its backlog)'
        : run.scenario.outage && w.window === OUTAGE_WINDOW + 1
          ? ' (the late renewals on their way back to their phase)'
          : '';
    out.push(`${r.name}: window ${w.window} peakToMean ${w.peakToMean} > ${TARGET_PEAK}${why}`);
  }
  if (r.outagePeakToMean !== null && r.outagePeakToMean > TARGET_OUTAGE) {
    out.push(`${r.name}: outagePeakToMean ${r.outagePeakToMean} > ${TARGET_OUTAGE}`);
  }
  if (r.expired !== 0) out.push(`${r.name}: ${r.expired} certificates expired`);
  return out;
}

/**
 * `--sweep K`: the certswap rule's scenarios whose name contains `--only` (all by default), for
 * K enrolment seeds from --seed on; prints, per scenario, the range and median over the seeds of
 * the figures the targets are about. Writes nothing.
 */
function sweep(k: number, only: string): void {
  const picked = (s: Run): boolean => s.scenario.rule === 'certswap' && s.scenario.name.includes(only);
  const rows = new Map<string, { outage: number[]; worst: number[]; w11: number[]; w12: number[]; expired: number }>();
  for (let seed = SEED; seed < SEED + k; seed++) {
    for (const run of runs(seed).filter(picked)) {
      const r = measure(run);
      const row = rows.get(r.name) ?? { outage: [], worst: [], w11: [], w12: [], expired: 0 };
      if (r.outagePeakToMean !== null) row.outage.push(r.outagePeakToMean);
      row.worst.push(Math.max(...r.windows.filter((w) => w.window >= run.firstTargetWindow).map((w) => w.peakToMean)));
      row.w11.push(r.windows[OUTAGE_WINDOW - 1]!.peakToMean);
      row.w12.push(r.windows[OUTAGE_WINDOW]!.peakToMean);
      row.expired += r.expired;
      rows.set(r.name, row);
    }
  }
  const spread = (xs: number[]): string => {
    if (xs.length === 0) return '-';
    const s = [...xs].sort((a, b) => a - b);
    return `${s[0]}-${s.at(-1)} (${s[Math.floor((s.length - 1) / 2)]})`;
  };
  table(
    `${k} seeds from ${SEED} (scenario i uses seed + i): min-max (median)`,
    ['scenario', 'outage', 'outage > 3', 'max w>=T', 'w11', 'w12', 'expired'],
    [...rows].map(([name, r]) => [
      name,
      spread(r.outage),
      r.outage.filter((x) => x > TARGET_OUTAGE).length,
      spread(r.worst),
      spread(r.w11),
      spread(r.w12),
      r.expired,
    ]),
  );
}

const SWEEP = option('--sweep', 0);
if (SWEEP > 0) {
  const i = process.argv.indexOf('--only');
  sweep(SWEEP, i > 0 ? process.argv[i + 1]! : '');
  process.exit(0);
}
const started = Date.now();
const all = runs();
const results = all.map(measure);
const show = [1, 2, 3, 4, 5, 6, 10, OUTAGE_WINDOW, OUTAGE_WINDOW + 1, 15, 20, 25];
table(
  `${DEVICES.toLocaleString('en-US')} devices, 30-day certificates, ${LIFETIMES} lifetimes: ` +
    'busiest day of window k / mean daily rate (T: first window with a target)',
  ['scenario', 'rule', ...show.map((k) => `w${k}`), 'max w>=T', 'outage', 'expired'],
  results.map((r, i) => {
    const from = all[i]!.firstTargetWindow;
    return [
      r.name,
      r.rule,
      ...show.map((k) => r.windows[k - 1]?.peakToMean ?? '-'),
      `${Math.max(...r.windows.filter((w) => w.window >= from).map((w) => w.peakToMean))} (T=${from})`,
      r.outagePeakToMean ?? '-',
      r.expired,
    ];
  }),
);
const missed = results.flatMap((r, i) => misses(all[i]!, r));
console.log(
  missed.length === 0
    ? '\ntargets (certswap rule): all met'
    : `\ntargets (certswap rule) not met:\n${missed.map((m) => `  ${m}`).join('\n')}`,
);

const parts = ['fleet', DEVICES !== 10_000 && `${DEVICES}`, SEED !== DEFAULT_SEED && `seed${SEED}`];
const file = path.join(here, `${parts.filter(Boolean).join('-')}.json`);
// The real run's result (npm run bench:fleet:real) stays beside the simulation's.
const real = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { real?: unknown }).real : undefined;
fs.writeFileSync(file, `${JSON.stringify({ devices: DEVICES, scenarios: results, real }, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
