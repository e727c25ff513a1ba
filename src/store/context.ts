/**
 * What every store operation needs: the store's paths, its logger, its clock and the validation
 * options it was opened with. Operations are plain functions over a context so that each one can
 * be read top to bottom in its own module.
 */
import type { StorePaths } from './layout.js';
import type { ValidationOptions } from '../pki/validate.js';

/** The subset of a pino logger certswap uses; a pino logger satisfies it. */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;
export const silentLog: Log = { debug: noop, info: noop, warn: noop, error: noop };

export interface StoreContext {
  paths: StorePaths;
  log: Log;
  /** The clock validation uses; the agent's tests replace it. */
  now(): Date;
  lockTimeoutMs: number;
  /** Defaults for every validation the store makes (skew, expected name, trust...). */
  validation: ValidationOptions;
}

/** The validation options at this instant: the store's defaults, then the call's own. */
export function validationAt(ctx: StoreContext, extra: ValidationOptions = {}): ValidationOptions {
  return { ...ctx.validation, ...extra, now: extra.now ?? ctx.now() };
}
