/**
 * Running file system calls side by side. Each async call is a round trip through libuv's thread
 * pool; independent calls (reading three files, fsyncing four new ones, renaming a thousand
 * victims) run faster together. Both helpers wait for *every* call to finish before they return
 * or throw: a caller that cleans up after a failure must never race a call still in flight.
 */

/** Awaits all of `work`; then throws the first failure (in array order), if any. */
export async function settleAll<T extends readonly unknown[]>(
  work: { readonly [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const settled = await Promise.allSettled(work as readonly Promise<unknown>[]);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** `fn` over `items` with at most `limit` calls in flight; results in item order, as settleAll. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  for (const r of out) if (r.status === 'rejected') throw r.reason;
  return out.map((r) => (r as PromiseFulfilledResult<R>).value);
}
