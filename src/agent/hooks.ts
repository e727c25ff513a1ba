/**
 * Consumer hooks: after a committed activation and after a rollback, tell the programs that read
 * the certificate by path (nginx, mosquitto) to reload: run a command and/or signal the process
 * in a pid file. A failed hook is retried: a consumer that did not reload still serves the old
 * pair, which is valid but not the one the store says is active.
 */
import { CertswapError, ErrorCodes } from '../errors.js';
import { readBounded } from '../io/bounded-read.js';
import { untrustedFileProblem } from '../io/ownership.js';
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
    const file = h.pidFile;
    let text: string;
    try {
      // Only a file root or we wrote (io/ownership.ts): whoever can write a pid file can make root
      // signal any process. Read without following a link, without blocking, bounded.
      const refuse = (problem: string): Error => new Error(`${file} ${problem}`);
      const data = await readBounded(file, {
        maxBytes: 64,
        noFollow: true,
        check: (st) => {
          const problem = untrustedFileProblem(st);
          if (problem !== null) throw refuse(problem);
        },
        notRegular: () => refuse('is not a regular file'),
        tooLarge: () => refuse('is larger than a pid file'),
      });
      text = data.toString('latin1').trim();
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
