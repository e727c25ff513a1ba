/**
 * Section 8: PEM framing under hostile input. The time to refuse 1 MiB shaped to make framing
 * quadratic, with src/pki/pem.ts (a forward scan) and with the regex framing it replaced
 * (bench/pem-regex.ts), each against parsing a legitimate 1 MiB bundle of certificates with the
 * same code in the same run. In process; imports src/ (through tsx), not dist/, so that a run on
 * its own measures the source as it is.
 *
 *   node --import tsx bench/pem.ts            on its own, about a minute
 *   node --import tsx bench/pem.ts --quick    a few seconds
 *
 * The regex takes minutes on some shapes at 1 MiB. It is timed on inputs doubling from 64 KiB,
 * and stops before a size whose run would exceed the budget (x4 per doubling, for a quadratic);
 * its 1 MiB figure is then extrapolated from the largest size measured with the growth exponent
 * of the last doubling, and marked "est.".
 */
import { pathToFileURL } from 'node:url';
import { isCertswapError } from '../src/errors.js';
import { parsePem } from '../src/pki/pem.js';
import { makePair } from '../test/helpers/certs.js';
import { regexParsePem } from './pem-regex.js';
import { ratio, round, summarise, timeEach, type Summary } from './stats.js';
import { table } from './table.js';

const KiB = 1024;
const MiB = 1024 * KiB;
type Parse = typeof parsePem;

export interface PemRow {
  input: string;
  /** What both implementations made of it: "N blocks" or the problem after "not PEM: ". */
  outcome: string;
  after: Summary;
  /** after / the legitimate bundle, parsed by src/pki/pem.ts. */
  afterX: number;
  before: {
    sizeKiB: number;
    medianMs: number;
    n: number;
    /** log2 of the time ratio over the last doubling: 1 linear, 2 quadratic. */
    exponent: number | null;
    at1MiBMs: number;
    estimated: boolean;
  };
  /** before (1 MiB) / the legitimate bundle, parsed by the regex. */
  beforeX: number;
  speedup: number;
}

const fill = (unit: string, size: number, reserve = 0): string =>
  unit.repeat(Math.floor((size - reserve) / unit.length));

/** The shapes, by name; each makes at most `size` bytes. */
function shapes(bundle: (size: number) => string): Record<string, (size: number) => string> {
  return {
    'legitimate: certificates': bundle,
    'BEGIN lines': (size) => fill('-----BEGIN A-----\n', size),
    'BEGIN and malformed END lines': (size) => fill('-----BEGIN A-----\n-----END a-----\n', size),
    'padding lines in a block': (size) => `-----BEGIN A-----\nQUFB\n${fill('==\n', size, 50)}QQ\n-----END A-----\n`,
    'END lines': (size) => fill('-----END X-----\n', size),
  };
}

function outcome(parse: Parse, data: Buffer): string {
  try {
    return `${parse(data, 'cert').length} blocks`;
  } catch (err) {
    if (!isCertswapError(err)) throw err;
    return err.message.replace(/^cert: not PEM: /, '');
  }
}

/** Certificates of a few kinds, repeated up to `size` bytes: what a large CA bundle looks like. */
async function certificateBundle(): Promise<(size: number) => string> {
  const pairs = await Promise.all([makePair(), makePair({ alg: 'P-384' }), makePair({ alg: 'RSA-2048' })]);
  const pems = pairs.flatMap((p) => [p.cert.toString('latin1'), p.ca.toString('latin1')]);
  return (size) => {
    let out = '';
    for (let i = 0; out.length + pems[i % pems.length]!.length <= size; i++) out += pems[i % pems.length];
    return out;
  };
}

function onceMs(parse: Parse, data: Buffer): number {
  const t0 = process.hrtime.bigint();
  outcome(parse, data);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The regex on doubling sizes while the next run fits `budgetMs`; then repeats at the largest. */
function before(make: (size: number) => string, budgetMs: number, reps: number): PemRow['before'] {
  let prev: { size: number; ms: number } | null = null;
  let size = 64 * KiB;
  let ms = onceMs(regexParsePem, Buffer.from(make(size), 'latin1'));
  while (size < MiB && ms * 4 <= budgetMs) {
    prev = { size, ms };
    size *= 2;
    ms = onceMs(regexParsePem, Buffer.from(make(size), 'latin1'));
  }
  const data = Buffer.from(make(size), 'latin1');
  const samples = [ms];
  for (let spent = ms; samples.length < reps && spent + ms <= budgetMs; spent += samples.at(-1)!) {
    samples.push(onceMs(regexParsePem, data));
  }
  const s = summarise(samples);
  const exponent = prev ? round(Math.log2(s.medianMs / prev.ms), 3) : null;
  const estimated = size < MiB;
  const at1MiBMs = estimated ? round(s.medianMs * (MiB / size) ** (exponent ?? 2)) : s.medianMs;
  return { sizeKiB: size / KiB, medianMs: s.medianMs, n: s.n, exponent, at1MiBMs, estimated };
}

export async function pemFraming(opts: { quick: boolean }): Promise<PemRow[]> {
  const budgetMs = opts.quick ? 2000 : 20000;
  const reps = opts.quick ? 7 : 31;
  const all = shapes(await certificateBundle());
  const rows: PemRow[] = [];
  for (const [input, make] of Object.entries(all)) {
    const data = Buffer.from(make(MiB), 'latin1');
    const got = outcome(parsePem, data);
    // The comparison is only fair if both refuse (or accept) the same way; checked at a size
    // where the regex is quick.
    const small = Buffer.from(make(64 * KiB), 'latin1');
    if (outcome(parsePem, small) !== outcome(regexParsePem, small)) {
      throw new Error(`bench pem: ${input}: the two implementations disagree`);
    }
    const after = summarise(await timeEach(reps, 3, () => outcome(parsePem, data)));
    const b = before(make, budgetMs, reps);
    const speedup = ratio(b.at1MiBMs, after.medianMs);
    rows.push({ input, outcome: got, after, afterX: 0, before: b, beforeX: 0, speedup });
  }
  const base = rows[0]!;
  for (const r of rows) {
    r.afterX = ratio(r.after.medianMs, base.after.medianMs);
    r.beforeX = ratio(r.before.at1MiBMs, base.before.at1MiBMs);
  }
  return rows;
}

export function pemTable(rows: PemRow[]): void {
  table(
    '8. PEM framing, 1 MiB of input (in process; x legit: ratio to legitimate certificates; gain: before/after)',
    ['input', 'outcome', 'after ms', 'p99 ms', 'n', 'x legit', 'before ms', 'measured at', 'growth', 'x legit', 'gain'],
    rows.map((r) => [
      r.input,
      r.outcome.length > 36 ? `${r.outcome.slice(0, 35)}…` : r.outcome,
      r.after.medianMs,
      r.after.p99Ms,
      r.after.n,
      r.afterX,
      r.before.estimated ? `${r.before.at1MiBMs} est.` : r.before.at1MiBMs,
      `${r.before.sizeKiB} KiB, n=${r.before.n}`,
      r.before.exponent === null ? '-' : `n^${r.before.exponent}`,
      r.beforeX,
      r.speedup,
    ]),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  pemTable(await pemFraming({ quick: process.argv.includes('--quick') }));
}
