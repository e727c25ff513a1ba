/**
 * Trial activations. A trial is an activation that must be confirmed (committed) by a
 * post-activation check; until then <dir>/.trial records the generation to return to. If the
 * check fails, or the device restarts before the commit, the next rollback or recover returns to
 * it. The marker is written before the switch and removed only after the way back (or the commit)
 * is durable, so a crash at any point leaves either a pending trial or none, never a lost one.
 */
import { CertswapError, ErrorCodes } from './errors.js';
import { removeDurable, replaceFile } from './durable.js';
import { STATE_FILE_MODE, isGenerationName, type StorePaths } from './layout.js';
import { readStateFile } from './state-file.js';

export interface Trial {
  /** The generation on trial. */
  generation: number;
  /** The generation to return to; null when nothing was active before. */
  returnTo: number | null;
  startedAt: string;
}

export async function readTrial(paths: StorePaths): Promise<Trial | null> {
  const text = await readStateFile(paths.trial, 4096);
  if (text === null) return null;
  try {
    const t = JSON.parse(text) as Trial;
    if (isGenerationName(String(t.generation)) && (t.returnTo === null || isGenerationName(String(t.returnTo)))) return t;
  } catch {
    // fall through: unreadable
  }
  throw new CertswapError(ErrorCodes.CORRUPT_STORE, `${paths.trial}: unreadable trial record`, { path: paths.trial });
}

/** Durably records a trial (before the switch it describes). */
export async function recordTrial(paths: StorePaths, trial: Trial): Promise<void> {
  await replaceFile(paths.trial, Buffer.from(`${JSON.stringify(trial)}\n`), STATE_FILE_MODE);
}

/** Durably ends the trial (after its commit or its way back is durable). */
export async function clearTrial(paths: StorePaths): Promise<void> {
  await removeDurable(paths.trial);
}
