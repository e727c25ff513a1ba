/**
 * Watching a store for activations and rollbacks.
 *
 * Every switch replaces the `current` symlink with a new one (rename over it), so a watch on the
 * link, or on the files it points to, sees the first swap and then watches an inode nobody uses
 * any more: the fault behind "the watcher stops firing after the first rotation". This watcher
 * watches the store directory, whose inode never changes, and treats any event naming `current`
 * as "look again". What it delivers is decided by reading the store, never by the event: events
 * are only a hint to look, so a burst of them, a lost one, or a watcher that fell back to polling
 * all end in the same delivery.
 */
import { EventEmitter } from 'node:events';
import type { FSWatcher } from 'node:fs';
import { silentLog, type Log } from '../store/context.js';
import { ErrorCodes, errnoCode, isCertswapError, toCertswapError, type CertswapError } from '../errors.js';
import { fsOps } from '../io/fs.js';
import { activeGeneration } from '../store/generations.js';
import { CURRENT, StorePaths } from '../store/layout.js';
import { readActive, type ActivePair, type ReadContext } from '../store/read-active.js';

export interface WatchOptions {
  /** Quiet time after the last event before the store is read again; default 50 ms. */
  debounceMs?: number;
  /** Poll instead of using inotify; default false (polling is the automatic fallback). */
  poll?: boolean;
  /** Interval of polling mode; default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * With inotify, the store is also looked at this often, for file systems that accept a watch
   * but do not report every change (NFS, some FUSE); default 30 s, 0 to disable.
   */
  resyncMs?: number;
  /** Whether the watcher keeps the process alive; default true. */
  persistent?: boolean;
  log?: Log;
}

export type WatchMode = 'inotify' | 'poll';

export interface StoreChange {
  /** The newly active pair, read from one generation. */
  pair: ActivePair;
  /** The generation delivered before (or read at start), null if none was active. */
  previous: number | null;
}

export interface StoreWatcherEvents {
  change: [StoreChange];
  /** Nothing is active any more (the first activation, on trial, was rolled back). */
  inactive: [{ previous: number | null }];
  /** A read that failed for a reason other than a concurrent switch; the watcher keeps going. */
  error: [CertswapError];
}

/**
 * Watches the store at `dir`. `ready` resolves with the pair active when the watch started (or
 * null); every later activation or rollback is delivered once as 'change', with the new pair
 * already read consistently. The watch is armed before the first read, so no switch can fall in
 * between. Close it with close().
 */
