import { expect } from 'chai';
import path from 'node:path';
import { verifyServed } from '../../../src/agent/verify-served.js';
import { GenerationStore } from '../../../src/index.js';
import { FakeClock, captureLog } from '../../helpers/fake-clock.js';
import { tempDir } from '../../helpers/tmp.js';

describe('agent/verify-served', () => {
  it('a stop (the signal aborted) ends the waits: no more checks, no more hook runs, no mismatch logged', async () => {
    const store = await GenerationStore.open(path.join(await tempDir(), 'store'));
    const { events, log } = captureLog();
    const stop = new AbortController();
    stop.abort();
    let reruns = 0;
    const v = { host: '127.0.0.1', port: 9, attempts: 10, backoffMs: 600_000, timeoutMs: 1000 };
    const served = await verifyServed(store, v, async () => void reruns++, {
      clock: new FakeClock(),
      log,
      cert: 'web',
      signal: stop.signal,
    });
    expect(served).to.equal(false);
    expect(reruns).to.equal(0);
    expect(events.map((e) => e.event)).to.deep.equal(['verify-stopped']);
  });

  it('without a stop, a server that cannot be checked is retried up to the attempts, then logged', async () => {
    const store = await GenerationStore.open(path.join(await tempDir(), 'store'));
    const { events, log } = captureLog();
    let reruns = 0;
    const v = { host: '127.0.0.1', port: 9, attempts: 3, backoffMs: 1000, timeoutMs: 1000 };
    const served = await verifyServed(store, v, async () => void reruns++, {
      clock: new FakeClock(),
      log,
      cert: 'web',
    });
    expect(served).to.equal(false);
    expect(reruns).to.equal(2);
    expect(events.map((e) => e.event)).to.deep.equal(['verify-retry', 'verify-retry', 'verify-mismatch']);
  });

  it('each wait doubles from backoff up to 10 minutes: 10 attempts at the longest backoff wait 100 minutes', async () => {
    const store = await GenerationStore.open(path.join(await tempDir(), 'store'));
    const waits: number[] = [];
    const clock = new FakeClock();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = (ms, signal) => {
      waits.push(ms);
      return sleep(ms, signal);
    };
    const v = { host: '127.0.0.1', port: 9, attempts: 10, backoffMs: 60_000, timeoutMs: 1000 };
    await verifyServed(store, v, async () => undefined, { clock, log: captureLog().log, cert: 'web' });
    expect(waits.map((ms) => ms / 60_000)).to.deep.equal([1, 2, 4, 8, 10, 10, 10, 10, 10, 10]);
    waits.length = 0;
    await verifyServed(store, { ...v, backoffMs: 600_000 }, async () => undefined, {
      clock,
      log: captureLog().log,
      cert: 'web',
    });
    expect(waits.reduce((a, b) => a + b, 0)).to.equal(100 * 60_000);
  });
});
