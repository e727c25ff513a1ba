/** Time for the renewal agent, behind one interface so that tests can run a day in a millisecond. */
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The longest delay one Node timer can hold: 2^31-1 ms (about 24.8 days). A longer delay makes
 * Node warn and fire after 1 ms instead, which once turned a 30-day timeout into an instant one.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The next step of a wait of `ms`: what one timer may be set to. Negative or NaN waits are 0;
 * anything above MAX_TIMER_MS is cut to it, and the caller waits again for the rest.
 */
export function timerStep(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}

/**
 * setTimeout for any delay, even one above MAX_TIMER_MS (split into timers of at most that
 * length; Infinity never fires). Returns a function that cancels it.
 */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  let left = Math.max(ms, 0);
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const step = timerStep(left);
    left -= step;
    timer = setTimeout(left > 0 ? arm : fn, step);
  };
  arm();
  return () => clearTimeout(timer);
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: async (ms, signal) => {
    try {
      for (let left = Math.max(ms, 0); ; ) {
        const step = timerStep(left);
        await delay(step, undefined, { signal });
        left -= step;
        if (left <= 0) return;
      }
    } catch (err) {
      if ((err as { name?: string }).name !== 'AbortError') throw err;
    }
  },
};
