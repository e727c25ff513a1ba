/** Timers for any delay: Node's own overflow above 2^31-1 ms and fire at once. */
import { expect } from 'chai';
import { MAX_TIMER_MS, setLongTimeout, systemClock, timerStep } from '../../../src/agent/clock.js';

const DAY_MS = 86_400_000;
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('clock', () => {
  it('timerStep cuts a wait into steps no Node timer overflows on', () => {
    expect(MAX_TIMER_MS).to.equal(2 ** 31 - 1);
    expect(timerStep(30 * DAY_MS)).to.equal(MAX_TIMER_MS);
    expect(timerStep(Infinity)).to.equal(MAX_TIMER_MS);
    expect(timerStep(MAX_TIMER_MS + 1)).to.equal(MAX_TIMER_MS);
    expect(timerStep(MAX_TIMER_MS)).to.equal(MAX_TIMER_MS);
    expect(timerStep(1500)).to.equal(1500);
    expect(timerStep(0)).to.equal(0);
    expect(timerStep(-5)).to.equal(0);
    expect(timerStep(NaN)).to.equal(0);
  });

  it('setLongTimeout: a 30-day timer does not fire at once; a short one fires; cancel stops it', async () => {
    let long = false;
    const cancelLong = setLongTimeout(() => (long = true), 30 * DAY_MS);
    let short = false;
    setLongTimeout(() => (short = true), 20);
    let cancelled = false;
    setLongTimeout(() => (cancelled = true), 10)();
    await pause(200);
    cancelLong();
    expect({ long, short, cancelled }).to.deep.equal({ long: false, short: true, cancelled: false });
  });

  it('systemClock.sleep waits for a 30-day sleep instead of returning at once, and returns when aborted', async () => {
    const ac = new AbortController();
    let returned = false;
    const sleeping = systemClock.sleep(30 * DAY_MS, ac.signal).then(() => (returned = true));
    await pause(200);
    expect(returned, 'a 30-day sleep returned at once').to.equal(false);
    ac.abort();
    await sleeping;
    expect(returned).to.equal(true);
    await systemClock.sleep(5);
    await systemClock.sleep(-1);
  });
});
