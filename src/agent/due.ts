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
import type { Log } from '../store/context.js';
import { acmeDue } from './acme/due.js';
import { isMarkedRevoked } from './acme/revoked.js';

/** Why a renewal ran: the schedule, the operator, or the code of what is wrong with the active pair. */
export type RenewReason =
  | 'no active generation'
  | 'forced'
  | 'renewal due'
  | 'identity changed'
  | 'revoked'
  | CertswapCode;

/** When the active certificate falls due: the local window's time, or the CA's (ARI, RFC 9773). */
export interface DueTime {
  at: Date;
  why: 'window' | 'ari';
  /** With ARI: when the CA is to be asked again (the agent wakes then, if that is sooner). */
  recheckAt?: Date;
}

export interface DueCheck {
  /** Null when nothing is due yet. */
  reason: RenewReason | null;
  /** The active certificate, when one validates. */
  info?: CertInfo;
  generation?: number;
  /** When the active certificate falls due, when one validates and nothing else made it due. */
  due?: DueTime;
}

/**
 * What a certificate's target phase derives from (schedule.ts): its identity and the machine's
 * (phase-seed.ts), which stay when the certificate, its key or the agent's state change.
 */
export function phaseSeed(c: CertificateConfig): string {
  return phaseSeedOf(c.identity);
}

/**
 * When the renewal window puts the renewal of `info`: in steps toward the device's phase
 * ('spread'), or straight back to it as far as the window allows ('return': the certificate a
 * failure streak ended with, so that an outage's late renewals do not stay bunched; schedule.ts).
 */
export function windowTime(
  c: CertificateConfig,
  info: Pick<CertInfo, 'notBefore' | 'notAfter'>,
  way: Way = 'spread',
): Date {
  return renewalTime(info, phaseSeed(c), c.renew, way);
}

export type Way = 'spread' | 'return';

/**
 * When the active certificate `info` (`cert`, its PEM) falls due: for an acme certificate whose CA
 * offers renewal information, the moment drawn in the CA's suggested window (acme/due.ts); else the
 * local window's time.
 */
export async function dueTime(
  c: CertificateConfig,
  info: CertInfo,
  cert: () => Promise<Buffer>,
  now: Date,
  opts: DueOptions = {},
): Promise<DueTime> {
  if (c.provisioner.type === 'acme') {
    const ari = await acmeDue(c.provisioner, await cert(), now, opts);
    if (ari) return { at: ari.at, why: 'ari', recheckAt: ari.recheckAt };
  }
  return { at: windowTime(c, info, opts.way), why: 'window' };
}

export interface DueOptions {
  log?: Log;
  random?: () => number;
  /** How the local window places the renewal (windowTime); default 'spread'. */
  way?: Way;
}

/**
 * Checks the active pair of `store` at `now`. Due at once when nothing is active, when the pair no
 * longer validates (expired, not yet valid, key mismatch, incomplete: its code is the reason), when
 * its names differ from the configured identity, when it was revoked (`certswap revoke --force`),
 * and with `force`; else when its due time (dueTime) has come. Raises what it cannot classify
 * (CERTSWAP_INTERNAL, or a store that cannot be read).
 */
export async function checkDue(
  store: GenerationStore,
  c: CertificateConfig,
  now: Date,
  force = false,
  opts: DueOptions = {},
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
  if (await isMarkedRevoked(store.dir, v.generation)) return { reason: 'revoked', ...v };
  const due = await dueTime(c, v.info, async () => (await store.readActive()).cert, now, opts);
  return { reason: now >= due.at ? 'renewal due' : null, ...v, due };
}
