/**
 * activate, rollback and commit: the operations that change which pair is active. Every switch
 * ends in the same single rename of a symlink over `current`. Each takes a LockedContext: runs
 * with the store lock held. The invariants cited (I2, I3, I5) and the steps are docs/design.md's.
 */
import { CertswapError, ErrorCodes, isCertswapError } from '../../errors.js';
import { removeDurable, replaceSymlink } from '../../io/durable.js';
import { validationAt } from '../context.js';
import type { LockedContext } from '../locked.js';
import { activeGeneration, validateGeneration } from '../generations.js';
import { readHistory, recordActivation, rollbackTargetOf, type Activation } from '../records/history.js';
import { linkTargetFor } from '../layout.js';
import { clearTrial, readTrial, recordTrial, type Trial } from '../records/trial.js';
import type { CertInfo } from '../../pki/cert-info.js';
import type { ValidatedPair } from '../../pki/validate.js';
import { settleAll } from '../../io/concurrency.js';

export interface SwitchResult {
  /** The generation now active. */
  generation: number;
  /** The generation that was active before, or null. */
  previous: number | null;
  /** False when the generation was already active and nothing was written. */
  changed: boolean;
  info: CertInfo;
}

/** A rollback of a trial that had nothing to return to: `current` was removed. */
export interface Uninstalled {
  generation: null;
  previous: number;
  changed: true;
  info: null;
}

export type RollbackResult = SwitchResult | Uninstalled;

export interface ActivateOptions {
  /** Activate on trial: until commit(), rollback() and recover() return to the outgoing generation. */
  trial?: boolean;
}

/**
 * The switch itself, shared by activate, rollback and recover:
 * a. Durably record "target replaced outgoing" in .history *before* the swap: once `current`
 *    names the target, its rollback target is already on disk, so prune can never remove it
 *    (I5). A crash between this step and the next leaves `current` on the outgoing generation,
 *    whose own record is still in the list (history.ts says why it is a list).
 * b. With a trial, durably record the trial the same way, before the swap: a crash after the
 *    swap then always finds the marker, and recover returns to the outgoing generation.
 * c. Point `current` at the target with one rename of a new symlink over it, and fsync the store
 *    directory. Certificate and key switch together because they are reached through the one
 *    link; after the fsync a power cut cannot undo the switch (I2), and only then is success
 *    reported. If that fsync fails, the old link is put back (see replaceSymlink) and a trial
 *    marker just written is removed, so a reported failure changes nothing (I3).
 */
export async function switchTo(
  ctx: LockedContext,
  target: number,
  outgoing: number | null,
  history: Activation[],
  trial?: Trial,
): Promise<void> {
  await recordActivation(ctx, history, { activated: target, outgoing }); // a
  if (trial) await recordTrial(ctx, trial); // b
  try {
    // c
    await replaceSymlink(ctx.paths.current, linkTargetFor(target), outgoing === null ? null : linkTargetFor(outgoing));
  } catch (err) {
    if (trial) await clearTrial(ctx).catch(() => undefined);
    throw err;
  }
}

/**
 * Refuses while the active generation is on trial. A marker for a generation that is not active
 * is stale (left by a crash or a failed removal after the way back was already durable) and is
 * removed first: it must be gone before anything is activated, or a later recover would take
 * the marker for a live trial of that generation.
 */
async function refuseIfTrialPending(ctx: LockedContext, active: number | null, pending: Trial | null): Promise<void> {
  if (pending && pending.generation !== active) {
    await clearTrial(ctx);
  } else if (pending) {
    throw new CertswapError(
      ErrorCodes.TRIAL_PENDING,
      `generation ${pending.generation} is on trial: commit it or roll it back first`,
      { generation: pending.generation },
    );
  }
}

/**
 * Raises what activate would raise about the store itself (CERTSWAP_UNSAFE_STORE for a `current`
 * that is not ours, CERTSWAP_TRIAL_PENDING), so that install can refuse before it stages anything.
 */
export async function checkCanActivate(ctx: LockedContext): Promise<void> {
  await refuseIfTrialPending(ctx, await activeGeneration(ctx.paths), await readTrial(ctx.paths));
}

/**
 * 1. Read the outgoing generation from `current`, the trial marker and the rollback record.
 * 2. Refuse while it is on trial: the trial must be committed or rolled back first.
 * 3. Validate generation n as it is on disk now: dates may have passed since it was staged, and
 *    files may have been damaged.
 * 4. Switch (switchTo: record the rollback target, the trial if any, then the one rename).
 */
