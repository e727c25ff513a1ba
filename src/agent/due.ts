/**
 * Whether a certificate needs renewing now, and why: one owner for the rule, used by the agent's
 * loop (manager.ts) and by `certswap renew --dry-run` (plan.ts).
 */
import { type CertswapCode, ErrorCodes, isCertswapCode, toCertswapError } from '../errors.js';
import type { CertInfo } from '../pki/cert-info.js';
import type { GenerationStore } from '../store/store.js';
import type { CertificateConfig } from './config.js';
import { matchesIdentity } from './provisioners/provisioner.js';
import { phaseSeedOf } from './phase-seed.js';
import { renewalTime } from './schedule.js';

/** Why a renewal ran: the schedule, the operator, or the code of what is wrong with the active pair. */
export type RenewReason = 'no active generation' | 'forced' | 'renewal due' | 'identity changed' | CertswapCode;

export interface DueCheck {
  /** Null when nothing is due yet. */
  reason: RenewReason | null;
  /** The active certificate, when one validates. */
  info?: CertInfo;
  generation?: number;
}

/**
 * What a certificate's target phase derives from (schedule.ts): its identity and the machine's
 * (phase-seed.ts), which stay when the certificate, its key or the agent's state change.
 */
export function phaseSeed(c: CertificateConfig): string {
  return phaseSeedOf(c.identity);
}

/** When the renewal window puts the renewal of `info`. */
export function windowTime(c: CertificateConfig, info: Pick<CertInfo, 'notBefore' | 'notAfter'>): Date {
  return renewalTime(info, phaseSeed(c), c.renew);
}

/**
 * Checks the active pair of `store` at `now`. Due at once when nothing is active, when the pair no
 * longer validates (expired, not yet valid, key mismatch, incomplete: its code is the reason), when
 * its names differ from the configured identity, and with `force`; else when its window time has
 * come. Raises what it cannot classify (CERTSWAP_INTERNAL, or a store that cannot be read).
 */
export async function checkDue(
  store: GenerationStore,
  c: CertificateConfig,
  now: Date,
  force = false,
): Promise<DueCheck> {
  let v: { info: CertInfo; generation: number };
  try {
    v = await store.verify();
  } catch (err) {
    const e = toCertswapError(err);
    if (e.code === ErrorCodes.NO_ACTIVE) return { reason: 'no active generation' };
    if (e.code !== ErrorCodes.INTERNAL && isCertswapCode(e.code)) return { reason: e.code };
    throw e;
  }
  if (force) return { reason: 'forced', ...v };
  if (!matchesIdentity(v.info, c.identity)) return { reason: 'identity changed', ...v };
  if (now >= windowTime(c, v.info)) return { reason: 'renewal due', ...v };
  return { reason: null, ...v };
}
