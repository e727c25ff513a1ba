/**
 * The agent's retry state on disk (store/records/retry.ts): recorded after each failed renewal,
 * taken back when the agent starts, removed once a renewal succeeds; read by `renew --dry-run`.
 * It is a hint: reading or writing it never fails a renewal (a problem is logged and the agent
 * goes on with what it has in memory).
 */
import { toCertswapError } from '../errors.js';
import type { Log } from '../store/context.js';
import type { RetryRecord } from '../store/records/retry.js';
import type { GenerationStore } from '../store/store.js';
import type { RenewalTimer, RetryPlan } from './renewal-timer.js';
import { EXPIRY_SHARE } from './retry.js';

/** The active generation, or null when there is none (or it cannot be read). */
async function activeGeneration(store: GenerationStore): Promise<number | null> {
  try {
    return (await store.readActive()).generation;
  } catch {
    return null;
  }
}

/**
 * The retry record of `store` if it is current: it names the generation active now. A record for
 * another generation is stale (a renewal succeeded since, by another process). Never raises.
 */
export async function currentRetry(store: GenerationStore, log: Log, name: string): Promise<RetryRecord | null> {
  let r: RetryRecord | null;
  try {
    r = await store.retryState();
  } catch (err) {
    const e = toCertswapError(err);
    log.warn({ event: 'retry-state', cert: name, code: e.code }, `${name}: retry state ignored: ${e.message}`);
    return null;
  }
  if (r === null || r.generation !== (await activeGeneration(store))) return null;
  return r;
}

/**
 * At start (`nowMs`): continues the failure streak an earlier run recorded, if it is current.
 * Returns when to try again (ms): when that run meant to, but never later than the retry rule
 * allows now (EXPIRY_SHARE of the time the active certificate has left: a record written under a
 * wrong clock must not hold a renewal past expiry), and at once when no valid certificate is
 * active. Undefined when there is no current record.
 */
export async function resumeRetry(
  store: GenerationStore,
  timer: RenewalTimer,
  log: Log,
  name: string,
  nowMs: number,
): Promise<number | undefined> {
  const r = await currentRetry(store, log, name);
  if (r === null) return undefined;
  timer.resume({ attempt: r.attempt, failingSinceMs: Date.parse(r.failingSince), draw: r.draw });
  const notAfter = await store.verify().then(
    (v) => Date.parse(v.info.notAfter),
    () => null,
  );
  const at = notAfter === null ? nowMs : Math.min(Date.parse(r.next), nowMs + EXPIRY_SHARE * (notAfter - nowMs));
  const next = new Date(at).toISOString();
  log.info(
    { event: 'retry', cert: name, nextRenewal: next, why: 'retry backoff', attempt: r.attempt, code: r.code },
    `${name}: failing since ${r.failingSince} (${r.code}); next attempt ${next}, as recorded`,
  );
  return at;
}

/** After a failed attempt: records the streak and the next attempt. Never raises. */
export async function saveRetry(
  store: GenerationStore,
  plan: RetryPlan,
  code: string,
  log: Log,
  name: string,
): Promise<void> {
  try {
    await store.recordRetry({
      attempt: plan.attempt,
      failingSince: new Date(plan.failingSinceMs).toISOString(),
      draw: plan.draw,
      next: plan.at.toISOString(),
      code,
      generation: await activeGeneration(store),
    });
  } catch (err) {
    const e = toCertswapError(err);
    log.warn({ event: 'retry-state', cert: name, code: e.code }, `${name}: retry state not recorded: ${e.message}`);
  }
}

/** After a success: removes the record, if there is one. Never raises. */
export async function clearRetry(store: GenerationStore, log: Log, name: string): Promise<void> {
  try {
    // A read first: a renewal without a record behind it (nearly all) writes nothing.
    if ((await store.retryState().catch(() => 'unreadable')) === null) return;
    await store.clearRetry();
  } catch (err) {
    const e = toCertswapError(err);
    log.warn({ event: 'retry-state', cert: name, code: e.code }, `${name}: retry state not removed: ${e.message}`);
  }
}
