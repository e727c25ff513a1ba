/**
 * GenerationStore: the public face of one store directory. Each mutating method takes the store's
 * cross-process lock, runs one operation (each in its own module, with its crash-safety argument
 * written out step by step), and releases the lock in `finally`. Readers take no lock.
 */
import { toCertswapError } from '../errors.js';
import { silentLog, validationAt, type Log, type StoreContext } from './context.js';
import { validateFiles } from './generations.js';
import { DIR_MODE, StorePaths, provisionName } from './layout.js';
import { makeDir, removeTree } from '../io/durable.js';
import path from 'node:path';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../io/lock.js';
import { clearRetry, readRetry, recordRetry, type RetryRecord } from './records/retry.js';
import { type LockedContext, underLock } from './locked.js';
import { checkStorePath, prepareStoreDir } from './store-path.js';
import { stageLocked, type StageOutput, type StageResult } from './ops/stage.js';
import { resolveAccess, type AccessOptions } from './access.js';
import { formatFiles, type FormatOptions } from './formats.js';
import {
  activateLocked,
  checkCanActivate,
  commitLocked,
  rollbackLocked,
  type ActivateOptions,
  type RollbackResult,
  type SwitchResult,
} from './ops/switch.js';
import { DEFAULT_KEEP, pruneLocked, type PruneResult } from './ops/prune.js';
import { recoverLocked, type RecoverResult } from './ops/recover.js';
import { status, type StoreStatus } from './ops/status.js';
import { readActive, type ActivePair } from './read-active.js';
import type { CertInfo } from '../pki/cert-info.js';
import { readTrial, type Trial } from './records/trial.js';
import { validatePair, type PairInput, type ValidatedPair, type ValidationOptions } from '../pki/validate.js';

export interface StoreOptions {
  /** Create the directory (mode 0700) if it is missing; default true. */
  create?: boolean;
  /** How long a mutating operation waits for the lock before CERTSWAP_BUSY; default 10 s. */
  lockTimeoutMs?: number;
  /** Validation defaults for every stage, activate, rollback and verify. */
  validation?: Omit<ValidationOptions, 'now'>;
  /** The clock; default the system clock. */
  now?: () => Date;
  /** A pino logger (or anything with its debug/info/warn/error); default silent. */
  log?: Log;
}

/** What stage and install write besides the pair (docs/consumers.md): consumer access, other formats. */
export interface OutputOptions extends FormatOptions {
  /** Owner, group and modes for a consumer that runs as another user. */
  access?: AccessOptions;
}

export interface InstallResult extends SwitchResult {
  staged: number;
}

export interface VerifyResult {
  generation: number;
  info: CertInfo;
}

export class GenerationStore {
  readonly paths: StorePaths;
  private readonly ctx: StoreContext;

  private constructor(ctx: StoreContext) {
    this.ctx = ctx;
    this.paths = ctx.paths;
  }

  /**
   * Opens the store at `dir`, creating it (0700) unless `create` is false. Raises
   * CERTSWAP_UNSAFE_STORE if the path to it is not safe (see store-path.ts). `dir` of the result
   * is the store's real path.
   */
  static async open(dir: string, options: StoreOptions = {}): Promise<GenerationStore> {
    let paths: StorePaths;
    try {
      // Every later call uses the real path the check walked (no links, no '..').
      paths = new StorePaths(await prepareStoreDir(dir, options.create ?? true));
    } catch (err) {
      throw toCertswapError(err, { path: dir });
    }
    return new GenerationStore({
      paths,
      log: options.log ?? silentLog,
      now: options.now ?? (() => new Date()),
      lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
      validation: { ...options.validation },
    });
  }

  get dir(): string {
    return this.paths.dir;
  }

  /** The directory of generation `n`, whether or not it exists. */
  generationDir(n: number): string {
    return this.paths.generationDir(n);
  }

  /** Stable paths through `current`, for programs that take paths (nginx). */
  get activeCertPath(): string {
    return this.paths.activeCertPath;
  }

  get activeKeyPath(): string {
    return this.paths.activeKeyPath;
  }

  get activeCaPath(): string {
    return this.paths.activeCaPath;
  }

  /**
   * Writes and validates a new generation without activating it; returns its number.
   * Raises the validation codes (CERTSWAP_KEY_MISMATCH, CERTSWAP_EXPIRED...), CERTSWAP_BUSY, or
   * a file system code; on any error nothing is left on disk. With `access` and `formats`
   * (OutputOptions), also CERTSWAP_UNKNOWN_USER, CERTSWAP_UNKNOWN_GROUP and CERTSWAP_BAD_ARGUMENT,
   * before anything is staged.
   */
  async stage(input: PairInput, opts: ValidationOptions & OutputOptions = {}): Promise<StageResult> {
    const { pair, at } = this.validateInput(input, opts);
    const output = await this.prepareOutput(pair, opts);
    return this.locked('stage', (ctx) => stageLocked(ctx, pair, at, output));
  }

  /**
   * Makes generation `n` active in one rename, after validating it again. With `trial`, the
   * activation must be confirmed by commit(); until then rollback() and recover() return to the
   * generation it replaced. Raises CERTSWAP_NO_SUCH_GENERATION, CERTSWAP_TRIAL_PENDING, the
   * validation codes, CERTSWAP_UNSAFE_STORE, CERTSWAP_BUSY.
   */
  async activate(n: number, opts: ActivateOptions = {}): Promise<SwitchResult> {
    return this.locked('activate', (ctx) => activateLocked(ctx, n, opts));
  }

