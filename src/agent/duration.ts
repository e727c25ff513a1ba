/**
 * Durations as people write them, the one parser for the configuration and the command line:
 * "90s", "5m", "2h", "30d", "250ms", or a number of milliseconds. Its own small module because the
 * CLI parses its arguments before anything else is loaded (the agent's signal latch comes first).
 */
import { CertswapError, ErrorCodes } from '../errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The duration in milliseconds; raises CERTSWAP_CONFIG_INVALID naming `where`. */
export function parseDuration(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(v.trim()) : null;
  if (!m) {
    throw new CertswapError(
      ErrorCodes.CONFIG_INVALID,
      `${where}: expected a duration like 90s, 5m, 2h or 30d, not ${JSON.stringify(v)}`,
    );
  }
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
