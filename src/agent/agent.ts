/**
 * The agent process: recover every store, keep every certificate fresh, renew on SIGHUP, and on
 * SIGTERM/SIGINT let the running operation finish before exiting. Nothing depends on a signal
 * handler for safety: a SIGKILL or a power cut in the middle of a rotation is repaired by the
 * recover that the next start runs.
 */
import type { Log } from '../store/context.js';
import type { AgentConfig } from './config.js';
import { CertificateManager } from './manager.js';
import type { AgentObserver } from './events.js';
import type { AgentSignal, SignalLatch } from './signal-latch.js';
import { createMonitoring } from '../monitor/agent-monitoring.js';

/**
 * Runs the agent until SIGTERM or SIGINT; resolves 0 after an orderly stop. Signals that arrive
 * before the manager has started (caught by `latch`, or by the handlers installed here first
 * thing) are acted on once it has: a SIGHUP becomes a renewal, a SIGTERM/SIGINT a stop before
 * any renewal. Raises what manager.start() raises (a store that cannot be opened or recovered).
 */
export async function runAgent(config: AgentConfig, log: Log, latch?: SignalLatch): Promise<number> {
  // Metrics and webhooks (src/monitor): configured or not, they only observe the manager.
  const monitoring = await createMonitoring(config, log);
  const manager = new CertificateManager(config, { log, observer: monitoring.observer });
  // Until start() has finished there is nothing to renew or stop: remember what was asked.
  let started = false;
  let renewAsked = false;
  let stopAsked = false;
  let stopping: Promise<void> | undefined;
  const onHup = (): void => {
    const when = started ? 'now' : 'once started';
    log.info({ event: 'signal', signal: 'SIGHUP' }, `renewing every certificate ${when}`);
    if (started) manager.renewAll();
    else renewAsked = true;
  };
  const onStop = (signal: NodeJS.Signals): void => {
    log.info({ event: 'signal', signal }, 'stopping after the operation in progress');
    if (started) stopping ??= manager.stop();
    else stopAsked = true;
  };
  const handlers: Record<AgentSignal, (signal: NodeJS.Signals) => void> = {
    SIGHUP: onHup,
    SIGTERM: onStop,
    SIGINT: onStop,
  };
  // The real handlers go in before the latch comes out, so that no signal finds neither.
  for (const [signal, handler] of Object.entries(handlers)) process.on(signal, handler);
  for (const signal of latch?.release() ?? []) handlers[signal](signal);
  try {
    await manager.start();
    await monitoring.start(manager);
    started = true;
    const certificates = config.certificates.map((c) => ({ name: c.name, dir: c.dir }));
    log.info({ event: 'start', certificates }, `agent started (pid ${process.pid})`);
    if (stopAsked) stopping = manager.stop();
    else if (renewAsked) manager.renewAll();
    await manager.run();
    await stopping;
  } finally {
    for (const [signal, handler] of Object.entries(handlers)) process.off(signal, handler);
    await monitoring.close();
  }
  log.info({ event: 'stop' }, 'agent stopped');
  return 0;
}

/**
 * `certswap agent --once`: one look at every certificate, for a timer instead of a resident
 * process (a device that cannot spare an idle Node process pays nothing between runs). Recovers
 * every store (start), renews what is due (provision, stage, trial, check, commit or roll back,
 * hooks), prunes, and returns 0 when every certificate is fine (renewed, or not due) and 1 when
 * any failed; the active pair of a failed one is unchanged (the store guarantees it), and the
 * next run tries again. Nothing depends on a signal: a SIGTERM (the timer's stop) kills it, and
 * the next run's recover repairs whatever it interrupted.
 */
export async function runOnce(config: AgentConfig, log: Log): Promise<number> {
  const monitoring = await createMonitoring(config, log);
  const manager = new CertificateManager(config, { log, observer: monitoring.observer });
  try {
    await manager.start();
    await monitoring.start(manager, { serve: false });
    return await lookOnce(config, manager, log, monitoring.observer);
  } finally {
    // The textfile's last write and the webhook's deliveries finish before the process exits.
    await monitoring.close();
  }
}

async function lookOnce(
  config: AgentConfig,
  manager: CertificateManager,
  log: Log,
  observer: AgentObserver,
): Promise<number> {
  let failed = 0;
  for (const c of config.certificates) {
    try {
      const r = await manager.ensureCertificate(c.name);
      observer({ type: 'scheduled', name: c.name, at: r.nextRenewal, why: r.why });
      // A rotation pruned already; a certificate that was not due is pruned here.
      if (r.renewed === null) await manager.store(c.name).prune(c.keep);
      log.info(
        {
          event: 'once',
          cert: c.name,
          generation: r.generation,
          renewed: r.renewed !== null,
          nextRenewal: r.nextRenewal,
        },
        `${c.name}: ${r.renewed ? `renewed, generation ${r.generation}` : 'not due'}`,
      );
    } catch {
      // ensureCertificate has logged the failure with its code. It is due now; the next run retries.
      failed++;
      observer({ type: 'scheduled', name: c.name, at: new Date(), why: 'next run' });
    }
  }
  log.info({ event: 'stop', failed }, failed === 0 ? 'every certificate is fine' : `${failed} certificate(s) failed`);
  return failed === 0 ? 0 : 1;
}
