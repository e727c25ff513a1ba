/**
 * CertificateManager: keeps one or more named certificates fresh, each in its own store.
 *
 * ensureCertificate(name) decides whether a renewal is due and, if so:
 *   provision -> stage (validated in place) -> activate on trial (one rename) -> post-activation
 *   check -> commit -> hooks -> prune; or, if the check fails, roll back -> hooks.
 * Any failure leaves the old generation active (the store guarantees it) and is retried by run()
 * with backoff, jitter and herd control (retry.ts). One operation per certificate at a time: an
 * in-process queue here, the store's lock across processes.
 */
import { CertswapError, ErrorCodes, toCertswapError } from '../errors.js';
import { silentLog, type Log } from '../store/context.js';
import { GenerationStore } from '../store/store.js';
import type { CertInfo } from '../pki/cert-info.js';
import { readInputFile } from '../io/input.js';
import type { AgentConfig, CertificateConfig } from './config.js';
import { systemClock, type Clock } from './clock.js';
import { createProvisioner } from './provisioners/create.js';
import type { Provisioner } from './provisioners/provisioner.js';
import { checkDue, dueTime, phaseSeed, type DueTime, type RenewReason, type Way } from './due.js';
import { RenewalTimer, type NextRenewal } from './renewal-timer.js';
import { clearRetry, resumeRetry, saveRetry } from './retry-state.js';
import { runCheck } from './check.js';
import { runHooks, type HookEvent } from './hooks.js';
import type { AgentEvent, AgentObserver } from './events.js';
import { isMarkedRevoked } from './acme/revoked.js';
import { readPasswordFile } from '../store/formats.js';
import { verifyServed } from './verify-served.js';

export type { RenewReason } from './due.js';

export interface EnsureResult {
  name: string;
  /** Null when nothing was due. */
  renewed: { generation: number; reason: RenewReason; fingerprint: string; notAfter: string } | null;
  /** The active generation afterwards. */
  generation: number;
  /** When the next renewal is due. */
  nextRenewal: Date;
  /** Who says so: the local window, or the CA (ARI). */
  why: DueTime['why'];
}

interface Managed {
  config: CertificateConfig;
  store: GenerationStore;
  provisioner: Provisioner;
  queue: Promise<unknown>;
  timer: RenewalTimer;
  /** The active certificate as last seen: its expiry bounds the retry waits and orders the loop. */
  active?: Pick<CertInfo, 'notBefore' | 'notAfter'>;
  /** When it falls due, and whether the CA (ARI) or the local window says so. */
  due?: DueTime;
  /** The active generation as last seen. */
  generation?: number;
  /** When an earlier run of the agent meant to try again (its retry record, retry-state.ts). */
  resumeAt?: number;
  /**
   * How the local window places the active certificate's renewal: 'return' when it was obtained
   * at the end of a failure streak (straight back to the phase), until it is renewed.
   */
  way: Way;
}

/** When the loop must look again: the due time, or sooner when the CA is to be asked again (ARI). */
function wakeAt(due: DueTime): Date {
  return due.recheckAt && due.recheckAt < due.at ? due.recheckAt : due.at;
}

export interface ManagerOptions {
  clock?: Clock;
  log?: Log;
  random?: () => number;
  /** Told of every look, rotation, rollback, failure and schedule (events.ts): metrics, webhooks. */
  observer?: AgentObserver;
}

export class CertificateManager {
  private readonly managed = new Map<string, Managed>();
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly observer: AgentObserver | undefined;
  private stopping = false;
  private wake = new AbortController();
  /** Aborted by stop() only (wake is by renewAll() too): ends hooks.verify's waits. */
  private readonly halt = new AbortController();
  private readonly forced = new Set<string>();
  private readonly forcedRetry = new Set<string>();

  constructor(
    readonly config: AgentConfig,
    opts: ManagerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.observer = opts.observer;
  }

