/**
 * The store's locked section, in the types. The operations that change the store (stage,
 * activate, rollback, commit, prune, recover) take a LockedContext, and only underLock makes one:
 * after the path to the store has been checked, the lock taken, and the path checked again. So
 * "runs with the store lock held" is not a comment that a caller may overlook: a function that
 * needs the lock cannot be called without it (short of a cast).
 */
import { toCertswapError } from '../errors.js';
import { acquireLock, type HeldLock } from '../io/lock.js';
import type { StoreContext } from './context.js';
import { checkStorePath } from './store-path.js';

declare const held: unique symbol;

/** A StoreContext whose holder holds the store's lock. */
export interface LockedContext extends StoreContext {
  readonly [held]: true;
}

/**
 * Runs `fn` with the store lock held, and releases it when `fn` settles. Raises CERTSWAP_BUSY
 * after ctx.lockTimeoutMs, CERTSWAP_UNSAFE_STORE if the path to the store is not safe (checked
 * before the lock file is opened, since opening may create it, and again under the lock).
 */
export async function underLock<T>(ctx: StoreContext, fn: (locked: LockedContext) => Promise<T>): Promise<T> {
  let lock: HeldLock;
  try {
    await checkStorePath(ctx.paths.dir, { create: false });
    lock = await acquireLock(ctx.paths.lock, ctx.lockTimeoutMs);
  } catch (err) {
    throw toCertswapError(err, { path: ctx.paths.lock });
  }
  try {
    // Again under the lock: what was checked at open may have changed since (a long-lived agent).
    await checkStorePath(ctx.paths.dir, { create: false });
    return await fn(ctx as LockedContext);
  } finally {
    await lock.release().catch(() => undefined);
  }
}
