/**
 * status: what is active, what a rollback would return to, and what each generation holds.
 * Takes no lock and writes nothing. Per generation it reads the summary recorded at staging
 * (.meta.json) instead of parsing certificates, so that it stays fast with thousands of them;
 * `verify` is the command that re-reads and re-validates the active pair itself.
 */
import path from 'node:path';
import { isCertswapError } from './errors.js';
import { validationAt, type StoreContext } from './context.js';
import { withinValidity, type CertInfo } from './cert-info.js';
import { listGenerations, readCurrentLink, validateGeneration } from './generations.js';
import { readHistory, rollbackTargetOf } from './history.js';
import { META_FILE } from './layout.js';
import { readTrial, type Trial } from './trial.js';
import { readStateFile } from './state-file.js';
import { DEFAULT_CLOCK_SKEW_MS } from './validate.js';

export interface GenerationStatus extends Partial<CertInfo> {
  id: number;
  active: boolean;
  rollbackTarget: boolean;
  /** Whether the pair is usable now: complete, matching, within its validity. */
  valid: boolean;
  /** Why it is not valid, as an error code. */
  problem?: string;
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
}

async function recordedInfo(dir: string): Promise<CertInfo | null> {
  try {
    const text = await readStateFile(path.join(dir, META_FILE));
    return text === null ? null : (JSON.parse(text) as CertInfo);
  } catch {
    return null;
  }
}

export async function status(ctx: StoreContext): Promise<StoreStatus> {
  const link = await readCurrentLink(ctx.paths);
  const current = link.state === 'generation' ? link.generation : null;
  let previous: number | null = null;
  try {
    previous = rollbackTargetOf(await readHistory(ctx.paths.history), current);
  } catch (err) {
    if (!isCertswapError(err)) throw err;
  }
  const now = ctx.now();
  const skew = ctx.validation.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const generations: GenerationStatus[] = [];
  for (const id of await listGenerations(ctx.paths)) {
    const g: GenerationStatus = { id, active: id === current, rollbackTarget: id === previous, valid: false };
    const info = await recordedInfo(ctx.paths.generationDir(id));
    if (info && typeof info.notAfter === 'string') {
      Object.assign(g, info);
      g.valid = withinValidity(info, now, skew);
      if (!g.valid) g.problem = Date.parse(info.notAfter) < now.getTime() ? 'CERTSWAP_EXPIRED' : 'CERTSWAP_NOT_YET_VALID';
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
  const trial = await readTrial(ctx.paths).catch(() => null);
  if (trial && trial.generation === current) previous = trial.returnTo;
  const out: StoreStatus = { dir: ctx.paths.dir, current, previous, trial, generations };
  if (link.state === 'outside') out.currentProblem = `current points outside generations/ (${link.target})`;
  if (link.state === 'not-a-link') out.currentProblem = 'current is not a symlink';
  return out;
}
