/**
 * The store watcher: keeps firing across swaps (it watches the directory, not the replaced link),
 * turns bursts into one delivery of the final state, falls back to polling when inotify is
 * unavailable or fails, and delivers each change once with the pair read from one generation.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, ErrorCodes, StoreWatcher, watchStore, type StoreChange } from '../../src/index.js';
import { fsOps } from '../../src/io/fs.js';
import { makePair, type Pair } from '../helpers/certs.js';
import { certswap, until } from '../helpers/proc.js';
import { storeDir } from '../helpers/tmp.js';

async function storeWith(n: number): Promise<{ store: GenerationStore; pairs: Pair[] }> {
  const store = await GenerationStore.open(await storeDir());
  const pairs: Pair[] = [];
  for (let i = 0; i < n; i++) {
    pairs.push(await makePair({ name: `device-${i + 1}` }));
    await store.install(pairs[i]!);
  }
  return { store, pairs };
}

/** Asserts a delivered change is generation `n`'s own pair. */
function expectPair(c: StoreChange, n: number, pairs: Pair[]): void {
  expect(c.pair.generation).to.equal(n);
  expect(c.pair.cert.toString()).to.equal(pairs[n - 1]!.cert.toString());
  expect(c.pair.key.toString()).to.equal(pairs[n - 1]!.key.toString());
}

