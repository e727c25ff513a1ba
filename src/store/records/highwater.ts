/**
 * The high-water mark: <dir>/.highwater holds the largest generation number ever used, so that
 * numbers are never reused after the newest generations are pruned. Only prune needs to write it
 * (before it removes a generation at or above the mark); stage takes max(mark, largest present) + 1.
 */
import { CertswapError, ErrorCodes } from '../../errors.js';
import { readStateFile } from './state-file.js';
import { replaceFile } from '../../io/durable.js';
import { MAX_GENERATION, STATE_FILE_MODE, isGenerationName, type StorePaths } from '../layout.js';
import { listGenerations } from '../generations.js';
import { readHistory } from './history.js';
import type { LockedContext } from '../locked.js';

/** The mark, or 0 when none was ever recorded. Raises CERTSWAP_CORRUPT_STORE for anything but "<n>\n". */
export async function readHighwater(paths: StorePaths): Promise<number> {
  const raw = await readStateFile(paths.highwater, 64);
  if (raw === null) return 0;
  const text = raw.endsWith('\n') ? raw.slice(0, -1) : raw;
  if (!isGenerationName(text)) {
    throw new CertswapError(ErrorCodes.CORRUPT_STORE, `${paths.highwater}: not a generation number`, {
      path: paths.highwater,
    });
  }
  return Number(text);
}

/**
 * The number the next staged generation gets. Raises CERTSWAP_CORRUPT_STORE when the numbers are
 * used up: a generation above MAX_GENERATION would have a name that is not a generation name
 * (`current` would point outside the contract), and numbers are never reused. No store that
 * certswap wrote gets near it; a mark that high was put there.
 */
export async function nextGeneration(paths: StorePaths): Promise<number> {
  const present = await listGenerations(paths);
  // The rollback record too: if the mark was lost, the numbers it names must still never return.
  const recorded = (await readHistory(paths.history)).flatMap((e) =>
    e.outgoing === null ? [e.activated] : [e.activated, e.outgoing],
  );
  const top = Math.max(await readHighwater(paths), present.at(-1) ?? 0, ...recorded);
  if (top >= MAX_GENERATION) {
    throw new CertswapError(
      ErrorCodes.CORRUPT_STORE,
      `generation numbers are used up (${top} is the largest certswap accepts): ` +
        `${paths.highwater} or generations/ was tampered with`,
      { path: paths.highwater },
    );
  }
  return top + 1;
}

/** Durably raises the mark to `n` (a crash leaves the old mark or the new, never a torn one). */
export async function recordHighwater(ctx: LockedContext, n: number): Promise<void> {
  await replaceFile(ctx.paths.highwater, Buffer.from(`${n}\n`), STATE_FILE_MODE);
}
