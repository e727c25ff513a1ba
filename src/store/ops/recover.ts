/**
 * recover: idempotent start-up repair. Run it before anything else after a crash or reboot; it is
 * safe to run at any time, and running it twice does nothing the second time. The invariants cited
 * (I3, I4) and the steps are docs/design.md's, "recover".
 */
import {
  ErrorCodes,
  errnoCode,
  isCertswapError,
  type CertswapCode,
  type CertswapError,
  type ErrorCode,
} from '../../errors.js';
import { removeDurable, replaceSymlink } from '../../io/durable.js';
import { validationAt, type StoreContext } from '../context.js';
import type { LockedContext } from '../locked.js';
import {
  listGenerations,
  readCurrentLink,
  readGenerationEntries,
  validateGeneration,
  type CurrentLink,
} from '../generations.js';
import { nextGeneration, readHighwater, recordHighwater } from '../records/highwater.js';
import { generationsDirExists } from '../store-path.js';
import { readHistory, recordActivation, resetHistory, type Activation } from '../records/history.js';
import { clearTrial, readTrial, type Trial } from '../records/trial.js';
import { endTrialMarker, switchTo } from './switch.js';
import { STAGING_PREFIX, TRASH_PREFIX, isGenerationName, linkTargetFor } from '../layout.js';
import { clearLeftovers } from '../leftovers.js';

/** Something recover found and did not (or could not fully) put right, with a stable code. */
export interface RecoverProblem {
  code: ErrorCode;
  message: string;
}

export interface RecoverResult {
  leftoversRemoved: string[];
  /** Set when an activation was still on trial: recover returned to the generation before it. */
  trialRolledBack: { from: number; to: number | null } | null;
  /** Set when `current` was repointed: from what, to which generation, and why. */
  repointed: { from: string | null; to: number; reason: string } | null;
  /** What recover found and reports; empty when the store is healthy. */
  problems: RecoverProblem[];
  current: number | null;
}

function describe(link: CurrentLink): string | null {
  if (link.state === 'generation') return linkTargetFor(link.generation);
  if (link.state === 'outside') return link.target;
  return null;
}

/** The store's own refusals (a planted or damaged entry), which recover reports instead of raising. */
function isStoreProblem(err: unknown): err is CertswapError & { code: CertswapCode } {
  return isCertswapError(err, ErrorCodes.UNSAFE_STORE) || isCertswapError(err, ErrorCodes.CORRUPT_STORE);
}

/**
 * 1. Check generations/ (a real directory of ours, never a link) and remove leftovers (staging
 *    and trash directories, temporary links and files, provisioners' work directories), never
 *    following a link. There are no stale locks to break: the lock is a kernel file lock, which
 *    the kernel dropped when its holder died.
 * 2. Read the rollback record. An unreadable one (garbage, a link, a FIFO, too large) is replaced
 *    by an empty one, durably: left as it is it would block every later activation, and all it
 *    loses is the rollback targets. If it cannot be replaced (a directory was planted there),
 *    recover stops and reports: every later step may need to write it.
 * 3. If an activation is still on trial, it was never committed: the check failed or the device
 *    restarted first. Return to the generation recorded before it (endTrial). A trial marker
 *    that cannot be read is reported and left in place, never taken for "no trial": that would
 *    make an uncommitted trial permanent. `certswap rollback --to N` ends it by hand.
 * 4. Decide whether `current` needs repair: it is dangling, points outside generations/, or its
 *    generation is incomplete or its key does not match. An absent `current` is a valid state
 *    (nothing installed yet, or a first trial undone) and is left absent; an expired pair is not
 *    repaired here either: that is renewal.
 * 5. If so, point it at the newest generation that validates now, else the newest whose pair at
 *    least matches: record it (with no rollback target) in .history, then the same single rename
 *    and directory fsync as activate.
 * 6. Check that a generation can still be staged (the high-water mark is readable and not used up).
 * Entries recover does not own (a directory or file planted as `current`, unknown names or
 * non-directories in generations/) are reported, never removed, and nothing outside the store
 * is followed or touched. Every report carries a code; the CLI exits 1 when there is any.
 */
