/**
 * Consumer hooks: after a committed activation and after a rollback, tell the programs that read
 * the certificate by path (nginx, mosquitto) to reload: run a command and/or signal the process
 * in a pid file. A failed hook is retried: a consumer that did not reload still serves the old
 * pair, which is valid but not the one the store says is active.
 */
import { CertswapError, ErrorCodes } from '../errors.js';
import { readStateFile } from '../store/records/state-file.js';
import type { Clock } from './clock.js';
import { describeFailure, runCommand } from './exec.js';

export interface HookOptions {
  command?: string[];
  pidFile?: string;
  signal: NodeJS.Signals;
  timeoutMs: number;
  attempts: number;
}

export type HookEvent = 'activate' | 'rollback';

async function once(h: HookOptions, event: HookEvent, env: Record<string, string>): Promise<void> {
  if (h.command) {
    const r = await runCommand(h.command, { timeoutMs: h.timeoutMs, env: { ...env, CERTSWAP_EVENT: event } });
    const failure = describeFailure(r, h.timeoutMs);
    if (failure) throw new CertswapError(ErrorCodes.HOOK_FAILED, `hook ${h.command[0]}: ${failure}`);
  }
  if (h.pidFile) {
    let text: string;
    try {
      // Read like a file of the store (a regular file, root's or ours, writable by no one else):
      // whoever can write a pid file can make root signal any process.
      text = (await readStateFile(h.pidFile, 64))?.trim() ?? '';
    } catch (err) {
      throw new CertswapError(ErrorCodes.HOOK_FAILED, `hook: pid file refused: ${(err as Error).message}`, {
        path: h.pidFile,
        cause: err,
      });
    }
    if (!/^[1-9][0-9]*$/.test(text))
      throw new CertswapError(ErrorCodes.HOOK_FAILED, `hook: ${h.pidFile} holds no process id`, { path: h.pidFile });
    try {
      process.kill(Number(text), h.signal);
    } catch (err) {
      throw new CertswapError(
        ErrorCodes.HOOK_FAILED,
        `hook: cannot send ${h.signal} to ${text}: ${(err as Error).message}`,
        { path: h.pidFile },
      );
    }
  }
}

/** Runs the hooks, retrying with a doubling delay; raises the last failure. */
export async function runHooks(
  h: HookOptions,
  event: HookEvent,
  env: Record<string, string>,
  clock: Clock,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(h, event, env);
    } catch (err) {
      if (attempt >= h.attempts) throw err;
      await clock.sleep(500 * 2 ** (attempt - 1));
    }
  }
}