  /** `p`, telling the observer how long each provision took, successful or not (a slow CA shows). */
  private timed(name: string, p: Provisioner): Provisioner {
    if (!this.observer) return p;
    return {
      type: p.type,
      provision: async (req) => {
        const started = performance.now();
        try {
          return await p.provision(req);
        } finally {
          this.emit({ type: 'provisioned', name, seconds: (performance.now() - started) / 1000 });
        }
      },
    };
  }

  /** Tells the observer; an observer that throws is logged, never allowed to fail a renewal. */
  private emit(event: AgentEvent): void {
    try {
      this.observer?.(event);
    } catch (err) {
      this.log.error({ event: 'observer', type: event.type, err: (err as Error).message }, 'observer failed');
    }
  }

  /** Opens every store and runs its start-up recovery (rolls back an uncommitted trial). */
  async start(): Promise<void> {
    for (const c of this.config.certificates) {
      const store = await GenerationStore.open(c.dir, {
        now: () => this.clock.now(),
        log: this.log,
        validation: { requireEku: c.usages },
      });
      const provisioner = this.timed(c.name, await createProvisioner(c.provisioner));
      const timer = new RenewalTimer({ seed: phaseSeed(c), window: c.renew, backoff: c.retry, random: this.random });
      this.managed.set(c.name, { config: c, store, provisioner, queue: Promise.resolve(), timer, way: 'spread' });
      const r = await store.recover();
      if (r.trialRolledBack || r.repointed || r.leftoversRemoved.length || r.problems.length) {
        this.log.warn({ event: 'recover', cert: c.name, ...r }, `recovered ${c.name}`);
      }
      if (r.trialRolledBack) {
        const { from, to } = r.trialRolledBack;
        this.emit({ type: 'rolled-back', name: c.name, reason: 'recover', generation: to, from });
      }
      const now = this.clock.now().getTime();
      this.managed.get(c.name)!.resumeAt = await resumeRetry(store, timer, this.log, c.name, now);
    }
  }

  store(name: string): GenerationStore {
    return this.get(name).store;
  }

  private get(name: string): Managed {
    const m = this.managed.get(name);
    if (!m)
      throw new CertswapError(
        ErrorCodes.BAD_ARGUMENT,
        `no certificate named ${JSON.stringify(name)} (call start() first?)`,
      );
    return m;
  }

  /** Runs `fn` after every earlier operation on the same certificate: the in-process queue. */
  private serialise<T>(m: Managed, fn: () => Promise<T>): Promise<T> {
    const next = m.queue.then(fn, fn);
    m.queue = next.catch(() => undefined);
    return next;
  }

  /** Renews `name` if it is due (or `force`); see the module comment for the steps. */
  ensureCertificate(name: string, opts: { force?: boolean } = {}): Promise<EnsureResult> {
    const m = this.get(name);
    return this.serialise(m, async () => {
      this.emit({ type: 'looking', name });
      try {
        return await this.ensure(m, opts.force ?? false);
      } catch (err) {
        const e = toCertswapError(err);
        this.log.warn(
          { event: 'renew-failed', cert: name, code: e.code, generation: e.generation },
          `renewing ${name} failed (${e.code}): ${e.message}`,
        );
        this.emit({ type: 'renewal-failed', name, code: e.code, message: e.message });
        throw e;
      }
    });
  }

