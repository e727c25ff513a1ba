/**
 * `certswap renew --dry-run`: when each certificate of a configuration would be renewed, and why,
 * without renewing anything. Read-only: no lock, no recover, no provisioner, no store created.
 */
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { GenerationStore } from '../store/store.js';
import type { AgentConfig, CertificateConfig } from './config.js';
import { checkDue, type RenewReason } from './due.js';
import { currentRetry } from './retry-state.js';
import { silentLog } from '../store/context.js';

export interface PlannedRenewal {
  name: string;
  /** The active generation; null when there is none (or it does not validate). */
  generation: number | null;
  notAfter: string | null;
  /** When the agent would renew: the window's time (past when it is due), or now. */
  nextRenewal: string;
  /**
   * `window`, `ari` (the CA's suggested window, RFC 9773), `retry backoff` (the agent's renewals
   * are failing), or why a renewal is due at once.
   */
  why: 'window' | 'ari' | 'retry backoff' | Exclude<RenewReason, 'forced' | 'renewal due'>;
  /** Whether a renewal is due now. */
  due: boolean;
  /** With `retry backoff`: the agent's failure streak, as it recorded it (retry-state.ts). */
  retry?: { attempt: number; failingSince: string; code: string };
}

async function planOne(c: CertificateConfig, now: Date): Promise<PlannedRenewal> {
  let store: GenerationStore;
  try {
    store = await GenerationStore.open(c.dir, {
      create: false,
      now: () => now,
      validation: { requireEku: c.usages },
    });
  } catch (err) {
    // The agent creates the store at its first start: none yet is a first enrolment, due now.
    if (errnoCode(err) !== 'ENOENT') throw err;
    return {
      name: c.name,
      generation: null,
      notAfter: null,
      nextRenewal: now.toISOString(),
      why: 'no active generation',
      due: true,
    };
  }
  const d = await checkDue(store, c, now);
  const active = { generation: d.generation ?? null, notAfter: d.info?.notAfter ?? null };
  // The agent's own word while its renewals fail: when it tries again, whatever the window says.
  const r = await currentRetry(store, silentLog, c.name);
  if (r !== null) {
    const retry = { attempt: r.attempt, failingSince: r.failingSince, code: r.code };
    return { name: c.name, ...active, nextRenewal: r.next, why: 'retry backoff', due: now >= new Date(r.next), retry };
  }
  if (d.reason === null || d.reason === 'renewal due') {
    const { at, why } = d.due!;
    return { name: c.name, ...active, nextRenewal: at.toISOString(), why, due: d.reason !== null };
  }
  // checkDue says 'forced' only when asked to force.
  const why = d.reason as PlannedRenewal['why'];
  return { name: c.name, ...active, nextRenewal: now.toISOString(), why, due: true };
}

/**
 * The plan for every certificate of `config` (or only `name`) at `now`. Raises
 * CERTSWAP_BAD_ARGUMENT for an unknown name, and what opening or reading a store raises (a store
 * that does not exist yet is not an error: its certificate is due now).
 */
export async function planRenewals(
  config: AgentConfig,
  opts: { now?: Date; name?: string } = {},
): Promise<PlannedRenewal[]> {
  const now = opts.now ?? new Date();
  const certs = config.certificates.filter((c) => opts.name === undefined || c.name === opts.name);
  if (certs.length === 0) {
    throw new CertswapError(ErrorCodes.BAD_ARGUMENT, `no certificate named ${JSON.stringify(opts.name)}`);
  }
  const out: PlannedRenewal[] = [];
  for (const c of certs) out.push(await planOne(c, now));
  return out;
}

/** One line for a person: `device: generation 3, expires ...; next renewal ... (window)`. */
export function formatPlan(p: PlannedRenewal): string {
  const active = p.generation === null ? 'no valid generation' : `generation ${p.generation}, expires ${p.notAfter}`;
  if (p.retry) {
    const streak = `attempt ${p.retry.attempt} failed with ${p.retry.code}, failing since ${p.retry.failingSince}`;
    return `${p.name}: ${active}; next attempt ${p.nextRenewal} (retry backoff: ${streak})\n`;
  }
  const when =
    p.why === 'window' || p.why === 'ari' ? `${p.due ? 'due since' : 'next renewal'} ${p.nextRenewal}` : 'due now';
  return `${p.name}: ${active}; ${when} (${p.why})\n`;
}
