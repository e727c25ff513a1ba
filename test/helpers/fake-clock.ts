/** A clock for the agent's tests: sleeping advances time at once, so a day passes in a millisecond. */
import type { Clock } from '../../src/agent/clock.js';

export class FakeClock implements Clock {
  t: number;
  constructor(start = Date.now()) {
    this.t = start;
  }
  now(): Date {
    return new Date(this.t);
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (!signal?.aborted) this.t += Math.max(0, ms);
    await new Promise((r) => setImmediate(r));
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A logger that keeps every event, for asserting on them. */
export function captureLog(): {
  events: Array<Record<string, unknown>>;
  log: import('../../src/store/context.js').Log;
} {
  const events: Array<Record<string, unknown>> = [];
  const push = (level: string) => (obj: object, msg?: string) => void events.push({ level, ...obj, msg });
  return { events, log: { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') } };
}
