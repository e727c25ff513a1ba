/**
 * prune: delete old generations, never the active one and never its rollback target (I5, in
 * docs/design.md with the steps below). Takes a LockedContext: runs with the store lock held.
 */
import path from 'node:path';
import { CertswapError, ErrorCodes } from '../../errors.js';
import { removeTrees, renameAllDurable } from '../../io/durable.js';
import type { LockedContext } from '../locked.js';
import { activeGeneration, listGenerations } from '../generations.js';
import { readHighwater, recordHighwater } from '../records/highwater.js';
import { readHistory, rollbackTargetOf } from '../records/history.js';
import { trashName } from '../layout.js';
import { clearLeftovers } from '../leftovers.js';

export const DEFAULT_KEEP = 3;
/** The most generations a prune keeps; status and prune are measured at 10,000. */
export const MAX_KEEP = 10_000;

/**
 * The one rule for `keep`: a whole number from 0 to MAX_KEEP. 0 and 1 keep the same (the active
 * generation and its rollback target are always kept).
 */
export function isKeep(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_KEEP;
}

export interface PruneResult {
  removed: number[];
  kept: number[];
  leftoversRemoved: string[];
}

/**
 * 1. Clear leftovers of interrupted operations (we hold the lock, so none is in flight).
 * 2. Choose victims: everything but the `keep` newest, the active generation and its rollback
 *    target. Both are read under the lock, so neither can change while we prune.
 * 3. If a victim is at or above the high-water mark, durably raise the mark first: after the
 *    victim is gone its number must still never be reused.
 * 4. Rename each victim to generations/.trash-<n>-<random>, then fsync generations/ once. A
 *    rename is atomic, so generations/<n> is never seen half-deleted (a recursive delete in place
 *    would leave an incomplete generations/<n> after a crash).
 * 5. Remove the trash directories. Not made durable: if lost, they are leftovers for step 1.
 */
export async function pruneLocked(ctx: LockedContext, keep = DEFAULT_KEEP): Promise<PruneResult> {
  if (!isKeep(keep)) {
    throw new CertswapError(ErrorCodes.BAD_ARGUMENT, `keep must be a whole number from 0 to ${MAX_KEEP}, not ${keep}`);
  }
  const { removed: leftoversRemoved, failed } = await clearLeftovers(ctx); // 1
  // A leftover we cannot remove is out of the contract already: it is logged, and prune goes on.
  for (const f of failed) ctx.log.warn({ event: 'prune', path: f.path, code: f.code }, 'leftover kept');

  const all = await listGenerations(ctx.paths); // 2
  const active = await activeGeneration(ctx.paths);
  const target = rollbackTargetOf(await readHistory(ctx.paths.history), active);
  const newest = new Set(all.slice(Math.max(0, all.length - keep)));
  const victims = all.filter((n) => !newest.has(n) && n !== active && n !== target);
  const victimSet = new Set(victims);
  const kept = all.filter((n) => !victimSet.has(n));
  if (victims.length === 0) return { removed: [], kept, leftoversRemoved };

  const top = victims.at(-1)!; // 3
  if (top >= (await readHighwater(ctx.paths))) await recordHighwater(ctx, Math.max(top, all.at(-1)!));

  const moves = victims.map((n): [string, string] => [
    ctx.paths.generationDir(n),
    path.join(ctx.paths.generations, trashName(n)),
  ]);
  await renameAllDurable(ctx.paths.generations, moves); // 4
  ctx.log.info({ event: 'prune', removed: victims, kept, active, rollbackTarget: target }, 'pruned');

  // 5: the prune is already durable; a trash directory we fail to remove is only a leftover.
  await removeTrees(
    moves.map(([, t]) => t),
    (t, err) => ctx.log.warn({ event: 'prune', path: t, code: (err as { code?: string }).code }, 'leftover kept'),
  );
  return { removed: victims, kept, leftoversRemoved };
}
