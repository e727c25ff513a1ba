/**
 * An in-process crash: after the k-th mutating call, every further mutating call fails with
 * Crashed before it happens, so the operation and its clean-up stop there, as if the process had
 * died (the page cache keeps what was done). Closing descriptors still works, so the lock is
 * released as the kernel would release a dead process's lock.
 */
import { fsOps, O } from '../../src/io/fs.js';
import { MUTATING_OPS } from './faults.js';

export class Crashed extends Error {
  readonly code = 'TEST_CRASHED';
}

export async function crashAfter<T>(k: number, op: () => Promise<T>): Promise<{ crashed: boolean; result?: T }> {
  const saved = { ...fsOps };
  let n = 0;
  let crashed = false;
  const table = fsOps as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of MUTATING_OPS) {
    const real = table[name]!;
    table[name] = async (...args: unknown[]) => {
      if (name === 'open' && ((args[1] as number) & O.O_CREAT) === 0) return real(...args);
      if (crashed || n >= k) {
        crashed = true;
        throw new Crashed(`crashed before ${name} ${String(args[0])}`);
      }
      n++;
      return real(...args);
    };
  }
  try {
    const result = await op();
    return crashed ? { crashed } : { crashed, result };
  } catch (err) {
    if (crashed) return { crashed: true };
    throw err;
  } finally {
    Object.assign(fsOps, saved);
  }
}