  private async ensure(m: Managed, force: boolean): Promise<EnsureResult> {
    const c = m.config;
    // A trial still pending here is one whose rollback failed earlier: finish it first, or every
    // later activation would be refused.
    if ((await m.store.pendingTrial()) !== null) {
      const back = await m.store.rollback();
      this.log.warn(
        { event: 'rollback', cert: c.name, generation: back.generation },
        `${c.name}: rolled back a trial left pending`,
      );
      this.emit({
        type: 'rolled-back',
        name: c.name,
        reason: 'recover',
        generation: back.generation,
        from: back.previous,
      });
    }
    const dueOpts = { log: this.log, random: this.random, way: m.way };
    const d = await checkDue(m.store, c, this.clock.now(), force, dueOpts);
    // Forgotten when nothing valid is active: a retry then uses plain backoff, never herd waits
    // bounded by the expiry of a certificate that no longer counts.
    m.active = d.info;
    m.due = d.due;
    m.generation = d.generation;
    this.emit({ type: 'look', name: c.name, generation: d.generation ?? null, notAfter: d.info?.notAfter ?? null });
    if (d.reason === null) {
      await clearRetry(m.store, this.log, c.name);
      this.emit({ type: 'looked', name: c.name, renewed: false });
      return { name: c.name, renewed: null, generation: d.generation!, nextRenewal: d.due!.at, why: d.due!.why };
    }
    this.log.info(
      { event: 'renew', cert: c.name, reason: d.reason, generation: d.generation ?? null },
      `renewing ${c.name}: ${d.reason}`,
    );

    // 1. Provision into a private work directory the store gives (inside it, 0700); it is a
    //    leftover that recover removes if we die here.
    const input = await m.store.withWorkDir((workDir) =>
      m.provisioner.provision({
        identity: c.identity,
        workDir,
        clock: this.clock,
        log: this.log,
        currentKey: async () => (d.generation === undefined ? null : (await m.store.readActive()).key),
        currentCert: async () => (d.generation === undefined ? null : (await m.store.readActive()).cert),
        storeDir: m.store.dir,
        signal: this.halt.signal,
      }),
    );
    // 2. Stage: written, fsynced, validated as read back. A refused pair changes nothing.
    const { generation, pair } = await m.store.stage(input, {
      expectName: c.identity.commonName,
      requireEku: c.usages,
      formats: c.formats,
      ...(c.access ? { access: c.access } : {}),
      // Read at each renewal: the password may be rotated with the certificate.
      ...(c.pkcs12 ? { pkcs12Password: await readPasswordFile(c.pkcs12.passwordFile) } : {}),
    });
    // 3. Activate (one rename) on trial when there is a check to pass: a crash before the commit
    //    is rolled back by the next recover.
    const { previous } = await m.store.activate(generation, { trial: c.check !== undefined });
    // 4. The check, then commit, or roll back.
    if (c.check) {
      try {
        const active = await m.store.readActive();
        await runCheck(
          {
            ...c.check,
            tls: c.check.tls && {
              ...c.check.tls,
              ca: c.check.tls.ca ? await readInputFile(c.check.tls.ca, 'ca') : undefined,
            },
          },
          active,
        );
      } catch (err) {
        const e = toCertswapError(err);
        const back = await m.store.rollback();
        this.log.warn(
          { event: 'rollback', cert: c.name, generation: back.generation, failed: generation, code: e.code },
          `check failed, rolled back ${c.name}: ${e.message}`,
        );
        this.emit({
          type: 'rolled-back',
          name: c.name,
          reason: 'check',
          generation: back.generation,
          from: generation,
        });
        await this.hooks(m, 'rollback', back.generation);
        throw e;
      }
      await m.store.commit();
    }
    const { fingerprint, notAfter } = pair.info;
    this.emit({ type: 'rotated', name: c.name, generation, previous, fingerprint, notAfter });
    // 5. Tell consumers, then prune (never the active generation or its rollback target).
    await this.hooks(m, 'activate', generation);
    // Housekeeping after the commit: its failure (EIO, the lock held by a CLI command) is not the
    // renewal's, which stands; reported as one, it was counted as a failure too and sent a
    // renewal-failed webhook saying the active pair was unchanged. The next rotation prunes again.
    const pruned = await m.store.prune(c.keep).catch((err: unknown) => {
      const code = toCertswapError(err).code;
      this.log.warn({ event: 'prune', cert: c.name, generation, code }, `${c.name}: prune failed (${code})`);
      return { removed: [] as number[] };
    });
    await clearRetry(m.store, this.log, c.name);
    const info = pair.info;
    m.active = info;
    m.generation = generation;
    // The certificate a failure streak ended with goes straight back toward the phase: the loop
    // and every later look (checkDue) place its renewal the same way.
    m.way = m.timer.way;
    m.due = await dueTime(c, info, async () => Buffer.from(pair.certPem), this.clock.now(), { ...dueOpts, way: m.way });
    const now = this.clock.now().getTime();
    if (m.due.at.getTime() <= now) {
      // Due the moment it was obtained: the CA backdates notBefore past the window's start (or
      // the window opens very early). Renewing again at once would get the same answer, again and
      // again: the window's start is measured from now instead, for this renewal.
      m.due = { ...m.due, at: new Date(now + c.renew.from * (Date.parse(info.notAfter) - now)) };
      this.log.warn(
        { event: 'due-at-issue', cert: c.name, notBefore: info.notBefore, nextRenewal: m.due.at.toISOString() },
        `${c.name}: the new certificate was due at once (notBefore ${info.notBefore}); next renewal at ` +
          `${m.due.at.toISOString()} instead`,
      );
    }
    this.log.info(
      {
        event: 'rotated',
        cert: c.name,
        generation,
        fingerprint: info.fingerprint,
        notAfter: info.notAfter,
        pruned: pruned.removed,
      },
      `rotated ${c.name}: generation ${generation}, ` +
        `sha256 ${info.fingerprint.slice(0, 23)}..., expires ${info.notAfter}`,
    );
    this.emit({ type: 'looked', name: c.name, renewed: true });
    return {
      name: c.name,
      renewed: { generation, reason: d.reason, fingerprint: info.fingerprint, notAfter: info.notAfter },
      generation,
      nextRenewal: m.due.at,
      why: m.due.why,
    };
  }