export async function activateLocked(
  ctx: LockedContext,
  n: number,
  opts: ActivateOptions = {},
  justStaged?: ValidatedPair,
): Promise<SwitchResult> {
  // Independent reads (the lock keeps them still): at once, one thread-pool round trip deep.
  const [outgoing, pending, history] = await settleAll([
    activeGeneration(ctx.paths),
    readTrial(ctx.paths),
    readHistory(ctx.paths.history),
  ] as const); // 1
  await refuseIfTrialPending(ctx, outgoing, pending); // 2
  // install passes the pair stage() has just read back from disk and validated (then renamed into
  // generations/<n>), under the same hold of the lock: nothing can have changed it since.
  const pair = justStaged ?? (await validateGeneration(ctx.paths, n, validationAt(ctx))); // 3
  if (outgoing === n) return { generation: n, previous: outgoing, changed: false, info: pair.info };
  const trial = opts.trial ? { generation: n, returnTo: outgoing, startedAt: ctx.now().toISOString() } : undefined;
  await switchTo(ctx, n, outgoing, history, trial); // 4
  ctx.log.info(
    { event: 'activate', generation: n, previous: outgoing, trial: !!trial, fingerprint: pair.info.fingerprint },
    'activated',
  );
  return { generation: n, previous: outgoing, changed: true, info: pair.info };
}

/**
 * 1. Find the target: `to`; else, with a trial pending, the generation the trial returns to;
 *    else the rollback target recorded for the active generation.
 * 2. Validate the target as it is on disk now; a target that does not validate is refused and
 *    nothing changes (I3).
 * 3. Switch (switchTo). The generation being left becomes the rollback target, so a second
 *    rollback undoes the first. The target's own older record is not reused: the generation it
 *    names may have been pruned while the target was not active (only the active generation's
 *    target is protected, I5).
 *    A trial with nothing to return to (the first activation ever) is undone by removing
 *    `current` durably: the store is back to "nothing installed".
 *    With a trial marker that cannot be read (damaged or planted), only `to` is accepted.
 * 4. End the trial, after the way back is durable: a crash before this leaves the marker, and
 *    recover finds `current` already on the target and only removes it. If only this removal
 *    fails, the rollback itself stands and is reported as done: the marker is stale (it names a
 *    generation that is no longer active) and is removed before the next activation.
 */
export async function rollbackLocked(ctx: LockedContext, to?: number): Promise<RollbackResult> {
  const active = await activeGeneration(ctx.paths);
  if (active === null)
    throw new CertswapError(ErrorCodes.NO_ACTIVE, 'nothing is active: there is nothing to roll back');
  const history = await readHistory(ctx.paths.history);
  let trial: Trial | null;
  let unreadableTrial = false;
  try {
    trial = await readTrial(ctx.paths);
  } catch (err) {
    // A marker that cannot be read may stand for a trial of the active generation: only a named
    // target (rollback --to) is a decision the operator made knowing that; then the marker ends.
    if (
      to === undefined ||
      !(isCertswapError(err, ErrorCodes.CORRUPT_STORE) || isCertswapError(err, ErrorCodes.UNSAFE_STORE))
    )
      throw err;
    trial = null;
    unreadableTrial = true;
  }
  const trialReturnTo = trial !== null && trial.generation === active ? trial.returnTo : undefined;
  const onTrial = trialReturnTo !== undefined;
  if (onTrial && to === undefined && trialReturnTo === null) {
    await removeDurable(ctx.paths.current); // 3
    await endTrialMarker(ctx); // 4
    ctx.log.info(
      { event: 'rollback', generation: null, previous: active, trial: true },
      'trial undone: nothing active',
    );
    return { generation: null, previous: active, changed: true, info: null };
  }
  const target = to ?? (onTrial ? trialReturnTo : rollbackTargetOf(history, active)); // 1
  if (target === null) {
    throw new CertswapError(
      ErrorCodes.NO_ROLLBACK_TARGET,
      `no rollback target is recorded for generation ${active}; name one with --to`,
      { generation: active },
    );
  }
  const pair = await validateGeneration(ctx.paths, target, validationAt(ctx)); // 2
  if (target !== active) await switchTo(ctx, target, active, history); // 3
  if (trial || unreadableTrial) await endTrialMarker(ctx); // 4
  if (target === active) return { generation: target, previous: active, changed: false, info: pair.info };
  ctx.log.info(
    { event: 'rollback', generation: target, previous: active, trial: onTrial, fingerprint: pair.info.fingerprint },
    'rolled back',
  );
  return { generation: target, previous: active, changed: true, info: pair.info };
}

/** Removes the trial marker once the way back is durable; a failure leaves only a stale marker. */
export async function endTrialMarker(ctx: LockedContext): Promise<void> {
  await clearTrial(ctx).catch((err: unknown) => {
    ctx.log.warn(
      { event: 'trial', code: (err as { code?: string }).code },
      'stale trial marker left; it is removed before the next activation',
    );
  });
}

/**
 * Confirms the trial of the active generation: removes the marker durably, after which neither
 * rollback nor recover returns to the old generation on their own. Raises CERTSWAP_NO_TRIAL.
 */
export async function commitLocked(ctx: LockedContext): Promise<{ generation: number }> {
  const trial = await readTrial(ctx.paths);
  const active = await activeGeneration(ctx.paths);
  if (trial === null || trial.generation !== active) {
    throw new CertswapError(
      ErrorCodes.NO_TRIAL,
      trial === null
        ? 'no activation is on trial'
        : `generation ${trial.generation} is on trial but ${active} is active; run certswap recover`,
    );
  }
  await clearTrial(ctx);
  ctx.log.info({ event: 'commit', generation: active }, 'trial committed');
  return { generation: active };
}
