/**
 * The agent's retry state for the certificate of this store: <dir>/.retry, present only while
 * renewals are failing. It is what lets `certswap renew --dry-run` (and a metric) show "retry
 * backoff" with the time of the next attempt, and what lets an agent that restarts during a CA
 * outage keep its place in the queue (retry.ts: herd control) instead of retrying at once with
 * every other device that restarted.
 *
 * A hint, not a guarantee: the certificate's safety never depends on it. Written whole (replaceFile:
 * a crash leaves the old record or the new one), read with exact types; a record naming another
 * generation than the active one is stale (a renewal succeeded since, by another process) and its
 * readers ignore it.
 */
import { CertswapError, ErrorCodes, errnoCode, isCertswapError } from '../../errors.js';
import { removeDurable, replaceFile } from '../../io/durable.js';
import { MAX_GENERATION, STATE_FILE_MODE, type StorePaths } from '../layout.js';
import type { LockedContext } from '../locked.js';
import { exactObject, readStateFile } from './state-file.js';

/** Far above a record's size (about 250 bytes); a larger file is not one certswap wrote. */
const MAX_RETRY_BYTES = 1024;

export interface RetryRecord {
  /** Failed attempts in this streak (1 after the first failure). */
  attempt: number;
  /** When the streak's first attempt failed (ISO 8601). */
  failingSince: string;
  /** The streak's own draw in [0, 1) (retry.ts: the device's place in the queue). */
  draw: number;
  /** When the agent tries again (ISO 8601). */
  next: string;
  /** The code of the last failure. */
  code: string;
  /** The generation active when it failed; null when none was. */
  generation: number | null;
}

const KEYS = 'attempt,code,draw,failingSince,generation,next';
const isTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));

/** Parses a record with exact types; anything else is CERTSWAP_CORRUPT_STORE. */
export function parseRetry(text: string, file: string): RetryRecord {
  const r = exactObject(text, KEYS);
  if (
    r !== undefined &&
    Number.isSafeInteger(r.attempt) &&
    (r.attempt as number) >= 1 &&
    isTime(r.failingSince) &&
    typeof r.draw === 'number' &&
    r.draw >= 0 &&
    r.draw < 1 &&
    isTime(r.next) &&
    typeof r.code === 'string' &&
    /^[A-Z0-9_]{1,64}$/.test(r.code) &&
    (r.generation === null ||
      (Number.isSafeInteger(r.generation) &&
        (r.generation as number) >= 1 &&
        (r.generation as number) <= MAX_GENERATION))
  ) {
    return r as unknown as RetryRecord;
  }
  throw new CertswapError(ErrorCodes.CORRUPT_STORE, `${file}: unreadable retry record`, { path: file });
}

/** The retry record, or null. Raises CERTSWAP_CORRUPT_STORE or CERTSWAP_UNSAFE_STORE (see readStateFile). */
export async function readRetry(paths: StorePaths): Promise<RetryRecord | null> {
  const text = await readStateFile(paths.retry, MAX_RETRY_BYTES);
  return text === null ? null : parseRetry(text, paths.retry);
}

/**
 * What is at the record's name must be a file of ours before it is replaced or removed, as for
 * every state file (readStateFile: a link, FIFO, directory or foreign file is CERTSWAP_UNSAFE_STORE);
 * a record that does not parse is simply replaced.
 */
async function checkReplaceable(paths: StorePaths): Promise<void> {
  try {
    await readRetry(paths);
  } catch (err) {
    if (!(isCertswapError(err) && err.code === ErrorCodes.CORRUPT_STORE)) throw err;
  }
}

/** Durably records the retry state (after a failed attempt). Raises CERTSWAP_UNSAFE_STORE (above). */
export async function recordRetry(ctx: LockedContext, r: RetryRecord): Promise<void> {
  await checkReplaceable(ctx.paths);
  const { attempt, failingSince, draw, next, code, generation } = r;
  const text = `${JSON.stringify({ attempt, failingSince, draw, next, code, generation })}\n`;
  await replaceFile(ctx.paths.retry, Buffer.from(text), STATE_FILE_MODE);
}

/** Removes the retry record (after a renewal succeeded); none is not an error. Raises as recordRetry. */
export async function clearRetry(ctx: LockedContext): Promise<void> {
  await checkReplaceable(ctx.paths);
  try {
    await removeDurable(ctx.paths.retry);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}
