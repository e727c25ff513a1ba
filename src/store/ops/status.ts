/**
 * status: what is active, what a rollback would return to, and what each generation holds.
 * Takes no lock and writes nothing. Per generation it reads the summary recorded at staging
 * (.meta.json) instead of parsing certificates, so that it stays fast with thousands of them;
 * `verify` is the command that re-reads and re-validates the active pair itself.
 */
import { isCertswapError, type ErrorCode } from '../../errors.js';
import { validationAt, type StoreContext } from '../context.js';
import { recordedValidityProblem, type CertInfo } from '../../pki/cert-info.js';
import { listGenerations, readCurrentLink, validateGeneration } from '../generations.js';
import { readHistory, rollbackTargetOf } from '../records/history.js';
import { readMetaSync, type GenerationMeta } from '../records/meta.js';
import { readTrial, type Trial } from '../records/trial.js';
import { DEFAULT_CLOCK_SKEW_MS } from '../../pki/validate.js';

export interface GenerationStatus extends Partial<CertInfo> {
  id: number;
  active: boolean;
  rollbackTarget: boolean;
  /** Whether the pair is usable now: complete, matching, within its validity. */
  valid: boolean;
  /** Why it is not valid, as an error code. */
  problem?: ErrorCode;
  /** The other formats it carries (fullchain.pem, bundle.pem, cert.p12), as recorded at staging. */
  files?: string[];
}

export interface StoreStatus {
  dir: string;
  current: number | null;
  previous: number | null;
  /** The activation on trial, waiting for commit or rollback. */
  trial: Trial | null;
  /** Set when `current` exists but is not a link to a generation (recover repairs or reports it). */
  currentProblem?: string;
  generations: GenerationStatus[];
  /** State files that could not be read (run certswap recover); empty when all are sound. */
  problems: StatusProblem[];
}

export interface StatusProblem {
  code: ErrorCode;
  message: string;
}

/** Generations summarised between two yields to the event loop (a few milliseconds of reads). */
const BATCH = 256;

export async function status(ctx: StoreContext): Promise<StoreStatus> {
  const link = await readCurrentLink(ctx.paths);
  const current = link.state === 'generation' ? link.generation : null;
  const problems: StatusProblem[] = [];
  // A state file that cannot be read is reported, never shown as "none": an unreadable trial
  // marker is not the absence of a trial.
  const noted = (err: unknown): null => {
    if (!isCertswapError(err)) throw err;
    problems.push({ code: err.code, message: err.message });
    return null;
  };
  let previous: number | null = null;
  try {
    previous = rollbackTargetOf(await readHistory(ctx.paths.history), current);
  } catch (err) {
    noted(err);
  }
  const now = ctx.now();
  const skew = ctx.validation.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  // One small file per generation, read with blocking calls in batches: at 10,000 generations a
  // thread-pool round trip per call costs many times the reads themselves (docs/performance.md).
  // The event loop gets a turn after each batch.
  const generations: GenerationStatus[] = [];
  for (const id of await listGenerations(ctx.paths)) {
    if (generations.length > 0 && generations.length % BATCH === 0) await new Promise((r) => setImmediate(r));
    const g: GenerationStatus = { id, active: id === current, rollbackTarget: id === previous, valid: false };
    let meta: GenerationMeta | null;
    try {
      meta = readMetaSync(ctx.paths.generationDir(id), id);
    } catch (err) {
      // Not a real directory of ours (a link out of the store, a file): reported, never read.
      if (!isCertswapError(err)) throw err;
      g.problem = err.code;
      generations.push(g);
      continue;
    }
    if (meta) {
      // Digests are for validateGeneration, not for the report.
      const { sha256: _digests, ...info } = meta;
      Object.assign(g, info);
      const problem = recordedValidityProblem(info, now, skew);
      g.valid = problem === null;
      if (problem !== null) g.problem = problem;
    } else {
      // No summary (written by hand, or damaged): validate the files themselves.
      try {
        Object.assign(g, (await validateGeneration(ctx.paths, id, validationAt(ctx))).info);
        g.valid = true;
      } catch (err) {
        if (!isCertswapError(err)) throw err;
        g.problem = err.code;
      }
    }
    generations.push(g);
  }
  const trial = await readTrial(ctx.paths).catch(noted);
  if (trial && trial.generation === current) previous = trial.returnTo;
  const out: StoreStatus = { dir: ctx.paths.dir, current, previous, trial, generations, problems };
  if (link.state === 'outside') out.currentProblem = `current points outside generations/ (${link.target})`;
  if (link.state === 'not-a-link') out.currentProblem = 'current is not a symlink';
  return out;
}
