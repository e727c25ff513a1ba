/** Medians and tails of timing samples; every figure the bench reports goes through here. */
export interface Summary {
  n: number;
  medianMs: number;
  p99Ms: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Samples in milliseconds. */
export function summarise(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, medianMs: round(quantile(s, 0.5)), p99Ms: round(quantile(s, 0.99)) };
}

export function round(x: number, digits = 4): number {
  return Number(x.toPrecision(digits));
}

export function ratio(a: number, b: number): number {
  return round(a / b, 3);
}

/** Runs `fn` `n` times after `warmup` untimed runs; returns the samples in ms. */
export async function timeEach(
  n: number,
  warmup: number,
  fn: (i: number) => Promise<unknown> | unknown,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn(warmup + i);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}
