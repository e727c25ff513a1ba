/**
 * The agent process: recover every store, keep every certificate fresh, renew on SIGHUP, and on
 * SIGTERM/SIGINT let the running operation finish before exiting. Nothing depends on a signal
 * handler for safety: a SIGKILL or a power cut in the middle of a rotation is repaired by the
 * recover that the next start runs.
 */
import type { Log } from '../context.js';
import type { AgentConfig } from './config.js';
import { CertificateManager } from './manager.js';

export async function runAgent(config: AgentConfig, log: Log): Promise<number> {
  const manager = new CertificateManager(config, { log });
  await manager.start();
  const onHup = (): void => {
    log.info({ event: 'signal', signal: 'SIGHUP' }, 'renewing every certificate now');
    manager.renewAll();
  };
  let stopping: Promise<void> | undefined;
  const onStop = (signal: NodeJS.Signals): void => {
    log.info({ event: 'signal', signal }, 'stopping after the operation in progress');
    stopping ??= manager.stop();
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  log.info({ event: 'start', certificates: config.certificates.map((c) => ({ name: c.name, dir: c.dir })) }, `agent started (pid ${process.pid})`);
  try {
    await manager.run();
    await stopping;
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
  log.info({ event: 'stop' }, 'agent stopped');
  return 0;
}
