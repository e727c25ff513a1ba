/** Time for the renewal agent, behind one interface so that tests can run a day in a millisecond. */
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    await delay(Math.max(0, ms), undefined, { signal }).catch((err: unknown) => {
      if ((err as { name?: string }).name !== 'AbortError') throw err;
    });
  },
};