export class StoreWatcher extends EventEmitter<StoreWatcherEvents> {
  readonly ready: Promise<ActivePair | null>;
  private readonly ctx: ReadContext;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;
  private readonly resyncMs: number;
  private readonly persistent: boolean;
  private fsWatcher: FSWatcher | null = null;
  private timers: NodeJS.Timeout[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private firstPendingEvent = 0;
  /** The generation last delivered (or read at start); undefined until `ready`. */
  private delivered: number | null | undefined = undefined;
  private checking: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private _mode: WatchMode = 'poll';

  constructor(dir: string, options: WatchOptions = {}) {
    super();
    const log = options.log ?? silentLog;
    this.ctx = { paths: new StorePaths(dir), log };
    this.debounceMs = options.debounceMs ?? 50;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.resyncMs = options.resyncMs ?? 30_000;
    this.persistent = options.persistent ?? true;
    if (!options.poll) this.startInotify();
    if (this._mode === 'poll') this.startPolling();
    else if (this.resyncMs > 0) this.every(this.resyncMs, () => this.kick());
    this.ready = this.readInitial();
    // The caller may only listen for changes; a failed first read must not crash the process.
    this.ready.catch(() => undefined);
  }

  /** The store directory watched. */
  get dir(): string {
    return this.ctx.paths.dir;
  }

  /** How changes are noticed: inotify, or polling (asked for, or the fallback). */
  get mode(): WatchMode {
    return this._mode;
  }

  /** The generation last delivered; null if nothing is active. */
  get generation(): number | null {
    return this.delivered ?? null;
  }

  /** Stops watching; no event is delivered after it returns. */
  close(): void {
    this.closed = true;
    this.fsWatcher?.close();
    this.fsWatcher = null;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
  }

  private startInotify(): void {
    try {
      this.fsWatcher = fsOps.watch(this.ctx.paths.dir, this.persistent, (_event, name) => {
        // null: the kernel did not say which entry changed (queue overflow); look anyway.
        if (name === null || name === CURRENT) this.schedule();
      });
      this.fsWatcher.on('error', (err) => this.fallBackToPolling(err));
      this._mode = 'inotify';
    } catch (err) {
      this.ctx.log.warn(
        { event: 'watch-fallback', code: errnoCode(err) },
        'no inotify watch on the store; polling instead',
      );
    }
  }

  private fallBackToPolling(err: unknown): void {
    if (this.closed || this._mode === 'poll') return;
    this.ctx.log.warn({ event: 'watch-fallback', code: errnoCode(err) }, 'inotify watch failed; polling instead');
    this.fsWatcher?.close();
    this.fsWatcher = null;
    this._mode = 'poll';
    this.startPolling();
    this.kick();
  }

  private startPolling(): void {
    this._mode = 'poll';
    this.every(this.pollIntervalMs, () => this.kick());
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    if (!this.persistent) t.unref();
    this.timers.push(t);
  }

  /**
   * Trailing debounce: a burst of events (a switch and a prune right behind it) becomes one look
   * at the store. A burst that never pauses still gets a look every 10 debounce periods.
   */
  private schedule(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.debounce === null) this.firstPendingEvent = now;
    else clearTimeout(this.debounce);
    const wait = now - this.firstPendingEvent >= this.debounceMs * 10 ? 0 : this.debounceMs;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.kick();
    }, wait);
    if (!this.persistent) this.debounce.unref();
  }

  /** Looks at the store now; looks are serialised, and a request during a look runs one more. */
  private kick(): void {
    if (this.closed) return;
    // Before the first read has finished, or during a look: look (again) once it is done.
    if (this.delivered === undefined || this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.check().finally(() => {
      this.checking = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async readInitial(): Promise<ActivePair | null> {
    try {
      const pair = await this.readPair();
      this.delivered = pair?.generation ?? null;
      return pair;
    } catch (err) {
      // Deliver whatever becomes readable later as a change.
      this.delivered = null;
      throw toCertswapError(err);
    } finally {
      // A switch while the first read ran may not be in what it read: look again.
      if (this.again) {
        this.again = false;
        this.kick();
      }
    }
  }

  /** The active pair, or null when nothing is active. */
  private async readPair(): Promise<ActivePair | null> {
    try {
      return await readActive(this.ctx);
    } catch (err) {
      if (isCertswapError(err, ErrorCodes.NO_ACTIVE)) return null;
      throw err;
    }
  }

  private async check(): Promise<void> {
    try {
      // A readlink first: most looks (resyncs, events about other names) find nothing new.
      if ((await activeGeneration(this.ctx.paths)) === this.delivered) return;
      const pair = await this.readPair();
      const previous = this.delivered ?? null;
      if (this.closed || (pair?.generation ?? null) === previous) return;
      this.delivered = pair?.generation ?? null;
      if (pair) this.emit('change', { pair, previous });
      else this.emit('inactive', { previous });
    } catch (err) {
      const e = toCertswapError(err);
      this.ctx.log.warn({ event: 'watch-read', code: e.code }, e.message);
      if (!this.closed && this.listenerCount('error') > 0) this.emit('error', e);
    }
  }
}

/**
 * Watches the store at `dir` and calls `onChange` once per activation or rollback, with the new
 * pair. Returns the watcher (for `ready`, 'inactive', 'error' and close()).
 */
export function watchStore(
  dir: string,
  onChange: (change: StoreChange) => void,
  options: WatchOptions = {},
): StoreWatcher {
  const w = new StoreWatcher(dir, options);
  w.on('change', onChange);
  return w;
}