describe('watchStore', () => {
  const realWatch = fsOps.watch;
  let watchers: StoreWatcher[] = [];
  afterEach(() => {
    fsOps.watch = realWatch;
    for (const w of watchers) w.close();
    watchers = [];
  });
  function track(w: StoreWatcher): StoreWatcher {
    watchers.push(w);
    return w;
  }

  it('keeps firing across 40 swaps, once per swap, each with its own pair', async () => {
    const { store, pairs } = await storeWith(2);
    const changes: StoreChange[] = [];
    const w = track(watchStore(store.dir, (c) => changes.push(c), { debounceMs: 5, resyncMs: 0 }));
    expect(w.mode).to.equal('inotify');
    expect((await w.ready)?.generation).to.equal(2);
    for (let i = 1; i <= 40; i++) {
      await store.rollback(); // alternates 2 -> 1 -> 2 ...
      await until(`delivery ${i}`, () => changes.length === i);
    }
    console.log(`      watch: 40 swaps, ${changes.length} deliveries (inotify)`);
    changes.forEach((c, i) => {
      const n = i % 2 === 0 ? 1 : 2;
      expectPair(c, n, pairs);
      expect(c.previous).to.equal(3 - n);
    });
  });

  it('sees swaps made by another process (the CLI)', async () => {
    const { store, pairs } = await storeWith(2);
    const w = track(new StoreWatcher(store.dir, { debounceMs: 5 }));
    await w.ready;
    const got = once(w, 'change') as Promise<[StoreChange]>;
    const r = await certswap(['rollback', '--dir', store.dir]);
    expect(r.code, r.stderr).to.equal(0);
    expectPair((await got)[0], 1, pairs);
  });

  it('turns a burst of swaps into deliveries of the newest state, never the same generation twice in a row', async () => {
    const { store, pairs } = await storeWith(2);
    const changes: StoreChange[] = [];
    const w = track(watchStore(store.dir, (c) => changes.push(c), { debounceMs: 200, resyncMs: 0 }));
    await w.ready;
    for (let i = 0; i < 9; i++) await store.rollback(); // ends on generation 1
    await until('the burst to be delivered', () => changes.at(-1)?.pair.generation === 1);
    await new Promise((r) => setTimeout(r, 400));
    console.log(`      watch: a burst of 9 swaps gave ${changes.length} deliveries`);
    expect(changes.length).to.be.lessThan(9);
    expectPair(changes.at(-1)!, 1, pairs);
    for (let i = 1; i < changes.length; i++) expect(changes[i]!.previous).to.equal(changes[i - 1]!.pair.generation);
    expect(changes[0]!.previous).to.equal(2);
  });

  it('polls when no inotify watch can be had (ENOSPC: the inotify limit)', async () => {
    fsOps.watch = () => {
      throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' });
    };
    const { store, pairs } = await storeWith(2);
    const w = track(new StoreWatcher(store.dir, { pollIntervalMs: 20 }));
    expect(w.mode).to.equal('poll');
    await w.ready;
    for (const n of [1, 2, 1]) {
      const got = once(w, 'change') as Promise<[StoreChange]>;
      await store.rollback();
      expectPair((await got)[0], n, pairs);
    }
  });

  it('falls back to polling when the inotify watch fails later, and still delivers', async () => {
    let fake: EventEmitter | undefined;
    fsOps.watch = () => {
      fake = new EventEmitter();
      return Object.assign(fake, { close: () => undefined }) as never;
    };
    const { store, pairs } = await storeWith(2);
    const w = track(new StoreWatcher(store.dir, { pollIntervalMs: 20 }));
    expect(w.mode).to.equal('inotify');
    await w.ready;
    fake!.emit('error', Object.assign(new Error('watch failed'), { code: 'EIO' }));
    expect(w.mode).to.equal('poll');
    const got = once(w, 'change') as Promise<[StoreChange]>;
    await store.rollback();
    expectPair((await got)[0], 1, pairs);
  });

  it('polls when asked to', async () => {
    let called = false;
    fsOps.watch = (...args) => {
      called = true;
      return realWatch(...args);
    };
    const { store, pairs } = await storeWith(2);
    const w = track(new StoreWatcher(store.dir, { poll: true, pollIntervalMs: 20 }));
    expect(w.mode).to.equal('poll');
    expect(called).to.equal(false);
    await w.ready;
    const got = once(w, 'change') as Promise<[StoreChange]>;
    await store.rollback();
    expectPair((await got)[0], 1, pairs);
  });

  it('resyncs with inotify on a file system that stays silent', async () => {
    fsOps.watch = () => Object.assign(new EventEmitter(), { close: () => undefined }) as never;
    const { store, pairs } = await storeWith(2);
    const w = track(new StoreWatcher(store.dir, { resyncMs: 20 }));
    expect(w.mode).to.equal('inotify');
    await w.ready;
    const got = once(w, 'change') as Promise<[StoreChange]>;
    await store.rollback();
    expectPair((await got)[0], 1, pairs);
  });

  it('reports "inactive" when the first activation, on trial, is rolled back, and the next activation as a change', async () => {
    const store = await GenerationStore.open(await storeDir());
    const w = track(new StoreWatcher(store.dir, { debounceMs: 5 }));
    expect(await w.ready).to.equal(null);
    const first = await makePair();
    let got = once(w, 'change') as Promise<[StoreChange]>;
    await store.install(first, { trial: true });
    const [c] = await got;
    expect(c.previous).to.equal(null);
    expect(c.pair.generation).to.equal(1);
    const gone = once(w, 'inactive');
    const r = await store.rollback();
    expect(r.generation).to.equal(null);
    expect((await gone)[0]).to.deep.equal({ previous: 1 });
    expect(w.generation).to.equal(null);
    got = once(w, 'change') as Promise<[StoreChange]>;
    await store.install(await makePair());
    expect((await got)[0].pair.generation).to.equal(2);
  });

  it('reports a planted current as an error and keeps watching', async () => {
    const { store, pairs } = await storeWith(2);
    const w = track(new StoreWatcher(store.dir, { debounceMs: 5 }));
    await w.ready;
    const failed = once(w, 'error');
    const link = path.join(store.dir, 'current');
    await fse.remove(link);
    await fse.symlink('/etc', link);
    expect((await failed)[0]).to.have.property('code', ErrorCodes.UNSAFE_STORE);
    const got = once(w, 'change') as Promise<[StoreChange]>;
    await fse.remove(link);
    await fse.symlink('generations/1', link);
    expectPair((await got)[0], 1, pairs);
  });

  it('delivers a switch that happens while its first read is running', async () => {
    const { store, pairs } = await storeWith(2);
    const realOpen = fsOps.open;
    let switched = false;
    fsOps.open = async (file, flags, mode) => {
      if (!switched && file === path.join(store.generationDir(2), 'cert.pem')) {
        switched = true;
        fsOps.open = realOpen;
        await store.rollback(); // to 1, between resolving `current` and reading generation 2
        await new Promise((r) => setTimeout(r, 50)); // let the inotify event arrive mid-read
      }
      return realOpen(file, flags, mode);
    };
    try {
      const w = track(new StoreWatcher(store.dir, { debounceMs: 5, resyncMs: 0 }));
      const got = once(w, 'change') as Promise<[StoreChange]>;
      expect((await w.ready)?.generation).to.equal(2);
      expect(switched).to.equal(true);
      expectPair((await got)[0], 1, pairs);
    } finally {
      fsOps.open = realOpen;
    }
  });

  it('delivers nothing after close()', async () => {
    const { store } = await storeWith(2);
    let delivered = 0;
    const w = watchStore(store.dir, () => delivered++, { debounceMs: 5, pollIntervalMs: 10 });
    await w.ready;
    w.close();
    await store.rollback();
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).to.equal(0);
  });
});