  private async hooks(m: Managed, event: HookEvent, generation: number | null): Promise<void> {
    const h = m.config.hooks;
    if (!h) return;
    const run = (): Promise<void> =>
      runHooks(
        h,
        event,
        { CERTSWAP_NAME: m.config.name, CERTSWAP_DIR: m.store.dir, CERTSWAP_GENERATION: String(generation ?? '') },
        this.clock,
      );
    try {
      await run();
    } catch (err) {
      // The switch stands; a consumer that did not reload keeps serving the previous valid pair.
      const code = toCertswapError(err).code;
      this.log.error({ event: 'hook', cert: m.config.name, hook: event, code }, (err as Error).message);
      this.emit({ type: 'hook-failed', name: m.config.name, hook: event, code });
    }
    // Proof that the reload took: the consumer must now present the active pair (none after the
    // trial of a first install was undone: nothing to compare).
    if (h.verify && generation !== null) {
      const served = await verifyServed(m.store, h.verify, run, {
        clock: this.clock,
        log: this.log,
        cert: m.config.name,
        signal: this.halt.signal,
      });
      // The reload did not take: for the metrics, a hook that failed (not when stop() cut it short).
      if (!served && !this.halt.signal.aborted)
        this.emit({ type: 'hook-failed', name: m.config.name, hook: 'verify', code: ErrorCodes.SERVED_MISMATCH });
    }
  }

  /** Asks the loop to renew every certificate now (SIGHUP, `certswap renew`). */
  renewAll(): void {
    for (const name of this.managed.keys()) this.forced.add(name);
    this.wake.abort();
  }

