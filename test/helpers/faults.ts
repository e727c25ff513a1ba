/**
 * Fault injection through the file system seam: the k-th mutating call (counting from 1) fails
 * with the given errno, before it has any effect. No mocking framework: fsOps is a plain object.
 */
import { fsOps, O, type MutatingOp } from '../../src/io/fs.js';

export const MUTATING_OPS: MutatingOp[] = [
  'open',
  'write',
  'fsync',
  'fchmod',
  'fchown',
  'mkdir',
  'chmod',
  'rename',
  'symlink',
  'unlink',
  'rmdir',
  'rm',
];

export interface Injection {
  /** Mutating calls seen so far. */
  count(): number;
  /** The call that was made to fail, if it was reached. */
  failed(): string | null;
  restore(): void;
}

/** Counts mutating calls and makes call number `k` fail with `errno` (k = Infinity: count only). */
export function injectFault(k: number, errno: string): Injection {
  const saved = { ...fsOps };
  let n = 0;
  let failed: string | null = null;
  const table = fsOps as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const op of MUTATING_OPS) {
    const real = table[op]!;
    table[op] = async (...args: unknown[]) => {
      if (op === 'open' && ((args[1] as number) & O.O_CREAT) === 0) return real(...args);
      if (++n === k) {
        failed = `${op} ${String(args[0])}`;
        throw Object.assign(new Error(`${errno}: injected failure of ${op}`), { code: errno, syscall: op });
      }
      return real(...args);
    };
  }
  return {
    count: () => n,
    failed: () => failed,
    restore: () => void Object.assign(fsOps, saved),
  };
}
