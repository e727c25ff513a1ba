/**
 * Names and paths of the on-disk contract (docs/design.md, "On-disk layout"). Tests, scripts and other
 * tools rely on these names; nothing else in src/ spells them.
 *
 *   <dir>/generations/<n>/{cert.pem,key.pem[,ca.pem][,fullchain.pem][,bundle.pem][,cert.p12],.meta.json}
 *   <dir>/generations/.staging-*   being written; never looks like a generation
 *   <dir>/generations/.trash-*     being pruned; already out of the contract
 *   <dir>/current -> generations/<n>
 *   <dir>/.lock  .history  .highwater  .trial  and temporary '.*.tmp-*' entries
 *   <dir>/.retry                  the agent's retry state while renewals fail
 *   <dir>/.provision-*            a provisioner's work directory (the new key before staging)
 *   <dir>/.acme/account-key.pem   the acme provisioner's ACME account key
 *   <dir>/.acme/revoked-<n>       generation n was revoked while active: renew at once
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CertswapError, ErrorCodes } from '../errors.js';

export const GENERATIONS = 'generations';
export const CURRENT = 'current';
export const LOCK_FILE = '.lock';
export const HISTORY_FILE = '.history';
export const HIGHWATER_FILE = '.highwater';
export const TRIAL_FILE = '.trial';
export const RETRY_FILE = '.retry';
export const PROVISION_PREFIX = '.provision-';
export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';
export const CA_FILE = 'ca.pem';
export const META_FILE = '.meta.json';
/** The formats a certificate may ask for (store/formats.ts): leaf + chain; key + leaf + chain; PKCS#12. */
export const FULLCHAIN_FILE = 'fullchain.pem';
export const BUNDLE_FILE = 'bundle.pem';
export const PKCS12_FILE = 'cert.p12';
export const STAGING_PREFIX = '.staging-';
export const TRASH_PREFIX = '.trash-';
/** The acme provisioner's directory in the store: its account key, and revocation markers. */
export const ACME_DIR = '.acme';
export const ACME_ACCOUNT_KEY_FILE = 'account-key.pem';
export const ACME_REVOKED_PREFIX = 'revoked-';

export const DIR_MODE = 0o700;
export const KEY_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
export const STATE_FILE_MODE = 0o600;

/** Largest generation number accepted; keeps numbers exact in JSON and in JavaScript. */
export const MAX_GENERATION = Number.MAX_SAFE_INTEGER;

const GENERATION_NAME = /^[1-9][0-9]{0,15}$/;

/** Whether `name` is a generation directory name: a positive decimal without leading zeros. */
export function isGenerationName(name: string): boolean {
  return GENERATION_NAME.test(name) && Number(name) <= MAX_GENERATION;
}

/**
 * Parses a generation number given by a user or read from disk. Refuses anything that is not the
 * canonical spelling ('01', '1e3', '-1', '1/..', '../1', ''), so that a number always names exactly
 * one directory and can never be made to name a path outside generations/.
 */
export function parseGeneration(text: string): number {
  if (!isGenerationName(text)) {
    throw new CertswapError(
      ErrorCodes.BAD_GENERATION,
      `invalid generation ${JSON.stringify(text)}: expected a positive decimal integer without leading zeros`,
    );
  }
  return Number(text);
}

/** The relative symlink target for generation `n`, as stored in `current`. */
export function linkTargetFor(n: number): string {
  return `${GENERATIONS}/${n}`;
}

/**
 * The generation a `current` link target names, or null when the target is anything but
 * exactly `generations/<n>` (absolute, with '..', nested): such a link points outside the contract.
 */
export function generationFromLinkTarget(target: string): number | null {
  const m = /^generations\/([^/]+)$/.exec(target);
  return m && isGenerationName(m[1]!) ? Number(m[1]) : null;
}

export function stagingName(): string {
  return `${STAGING_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
}

export function provisionName(): string {
  return `${PROVISION_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
}

export function trashName(n: number): string {
  return `${TRASH_PREFIX}${n}-${randomBytes(6).toString('hex')}`;
}

/** Whether an entry of <dir> is a temporary leftover of an interrupted replace. */
export function isTempEntry(name: string): boolean {
  return name.startsWith('.') && /\.tmp-\d+-[0-9a-f]+$/.test(name);
}

/** All paths of one store, derived from its directory. */
export class StorePaths {
  readonly dir: string;
  readonly generations: string;
  readonly current: string;
  readonly lock: string;
  readonly history: string;
  readonly highwater: string;
  readonly trial: string;
  readonly retry: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.generations = path.join(this.dir, GENERATIONS);
    this.current = path.join(this.dir, CURRENT);
    this.lock = path.join(this.dir, LOCK_FILE);
    this.history = path.join(this.dir, HISTORY_FILE);
    this.highwater = path.join(this.dir, HIGHWATER_FILE);
    this.trial = path.join(this.dir, TRIAL_FILE);
    this.retry = path.join(this.dir, RETRY_FILE);
  }

  /** The directory of generation `n` (whether or not it exists). */
  generationDir(n: number): string {
    return path.join(this.generations, String(n));
  }

  /** The stable path of the active certificate, through the `current` link. */
  get activeCertPath(): string {
    return path.join(this.current, CERT_FILE);
  }

  /** The stable path of the active key, through the `current` link. */
  get activeKeyPath(): string {
    return path.join(this.current, KEY_FILE);
  }

  /** The stable path of the active CA bundle, through the `current` link. */
  get activeCaPath(): string {
    return path.join(this.current, CA_FILE);
  }
}
