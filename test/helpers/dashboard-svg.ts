/**
 * A picture of the Grafana dashboard without Grafana: each panel of
 * scripts/grafana/certswap-dashboard.json drawn as an SVG chart from the series its queries
 * returned from a real Prometheus (test/monitor/prometheus.test.ts collects them). Time series
 * are drawn as lines over the queried range, the bar gauge as horizontal bars. Deterministic for
 * the same data; no dependency.
 */

export interface Series {
  label: string;
  /** [unix seconds, value] */
  points: Array<[number, number]>;
}

export interface PanelData {
  title: string;
  type: 'timeseries' | 'bargauge';
  unit: string;
  series: Series[];
}

const COLORS = ['#3274d9', '#e0752d', '#56a64b', '#c4162a', '#8f3bb8', '#37872d', '#f2cc0c', '#1f60c4'];
const W = 560;
const H = 250;
const PAD = { left: 64, right: 14, top: 30, bottom: 62 };

/** Grafana's unit ids as an axis shows them ('short' and 'none' are plain numbers). */
const UNITS: Record<string, string> = { short: '', none: '', d: 'days', s: 's' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Days are shown in seconds when every value is under a minute's worth (a test run's certificates). */
function scaled(unit: string, series: Series[]): { unit: string; series: Series[] } {
  const max = Math.max(0, ...series.flatMap((s) => s.points.map(([, v]) => Math.abs(v))));
  if (unit !== 'd' || max * 86400 >= 3600) return { unit, series };
  return {
    unit: 's',
    series: series.map((s) => ({ ...s, points: s.points.map(([t, v]) => [t, v * 86400] as [number, number]) })),
  };
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

function legend(series: Series[], x: number, y: number): string {
  return series
    .slice(0, 6)
    .map((s, i) => {
      const lx = x + (i % 2) * 250;
      const ly = y + Math.floor(i / 2) * 14;
      const last = s.points.at(-1)?.[1];
      const text = `${s.label.slice(0, 30)}${last === undefined ? '' : ` (${fmt(last)})`}`;
      return (
        `<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${COLORS[i % COLORS.length]}"/>` +
        `<text x="${lx + 14}" y="${ly - 4}" class="l">${esc(text)}</text>`
      );
    })
    .join('');
}

function timeseries(p: PanelData, range: [number, number]): string {
  const { unit, series } = scaled(p.unit, p.series);
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  let lo = Math.min(0, ...values);
  let hi = Math.max(lo, ...values);
  // All zero (no rollback, no failure): an axis of 0 to 1 rather than of rounding noise.
  if (hi - lo < 1e-6) hi = lo + 1;
  const pad = (hi - lo) * 0.05;
  hi += pad;
  if (lo < 0) lo -= pad;
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + ((t - range[0]) / Math.max(1, range[1] - range[0])) * pw;
  const y = (v: number): number => PAD.top + ph - ((v - lo) / (hi - lo)) * ph;
  let out = '';
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    out += `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="g"/>`;
    out += `<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" class="a" text-anchor="end">${fmt(v)}${i === 4 ? ` ${UNITS[unit] ?? unit}` : ''}</text>`;
  }
  const span = range[1] - range[0];
  for (let i = 0; i <= 4; i++) {
    const t = range[0] + (span * i) / 4;
    out += `<text x="${x(t).toFixed(1)}" y="${H - PAD.bottom + 14}" class="a" text-anchor="middle">${Math.round(t - range[0])} s</text>`;
  }
  series.forEach((s, i) => {
    // A gap in the data (a series absent for a while) breaks the line rather than bridging it.
    const runs: string[][] = [];
    let prev = -Infinity;
    for (const [t, v] of s.points) {
      if (!Number.isFinite(v)) continue;
      if (t - prev > 2.5 || runs.length === 0) runs.push([]);
      runs.at(-1)!.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      prev = t;
    }
    for (const r of runs) {
      out += `<polyline points="${r.join(' ')}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6"/>`;
    }
  });
  return out + legend(series, PAD.left, H - PAD.bottom + 34);
}

function bargauge(p: PanelData): string {
  const { unit, series } = scaled(p.unit, p.series);
  const bars = series.map((s) => ({ label: s.label, v: s.points.at(-1)?.[1] ?? 0 })).slice(0, 8);
  const max = Math.max(...bars.map((b) => b.v), 1e-9);
  return bars
    .map((b, i) => {
      const by = PAD.top + 8 + i * 26;
      const bw = Math.max(1, (b.v / max) * (W - 260));
      return (
        `<text x="${PAD.left - 50}" y="${by + 13}" class="l">${esc(b.label.slice(0, 28))}</text>` +
        `<rect x="200" y="${by}" width="${bw.toFixed(1)}" height="18" fill="${COLORS[2]}" opacity="0.8"/>` +
        `<text x="${(206 + bw).toFixed(1)}" y="${by + 13}" class="l">${fmt(b.v)} ${UNITS[unit] ?? unit}</text>`
      );
    })
    .join('');
}

/** The whole dashboard, two panels a row, as one SVG document. */
export function renderDashboard(title: string, caption: string, panels: PanelData[], range: [number, number]): string {
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const width = cols * (W + 10) + 10;
  const height = rows * (H + 10) + 60;
  let body = '';
  panels.forEach((p, i) => {
    const ox = 10 + (i % cols) * (W + 10);
    const oy = 50 + Math.floor(i / cols) * (H + 10);
    body +=
      `<g transform="translate(${ox},${oy})"><rect width="${W}" height="${H}" rx="4" class="p"/>` +
      `<text x="10" y="19" class="t">${esc(p.title)}</text>` +
      (p.type === 'bargauge' ? bargauge(p) : timeseries(p, range)) +
      '</g>';
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    '<style>.p{fill:#181b1f;stroke:#2c3235}.t{fill:#d8d9da;font:600 13px sans-serif}' +
    '.a{fill:#8e8e8e;font:10px sans-serif}.l{fill:#c7d0d9;font:10px sans-serif}.g{stroke:#2c3235}' +
    '.h{fill:#d8d9da;font:600 16px sans-serif}.c{fill:#8e8e8e;font:11px sans-serif}</style>' +
    `<rect width="100%" height="100%" fill="#111217"/>` +
    `<text x="10" y="22" class="h">${esc(title)}</text><text x="10" y="40" class="c">${esc(caption)}</text>` +
    `${body}</svg>\n`
  );
}
