/**
 * `npm run bench:fleet:real`: 200 devices, each a whole agent on the real clock, against a real
 * `cfssl serve`, then the same devices through the simulation; prints how closely they agree and
 * writes the result as the `real` field of bench/fleet.json (fleet-real.ts has the design). About
 * five and a half minutes (4 mean renewal intervals of 100-s certificates). Not part of `npm test`:
 * test/agent/fleet-real.test.ts runs a 20-device version.
 *
 *   npm run bench:fleet:real                     200 devices, 100-s certificates, renew 0.7-0.9
 *   npm run bench:fleet:real -- --devices 50     a smaller fleet (written to bench/fleet-real-50.json)
 *   npm run bench:fleet:real -- --windows 2      a shorter run
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRealFleet } from './fleet-real.js';

const here = path.dirname(fileURLToPath(import.meta.url));
function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const DEVICES = option('--devices', 200);
const LIFETIME_S = option('--lifetime', 100);
const WINDOWS = option('--windows', 4);
const WINDOW = { from: 0.7, to: 0.9 };
const period = ((WINDOW.from + WINDOW.to) / 2) * LIFETIME_S * 1000;

const started = Date.now();
const r = await runRealFleet({
  devices: DEVICES,
  lifetimeS: LIFETIME_S,
  runMs: WINDOWS * period,
  window: WINDOW,
  enrolDays: 1,
  seed: option('--seed', 17),
  progress: (line) => console.log(line),
});
const a = r.agreement;
console.log(
  `renewals: real ${r.real.renewals}, simulated ${r.simulated.renewals}; ` +
    `failed attempts ${r.real.failedAttempts}; devices with as many renewals in both: ${a.devicesSameCount}/${r.devices}`,
);
console.log(
  `renewal times, real - simulated, over ${a.paired} pairs: ${a.withinOneSecond} within 1 s; ` +
    `median ${a.medianDeltaMs} ms, p95 ${a.p95DeltaMs} ms, max ${a.maxDeltaMs} ms; ` +
    `${a.otherDay} counted in another simulated day (${r.secondsPerDay.toFixed(2)} s)`,
);
const line = (w: { peakToMean: number }[]): string => w.map((x) => x.peakToMean.toFixed(2)).join(' ');
console.log(`peakToMean per window, real:                   ${line(r.real.windows)}`);
console.log(`peakToMean per window, simulated (cfssl's CA): ${line(r.simulated.windows)}`);
console.log(`peakToMean per window, simulated, exact CA:    ${line(r.simulatedExactCa.windows)}`);
// The agreement asked of the two runs (docs/performance.md says why these bounds).
const agree =
  Math.abs(r.real.renewals - r.simulated.renewals) <= r.devices / 100 &&
  a.withinOneSecond >= 0.99 * a.paired &&
  a.maxPeakToMeanRelative <= 0.1;
console.log(
  `${agree ? 'agree' : 'DIFFER'}: counts within 1 %, 99 % of renewals within 1 s of the simulated time, ` +
    `every window's peakToMean within 10 % (largest difference ${(a.maxPeakToMeanRelative * 100).toFixed(1)} %)`,
);
const file = path.join(here, DEVICES === 200 ? 'fleet.json' : `fleet-real-${DEVICES}.json`);
const old = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as object) : {};
const command = `npm run bench:fleet:real${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
fs.writeFileSync(file, `${JSON.stringify({ ...old, real: { command, ...r } }, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