export async function recoverLocked(ctx: LockedContext): Promise<RecoverResult> {
  const result: RecoverResult = {
    leftoversRemoved: [],
    trialRolledBack: null,
    repointed: null,
    problems: [],
    current: null,
  };
  const report = (code: ErrorCode, message: string): void => {
    result.problems.push({ code, message });
  };
  try {
    // Not a store (yet): no generations/ and no current. Nothing here is ours to repair, and a
    // mistyped --dir (a home directory) must not lose files that happen to have our names.
    if (!(await generationsDirExists(ctx.paths)) && (await readCurrentLink(ctx.paths)).state === 'absent')
      return result;
    const leftovers = await clearLeftovers(ctx); // 1
    result.leftoversRemoved = leftovers.removed;
    for (const f of leftovers.failed) report(f.code, `leftover ${f.path} could not be removed: ${f.message}`);
  } catch (err) {
    if (!isStoreProblem(err)) throw err;
    report(err.code, `${err.message}; left alone: move it away and run recover again`);
    return result;
  }
  for (const e of await readGenerationEntries(ctx.paths)) {
    if (
      isGenerationName(e.name)
        ? !e.isDirectory()
        : !e.name.startsWith(STAGING_PREFIX) && !e.name.startsWith(TRASH_PREFIX)
    ) {
      report(
        ErrorCodes.UNSAFE_STORE,
        `${isGenerationName(e.name) ? 'non-directory' : 'unknown'} entry generations/${e.name} left alone`,
      );
    }
  }

  try {
    await readHistory(ctx.paths.history); // 2
  } catch (err) {
    if (!isStoreProblem(err)) throw err;
    try {
      await resetHistory(ctx);
    } catch (resetErr) {
      report(
        err.code,
        `${err.message}; cannot replace it (${errnoCode(resetErr) ?? 'error'}): move it away and run recover again`,
      );
      return result;
    }
    report(
      err.code,
      `${err.message}; reset it: the active generation has no rollback target until the next activation`,
    );
  }

  try {
    const trial = await readTrial(ctx.paths); // 3
    if (trial) result.trialRolledBack = await endTrial(ctx, trial, report);
  } catch (err) {
    if (!isStoreProblem(err)) throw err;
    report(
      err.code,
      `${err.message}; left in place: an activation may be on trial; run certswap rollback --to N to end it`,
    );
  }

  const link = await readCurrentLink(ctx.paths); // 4
  let reason: string | null = null;
  if (link.state === 'not-a-link') {
    report(
      ErrorCodes.UNSAFE_STORE,
      `${ctx.paths.current} is not a symlink; left alone: move it away and run recover again`,
    );
    return result;
  } else if (link.state === 'outside') {
    reason = `current pointed outside generations/ (${link.target})`;
  } else if (link.state === 'generation') {
    try {
      await validateGeneration(ctx.paths, link.generation, validationAt(ctx, { ignoreDates: true }));
      result.current = link.generation;
    } catch (err) {
      if (!isCertswapError(err)) throw err;
      reason = `generation ${link.generation} is broken: ${err.message}`;
    }
  }
  if (reason !== null) {
    const candidate = await newestUsable(ctx); // 5
    if (candidate === null) {
      report(ErrorCodes.NO_VALID_GENERATION, `${reason}; no generation validates, so current was left as it was`);
    } else {
      // The candidate gets no rollback target: what its old record names may have been pruned while
      // it was not active, and what it replaces is broken. Recorded before the switch, as activate does.
      await recordActivation(ctx, await readHistory(ctx.paths.history), {
        activated: candidate,
        outgoing: null,
      });
      // If the switch cannot be made durable, put back exactly what was there (I3).
      await replaceSymlink(ctx.paths.current, linkTargetFor(candidate), describe(link));
      result.repointed = { from: describe(link), to: candidate, reason };
      result.current = candidate;
      ctx.log.warn({ event: 'recover', generation: candidate, from: describe(link), reason }, 'current repointed');
    }
  }

  try {
    // 6. A mark below a number the rollback record names (removed, or put back from a backup)
    // would let a number be used twice; raising it is always safe, so it is repaired.
    const mark = await readHighwater(ctx.paths);
    const used = Math.max(0, ...numbersInHistory(await readHistory(ctx.paths.history)));
    if (used > mark && used > ((await listGenerations(ctx.paths)).at(-1) ?? 0)) {
      await recordHighwater(ctx, used);
      report(
        ErrorCodes.CORRUPT_STORE,
        `${ctx.paths.highwater} was below generation ${used}, which the rollback record names; raised it`,
      );
    }
    await nextGeneration(ctx.paths);
  } catch (err) {
    if (!isStoreProblem(err)) throw err;
    report(err.code, `${err.message}; left as it is: numbers are never reused, so no lower mark can be proven safe`);
  }
  return result;
}