  /**
   * stage then activate under one hold of the lock: nothing can come between the two.
   * With `trial`, the activation is on trial (see activate).
   */
  async install(
    input: PairInput,
    opts: ValidationOptions & ActivateOptions & OutputOptions = {},
  ): Promise<InstallResult> {
    const { pair: validated, at } = this.validateInput(input, opts);
    const output = await this.prepareOutput(validated, opts);
    return this.locked('install', async (ctx) => {
      // Refuse before staging what activation would refuse: a refused install leaves no trace.
      await checkCanActivate(ctx);
      const { generation, pair } = await stageLocked(ctx, validated, at, output);
      return { ...(await activateLocked(ctx, generation, { trial: opts.trial }, pair)), staged: generation };
    });
  }

  /**
   * Runs `fn` with a private work directory for a provisioner (the new key lives there before it
   * is staged): <dir>/.provision-<pid>-<random>, 0700, inside the store so that it is on the same
   * file system and as private as the store. It is removed when `fn` settles; if the process dies
   * first, it is a leftover that recover or prune removes once this process is gone. No lock is
   * held: provisioning may take minutes.
   */
  async withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = path.join(this.paths.dir, provisionName());
    try {
      await checkStorePath(this.paths.dir, { create: false });
      await makeDir(dir, DIR_MODE);
    } catch (err) {
      throw toCertswapError(err, { path: dir });
    }
    try {
      return await fn(dir);
    } finally {
      await removeTree(dir).catch(() => undefined);
    }
  }

  /** Confirms the activation on trial. Raises CERTSWAP_NO_TRIAL. */
  async commit(): Promise<{ generation: number }> {
    return this.locked('commit', (ctx) => commitLocked(ctx));
  }

  /**
   * Returns to the rollback target of the active generation (with a trial pending: to the
   * generation before the trial), or to `to`. Raises CERTSWAP_NO_ACTIVE,
   * CERTSWAP_NO_ROLLBACK_TARGET, CERTSWAP_NO_SUCH_GENERATION, the validation codes.
   */
  async rollback(to?: number): Promise<RollbackResult> {
    return this.locked('rollback', (ctx) => rollbackLocked(ctx, to));
  }

  /** Removes all but the `keep` newest generations, never the active one or its rollback target. */
  async prune(keep = DEFAULT_KEEP): Promise<PruneResult> {
    return this.locked('prune', (ctx) => pruneLocked(ctx, keep));
  }

  /** Start-up repair; idempotent. See recover.ts. */
  async recover(): Promise<RecoverResult> {
    return this.locked('recover', (ctx) => recoverLocked(ctx));
  }

  /** The activation on trial, if any. No lock. */
  async pendingTrial(): Promise<Trial | null> {
    return this.reading(() => readTrial(this.paths));
  }

  /** The agent's retry state (records/retry.ts), or null. No lock. */
  async retryState(): Promise<RetryRecord | null> {
    return this.reading(() => readRetry(this.paths));
  }

  /** Records the agent's retry state after a failed renewal (records/retry.ts). */
  async recordRetry(r: RetryRecord): Promise<void> {
    return this.locked('record-retry', (ctx) => recordRetry(ctx, r));
  }

  /** Removes the agent's retry state after a renewal succeeded. */
  async clearRetry(): Promise<void> {
    return this.locked('clear-retry', (ctx) => clearRetry(ctx));
  }

  /** What is active, the rollback target, and a summary of every generation. No lock. */
  async status(): Promise<StoreStatus> {
    return this.reading(() => status(this.ctx));
  }

  /** Certificate, key and CA of the active generation, all from one generation. No lock. */
  async readActive(): Promise<ActivePair> {
    return this.reading(() => readActive(this.ctx));
  }

  /**
   * Re-reads the active pair from disk and validates it now: present, matching, within its
   * validity (and any expectations given). Raises CERTSWAP_NO_ACTIVE or the validation codes.
   */
  async verify(opts: ValidationOptions = {}): Promise<VerifyResult> {
    return this.reading(async () => {
      const files = await readActive(this.ctx);
      const pair = validateFiles(files, validationAt(this.ctx, opts));
      return { generation: files.generation, info: pair.info };
    });
  }

  /**
   * Parses and validates an input pair before the lock is taken: the costly part of a stage
   * (PEM framing, signatures, a chain) then never holds up other operations on the store, however
   * large or hostile the input (they would get CERTSWAP_BUSY).
   */
  private validateInput(input: PairInput, opts: ValidationOptions): { pair: ValidatedPair; at: Date } {
    try {
      const v = validationAt(this.ctx, opts);
      return { pair: validatePair(input, v), at: v.now! };
    } catch (err) {
      throw toCertswapError(err);
    }
  }

  /**
   * Resolves the consumer access (users and groups by name) and makes the other formats, before
   * the lock: an unknown group or a refused password leaves no trace and never holds the lock.
   */
  private async prepareOutput(pair: ValidatedPair, opts: OutputOptions): Promise<StageOutput> {
    try {
      return { access: await resolveAccess(opts.access), files: formatFiles(pair, opts) };
    } catch (err) {
      throw toCertswapError(err);
    }
  }

  private async reading<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toCertswapError(err);
    }
  }

  private async locked<T>(op: string, fn: (ctx: LockedContext) => Promise<T>): Promise<T> {
    try {
      return await underLock(this.ctx, fn);
    } catch (err) {
      const e = toCertswapError(err);
      this.ctx.log.warn({ event: op, code: e.code, generation: e.generation }, e.message);
      throw e;
    }
  }
}
