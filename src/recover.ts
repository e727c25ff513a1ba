/**
 * recover: idempotent start-up repair. Run it before anything else after a crash or reboot; it is
 * safe to run at any time, and running it twice does nothing the second time.
 */
import { isCertswapError } from './errors.js';
import { replaceSymlink } from './durable.js';
import { fsOps } from './fs.js';
import { validationAt, type StoreContext } from './context.js';
import { listGenerations, readCurrentLink, validateGeneration, type CurrentLink } from './generations.js';
import { readHistory, recordActivation } from './history.js';
import { STAGING_PREFIX, TRASH_PREFIX, isGenerationName, linkTargetFor } from './layout.js';
import { clearLeftovers } from './leftovers.js';
import { errnoCode } from './errors.js';

export interface RecoverResult {
  leftoversRemoved: string[];
  /** Set when `current` was repointed: from what, to which generation, and why. */
  repointed: { from: string | null; to: number; reason: string } | null;
  /** What recover found but did not change; empty when the store is healthy. */
  problems: string[];
  current: number | null;
}

function describe(link: CurrentLink): string | null {
  if (link.state === 'generation') return linkTargetFor(link.generation);
  if (link.state === 'outside') return link.target;
  return null;
}

/**
 * 1. Remove leftovers (staging and trash directories, temporary links and files). There are no
 *    stale locks to break: the lock is a flock, which the kernel dropped when its holder died.
 * 2. Decide whether `current` needs repair: it is dangling, points outside generations/, or its
 *    generation is incomplete or its key does not match; or it is absent although .history shows
 *    that something was activated before. An expired pair is not repaired here: that is renewal.
 * 3. If so, point it at the newest generation that validates now, else the newest whose pair at
 *    least matches: record it (with no rollback target) in .history, then the same single rename
 *    and directory fsync as activate. Entries recover
 *    does not own (a directory or file planted as `current`, unknown names in generations/) are
 *    reported, never removed, and nothing outside the store is followed or touched.
 */
export async function recoverLocked(ctx: StoreContext): Promise<RecoverResult> {
  const result: RecoverResult = { leftoversRemoved: await clearLeftovers(ctx.paths), repointed: null, problems: [], current: null }; // 1

  let history: Awaited<ReturnType<typeof readHistory>> = [];
  try {
    history = await readHistory(ctx.paths.history);
  } catch (err) {
    if (!isCertswapError(err)) throw err;
    result.problems.push(`${err.message} (rollback targets are unknown until the next activation)`);
  }
  for (const name of await fsOps.readdir(ctx.paths.generations).catch((e) => (errnoCode(e) === 'ENOENT' ? [] : Promise.reject(e)))) {
    if (!isGenerationName(name) && !name.startsWith(STAGING_PREFIX) && !name.startsWith(TRASH_PREFIX)) {
      result.problems.push(`unknown entry generations/${name} left alone`);
    }
  }

  const link = await readCurrentLink(ctx.paths); // 2
  let reason: string | null = null;
  if (link.state === 'not-a-link') {
    result.problems.push(`${ctx.paths.current} is not a symlink; left alone: move it away and run recover again`);
    return result;
  } else if (link.state === 'outside') {
    reason = `current pointed outside generations/ (${link.target})`;
  } else if (link.state === 'absent') {
    if (history.length > 0) reason = 'current was missing although a generation had been activated';
  } else {
    try {
      await validateGeneration(ctx.paths, link.generation, validationAt(ctx, { ignoreDates: true }));
      result.current = link.generation;
    } catch (err) {
      if (!isCertswapError(err)) throw err;
      reason = `generation ${link.generation} is broken: ${err.message}`;
    }
  }
  if (reason === null) return result;

  const candidate = await newestUsable(ctx); // 3
  if (candidate === null) {
    result.problems.push(`${reason}; no generation validates, so current was left as it was`);
    return result;
  }
  // The candidate gets no rollback target: what its old record names may have been pruned while it
  // was not active, and what it replaces is broken. Recorded before the switch, as activate does.
  await recordActivation(ctx.paths.history, history, { activated: candidate, outgoing: null });
  // If the switch cannot be made durable, put back exactly what was there (I3).
  await replaceSymlink(ctx.paths.current, linkTargetFor(candidate), describe(link));
  result.repointed = { from: describe(link), to: candidate, reason };
  result.current = candidate;
  ctx.log.warn({ event: 'recover', generation: candidate, from: describe(link), reason }, 'current repointed');
  return result;
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