/**
 * Ends a trial that was never committed, returning to the generation it replaced (the same switch
 * as rollback), or removing `current` if there was none, when `current` names the trial
 * generation, or is a link that is not canonical (planted or damaged: it may stand for the trial,
 * and the generation before the trial was committed, so the way back is the safe direction).
 * If `current` already names the generation to return to (or is absent with nothing to return
 * to), the crash came before the switch or after the way back: only the marker is left to remove.
 * In any other state, or if the generation to return to is unusable, nothing is proven: the
 * marker is kept and the state reported. The marker goes last, once the way back is durable.
 */
async function endTrial(
  ctx: LockedContext,
  trial: Trial,
  report: (code: ErrorCode, message: string) => void,
): Promise<{ from: number; to: number | null } | null> {
  const link = await readCurrentLink(ctx.paths);
  const onTrial = (link.state === 'generation' && link.generation === trial.generation) || link.state === 'outside';
  if (!onTrial) {
    const settled =
      link.state === 'generation'
        ? link.generation === trial.returnTo
        : link.state === 'absent' && trial.returnTo === null;
    if (settled) {
      await clearTrial(ctx);
    } else {
      report(
        ErrorCodes.CORRUPT_STORE,
        `generation ${trial.generation} is recorded on trial (returning to ${trial.returnTo ?? 'nothing'}), ` +
          `but current is ${describe(link) ?? link.state}; left both: commit, or roll back with --to N`,
      );
    }
    return null;
  }
  let done: { from: number; to: number | null };
  if (trial.returnTo === null) {
    await removeDurable(ctx.paths.current);
    done = { from: trial.generation, to: null };
  } else {
    try {
      await validateGeneration(ctx.paths, trial.returnTo, validationAt(ctx, { ignoreDates: true }));
    } catch (err) {
      if (!isCertswapError(err)) throw err;
      report(
        err.code,
        `generation ${trial.generation} is on trial, but generation ${trial.returnTo} to return to is unusable ` +
          `(${err.message}); left on trial: commit, or roll back with --to N`,
      );
      return null;
    }
    await switchTo(ctx, trial.returnTo, trial.generation, await readHistory(ctx.paths.history));
    done = { from: trial.generation, to: trial.returnTo };
  }
  ctx.log.warn(
    { event: 'recover', trial: true, generation: done.to, previous: done.from },
    'uncommitted trial rolled back',
  );
  await endTrialMarker(ctx);
  return done;
}

function numbersInHistory(entries: Activation[]): number[] {
  return entries.flatMap((e) => (e.outgoing === null ? [e.activated] : [e.activated, e.outgoing]));
}

/** The newest generation that validates now, else the newest whose pair matches; null if none. */
async function newestUsable(ctx: StoreContext): Promise<number | null> {
  const all = (await listGenerations(ctx.paths)).reverse();
  for (const ignoreDates of [false, true]) {
    for (const n of all) {
      try {
        await validateGeneration(ctx.paths, n, validationAt(ctx, { ignoreDates }));
        return n;
      } catch (err) {
        if (!isCertswapError(err)) throw err;
      }
    }
  }
  return null;
}
