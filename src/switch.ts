/**
 * activate and rollback: the only operations that change which pair is active. Both end in the
 * same single rename of a symlink over `current`. Run with the store lock held.
 */
import { CertswapError, ErrorCodes } from './errors.js';
import { replaceSymlink } from './durable.js';
import { validationAt, type StoreContext } from './context.js';
import { activeGeneration, validateGeneration } from './generations.js';
import { readHistory, recordActivation, rollbackTargetOf } from './history.js';
import { linkTargetFor } from './layout.js';
import type { CertInfo } from './cert-info.js';

export interface SwitchResult {
  /** The generation now active. */
  generation: number;
  /** The generation that was active before, or null. */
  previous: number | null;
  /** False when the generation was already active and nothing was written. */
  changed: boolean;
  info: CertInfo;
}

/**
 * 1. Validate generation n as it is on disk now: dates may have passed since it was staged, and
 *    files may have been damaged.
 * 2. Read the outgoing generation from `current`.
 * 3. Durably record "n replaced outgoing" in .history *before* the swap: once `current` names n,
 *    n's rollback target is already on disk, so prune can never remove it (I5). A crash between
 *    this step and the next leaves `current` on the outgoing generation, whose own record is
 *    still in the list (history.ts says why it is a list).
 * 4. Point `current` at generations/n with one rename of a new symlink over it, and fsync the
 *    store directory. Certificate and key switch together because they are reached through the
 *    one link; after the fsync a power cut cannot undo the switch (I2), and only then is success
 *    reported.
 */
export async function activateLocked(ctx: StoreContext, n: number): Promise<SwitchResult> {
  const pair = await validateGeneration(ctx.paths, n, validationAt(ctx)); // 1
  const outgoing = await activeGeneration(ctx.paths); // 2
  if (outgoing === n) return { generation: n, previous: outgoing, changed: false, info: pair.info };
  await recordActivation(ctx.paths.history, await readHistory(ctx.paths.history), { activated: n, outgoing }); // 3
  await replaceSymlink(ctx.paths.current, linkTargetFor(n), outgoing === null ? null : linkTargetFor(outgoing)); // 4
  ctx.log.info({ event: 'activate', generation: n, previous: outgoing, fingerprint: pair.info.fingerprint }, 'activated');
  return { generation: n, previous: outgoing, changed: true, info: pair.info };
}

/**
 * 1. Find the target: `to`, or the rollback target recorded for the active generation.
 * 2. Validate the target as it is on disk now; a target that does not validate is refused and
 *    nothing changes (I3).
 * 3. Durably record "target replaced active" before the swap, as activate does: the generation
 *    being left becomes the rollback target, so a second rollback undoes the first. The target's
 *    own older record is not reused, because the generation it names may have been pruned while
 *    the target was not active (only the active generation's target is protected, I5).
 * 4. Point `current` at the target with one rename and fsync the store directory.
 */
export async function rollbackLocked(ctx: StoreContext, to?: number): Promise<SwitchResult> {
  const active = await activeGeneration(ctx.paths);
  if (active === null) throw new CertswapError(ErrorCodes.NO_ACTIVE, 'nothing is active: there is nothing to roll back');
  const history = await readHistory(ctx.paths.history);
  const target = to ?? rollbackTargetOf(history, active); // 1
  if (target === null) {
    throw new CertswapError(
      ErrorCodes.NO_ROLLBACK_TARGET,
      `no rollback target is recorded for generation ${active}; name one with --to`,
      { generation: active },
    );
  }
  const pair = await validateGeneration(ctx.paths, target, validationAt(ctx)); // 2
  if (target === active) return { generation: target, previous: active, changed: false, info: pair.info };
  await recordActivation(ctx.paths.history, history, { activated: target, outgoing: active }); // 3
  await replaceSymlink(ctx.paths.current, linkTargetFor(target), linkTargetFor(active)); // 4
  ctx.log.info({ event: 'rollback', generation: target, previous: active, fingerprint: pair.info.fingerprint }, 'rolled back');
  return { generation: target, previous: active, changed: true, info: pair.info };
}
