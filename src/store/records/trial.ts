/**
 * Trial activations. A trial is an activation that must be confirmed (committed) by a
 * post-activation check; until then <dir>/.trial records the generation to return to. If the
 * check fails, or the device restarts before the commit, the next rollback or recover returns to
 * it. The marker is written before the switch and removed only after the way back (or the commit)
 * is durable, so a crash at any point leaves either a pending trial or none, never a lost one.
 */
import { CertswapError, ErrorCodes } from '../../errors.js';
import { removeDurable, replaceFile } from '../../io/durable.js';
import { MAX_GENERATION, STATE_FILE_MODE, type StorePaths } from '../layout.js';
import { exactObject, readStateFile } from './state-file.js';
import type { LockedContext } from '../locked.js';

export interface Trial {
  /** The generation on trial. */
  generation: number;
  /** The generation to return to; null when nothing was active before. */
  returnTo: number | null;
  startedAt: string;
}

const isGenerationNumber = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= MAX_GENERATION;

/**
 * Parses a trial record with exact types: {"generation": n, "returnTo": n | null, "startedAt":
 * string} and nothing else. Anything else is CERTSWAP_CORRUPT_STORE, never "no trial": taking a
 * damaged record for none would make an uncommitted trial permanent.
 */
export function parseTrial(text: string, file: string): Trial {
  const r = exactObject(text, 'generation,returnTo,startedAt');
  if (
    r !== undefined &&
    isGenerationNumber(r.generation) &&
    (r.returnTo === null || isGenerationNumber(r.returnTo)) &&
    typeof r.startedAt === 'string'
  ) {
    return { generation: r.generation, returnTo: r.returnTo as number | null, startedAt: r.startedAt };
  }
  throw new CertswapError(ErrorCodes.CORRUPT_STORE, `${file}: unreadable trial record`, { path: file });
}

/** The pending trial, or null. Raises CERTSWAP_CORRUPT_STORE or CERTSWAP_UNSAFE_STORE (see readStateFile). */
export async function readTrial(paths: StorePaths): Promise<Trial | null> {
  const text = await readStateFile(paths.trial, 4096);
  return text === null ? null : parseTrial(text, paths.trial);
}

/** Durably records a trial (before the switch it describes). */
export async function recordTrial(ctx: LockedContext, trial: Trial): Promise<void> {
  await replaceFile(ctx.paths.trial, Buffer.from(`${JSON.stringify(trial)}\n`), STATE_FILE_MODE);
}

/** Durably ends the trial (after its commit or its way back is durable). */
export async function clearTrial(ctx: LockedContext): Promise<void> {
  await removeDurable(ctx.paths.trial);
}
