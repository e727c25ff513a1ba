/**
 * A reader for the Prometheus text format as certswap writes it (prom-client's output): enough to
 * read back an earlier textfile and carry its counters over (metrics.ts seed). Comment lines and
 * anything it cannot read are skipped: the worst a damaged file costs is counters restarting at 0.
 */

export interface Sample {
  metric: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function labelsOf(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) return null;
    out[m[1]!] = unescapeLabel(m[2]!);
  }
  return out;
}

/** The samples of `text`; lines that are not samples, or not readable, are skipped. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = labelsOf(m[2] ?? '');
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    if (labels && !Number.isNaN(value)) out.push({ metric: m[1]!, labels, value });
  }
  return out;
}
