/**
 * hooks.verify: after the reload hook, ask the consumer which certificate it serves
 * (consumers/served.ts). On a mismatch the hook is run again, with a doubling wait, until the
 * served leaf is the active generation's or the attempts run out; then it is logged as an error
 * (event `verify-mismatch`) with both fingerprints. The switch itself stands either way: the
 * store's active pair is valid, and the consumer is what lags.
 *
 * Each check waits first (backoff, doubled for each attempt): a reload is asynchronous (nginx -s
 * reload, HAProxy's master `reload`, SIGHUP all return before the new workers serve), and a check
 * at once would find the old certificate and reload a second time for nothing.
 */
import { toCertswapError } from '../errors.js';
import type { Log } from '../store/context.js';
import type { GenerationStore } from '../store/store.js';
import { checkServed, mismatch, type ServedCheck } from '../consumers/served.js';
import type { Clock } from './clock.js';

export interface VerifyServedOptions {
  host: string;
  port: number;
  servername?: string;
  /** Checks in all, the first included. */
  attempts: number;
  /** Wait before the first check, after the hook; doubled before each later check. */
  backoffMs: number;
  timeoutMs: number;
}

/** The longest one wait before a check: the longest `backoff` allowed (config.ts LIMITS.verifyBackoff). */
export const MAX_WAIT_MS = 10 * 60_000;

/** What one check found: the comparison, or why the server could not be asked. */
type Outcome = { check: ServedCheck } | { error: string; code: string };

async function probe(store: GenerationStore, v: VerifyServedOptions): Promise<Outcome> {
  try {
    const o = { host: v.host, port: v.port, timeoutMs: v.timeoutMs };
    return { check: await checkServed(store, v.servername === undefined ? o : { ...o, servername: v.servername }) };
  } catch (err) {
    const e = toCertswapError(err);
    return { error: e.message, code: e.code };
  }
}

/**
 * Checks the served certificate, re-running `rerunHook` between attempts while it differs.
 * Returns whether it matched in the end (false too when `signal` aborts a wait: nothing more is
 * checked or run); never throws (what failed is logged).
 */
export async function verifyServed(
  store: GenerationStore,
  v: VerifyServedOptions,
  rerunHook: () => Promise<void>,
  ctx: { clock: Clock; log: Log; cert: string; signal?: AbortSignal },
): Promise<boolean> {
  const server = `${v.host}:${v.port}`;
  for (let attempt = 1; ; attempt++) {
    // The agent's loop (every other certificate's renewal) and its stop wait for this: a stop
    // (SIGTERM) ends the waits, and each is capped, so 10 attempts wait 100 minutes at the most,
    // not the 7 days 10m doubled nine times would make.
    await ctx.clock.sleep(Math.min(v.backoffMs * 2 ** (attempt - 1), MAX_WAIT_MS), ctx.signal);
    if (ctx.signal?.aborted) {
      ctx.log.warn({ event: 'verify-stopped', cert: ctx.cert, server, attempt }, `${server}: not checked, stopping`);
      return false;
    }
    const r = await probe(store, v);
    const fields =
      'check' in r
        ? { generation: r.check.generation, expected: r.check.expected, served: r.check.served }
        : { code: r.code, error: r.error };
    if ('check' in r && r.check.match) {
      ctx.log.info({ event: 'verify', cert: ctx.cert, server, attempt, ...fields }, `${server} serves the active pair`);
      return true;
    }
    if (attempt >= v.attempts) {
      ctx.log.error(
        { event: 'verify-mismatch', cert: ctx.cert, server, attempts: attempt, ...fields },
        'check' in r
          ? `${server} still ${mismatch(r.check)}, after ${attempt} checks: the reload hook did not take`
          : `${server} could not be checked after ${attempt} attempts: ${r.error}`,
      );
      return false;
    }
    ctx.log.warn(
      { event: 'verify-retry', cert: ctx.cert, server, attempt, ...fields },
      `${server} does not serve the active pair yet; running the hook again`,
    );
    await rerunHook().catch((err) =>
      ctx.log.error({ event: 'hook', cert: ctx.cert, code: toCertswapError(err).code }, (err as Error).message),
    );
  }
}
