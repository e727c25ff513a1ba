/**
 * The rollback record: <dir>/.history, newest first, one line per activation: "<activated> <outgoing>"
 * ("-" when nothing was active). The rollback target of the active generation is the outgoing
 * generation of the newest line that activated it.
 *
 * Why a list and not a single "previous" pointer: activation writes this record *before* it swaps
 * `current`. If power is cut between the two, `current` still names the old generation, and the
 * old generation's own line is still further down the list, so its rollback target survives.
 * A single pointer would have been overwritten with the old generation itself.
 */
import { CertswapError, ErrorCodes } from '../../errors.js';
import { readStateFile } from './state-file.js';
import { replaceFile } from '../../io/durable.js';
import { STATE_FILE_MODE, isGenerationName } from '../layout.js';
import type { LockedContext } from '../locked.js';

export interface Activation {
  activated: number;
  outgoing: number | null;
}

/** Lines kept; older activations cannot be rolled back to by default, only with --to. */
export const HISTORY_LIMIT = 32;

export function parseHistory(text: string, file: string): Activation[] {
  const out: Activation[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^(\S+) (\S+)$/.exec(line);
    if (!m || !isGenerationName(m[1]!) || (m[2] !== '-' && !isGenerationName(m[2]!))) {
      throw new CertswapError(
        ErrorCodes.CORRUPT_STORE,
        `${file}: unreadable rollback record line ${JSON.stringify(line)}`,
        {
          path: file,
        },
      );
    }
    out.push({ activated: Number(m[1]), outgoing: m[2] === '-' ? null : Number(m[2]) });
  }
  return out;
}

export function formatHistory(entries: Activation[]): string {
  return entries
    .slice(0, HISTORY_LIMIT)
    .map((e) => `${e.activated} ${e.outgoing ?? '-'}\n`)
    .join('');
}

/** The generation a rollback from `active` returns to, or null if none was recorded. */
export function rollbackTargetOf(entries: Activation[], active: number | null): number | null {
  if (active === null) return null;
  const e = entries.find((x) => x.activated === active);
  return e && e.outgoing !== active ? e.outgoing : null;
}

export async function readHistory(file: string): Promise<Activation[]> {
  const text = await readStateFile(file);
  return text === null ? [] : parseHistory(text, file);
}

/** Durably records that `activated` replaced `outgoing`. */
export async function recordActivation(
  ctx: LockedContext,
  entries: Activation[],
  activation: Activation,
): Promise<void> {
  await replaceFile(ctx.paths.history, Buffer.from(formatHistory([activation, ...entries])), STATE_FILE_MODE);
}

/** Durably replaces an unreadable record with an empty one (recover: no rollback targets known). */
export async function resetHistory(ctx: LockedContext): Promise<void> {
  await replaceFile(ctx.paths.history, Buffer.alloc(0), STATE_FILE_MODE);
}