  /**
   * Keeps every certificate fresh until stop(): ensure, then sleep until the next renewal (the
   * window) or, after a failure, the next attempt (retry.ts), waking early for renewAll() and
   * stop(). Certificates closest to expiry go first. Each next renewal is logged with its reason.
   */
  async run(): Promise<void> {
    const next = new Map<string, number>();
    // A streak an earlier run recorded keeps its place in the queue (renew and SIGHUP still force).
    for (const [name, m] of this.managed) if (m.resumeAt !== undefined) next.set(name, m.resumeAt);
    while (!this.stopping) {
      for (const [name, m] of this.byExpiry()) {
        if (this.stopping) break;
        const asked = this.forced.delete(name);
        // Not yet due, unless `certswap revoke --force` marked the active certificate since (looked
        // at on every pass of the loop: at least hourly, and at once on SIGHUP).
        if (!asked && (next.get(name) ?? 0) > this.clock.now().getTime() && !(await this.revoked(m))) continue;
        // A forced renewal that failed stays forced for its retries: the certificate may not be
        // due, but the operator (or SIGHUP) asked for a new one.
        const force = asked || this.forcedRetry.delete(name);
        try {
          await this.ensureCertificate(name, { force });
          // The look placed the next renewal (ensure sets m.due on every success); the streak ends.
          m.timer.reset();
          const plan: NextRenewal = { at: m.due!.at, why: m.due!.why };
          // With ARI the loop wakes to ask the CA again before the renewal, if that is sooner.
          const wake = wakeAt(m.due!);
          next.set(name, wake.getTime());
          this.logNext(name, plan, wake < plan.at ? { recheckAt: wake.toISOString() } : {});
        } catch (err) {
          const e = toCertswapError(err);
          if (force) this.forcedRetry.add(name);
          const now = this.clock.now().getTime();
          const plan = m.timer.failed(now, m.active ? Date.parse(m.active.notAfter) : null);
          // A server that said when to come back (ACME rateLimited's Retry-After) is not asked sooner.
          const asked = e.retryAt === undefined ? Number.NaN : Date.parse(e.retryAt);
          if (asked > plan.at.getTime()) Object.assign(plan, { at: new Date(asked), delayMs: asked - now });
          next.set(name, plan.at.getTime());
          this.logNext(name, plan, { code: e.code, attempt: plan.attempt, retryInMs: plan.delayMs });
          await saveRetry(m.store, plan, e.code, this.log, name);
        }
      }
      if (this.stopping) break;
      const soonest = Math.min(...next.values()) - this.clock.now().getTime();
      if (this.wake.signal.aborted) this.wake = new AbortController();
      if (this.forced.size === 0) await this.clock.sleep(Math.max(0, Math.min(soonest, 3_600_000)), this.wake.signal);
      if (this.wake.signal.aborted) this.wake = new AbortController();
    }
  }

  private async revoked(m: Managed): Promise<boolean> {
    return m.generation !== undefined && (await isMarkedRevoked(m.store.dir, m.generation).catch(() => false));
  }

  /** The certificates, the one closest to expiry first (one with none known before all). */
  private byExpiry(): [string, Managed][] {
    const expiry = (m: Managed): number => (m.active ? Date.parse(m.active.notAfter) : -Infinity);
    return [...this.managed].sort(([, a], [, b]) => expiry(a) - expiry(b));
  }

  private logNext(name: string, plan: NextRenewal, extra: Record<string, unknown>): void {
    this.emit({ type: 'scheduled', name, at: plan.at, why: plan.why });
    const at = plan.at.toISOString();
    const event = plan.why === 'retry backoff' ? 'retry' : 'scheduled';
    this.log.info(
      { event, cert: name, nextRenewal: at, why: plan.why, ...extra },
      plan.why === 'retry backoff'
        ? `retrying ${name} in ${((plan.at.getTime() - this.clock.now().getTime()) / 1000).toFixed(1)} s (${at})`
        : `next renewal of ${name}: ${at} (${plan.why})` +
            (extra.recheckAt ? `; asking the CA again at ${extra.recheckAt as string}` : ''),
    );
  }

  /** Stops run(): the operation in progress finishes (a staging directory is never left behind). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    this.halt.abort();
    await Promise.all([...this.managed.values()].map((m) => m.queue));
  }
}
