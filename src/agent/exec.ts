/**
 * Running an outside command (a provisioner, a post-activation check, a hook) with a timeout.
 *
 * What is contained, and why:
 * - The command gets its own process group, so that a timeout kills everything it started
 *   (SIGKILL to the group), not only the shell at its top.
 * - The command is done when it exits, not when its stderr closes: a background process it left
 *   behind (`daemon &`) inherits the pipe and may hold it open for days. After the exit we read
 *   what is already in the pipe for a moment, then let go of our end.
 * - runCommand always resolves: a child that does not report its exit even after SIGKILL (stuck
 *   in the kernel) is given up on after KILL_GRACE_MS.
 * - Any timeout is allowed, however long (clock.ts: Node timers overflow after 24.8 days).
 * - Private keys in the command's stderr are redacted as it streams in (redact.ts), before any of
 *   it is kept, so they never reach an error message or a log.
 */
import { spawn } from 'node:child_process';
import { setLongTimeout } from './clock.js';
import { PrivateKeyRedactor } from './redact.js';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last 4 KiB of stderr, private keys redacted, for error messages. */
  stderr: string;
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  /** Any length; Infinity means no timeout. */
  timeoutMs: number;
  cwd?: string;
}

const STDERR_TAIL = 4096;
/** After the exit: how long to keep reading what the command wrote before it exited. */
const EXIT_DRAIN_MS = 200;
/** After the SIGKILL of a timeout: how long to wait for the exit before giving up on it. */
const KILL_GRACE_MS = 2000;

/**
 * Runs `argv` (no shell) with its stdout ignored and its stderr kept (the redacted tail). Never
 * rejects: a command that cannot be started is reported as exit 127 with the reason as stderr.
 */
export function runCommand(argv: string[], opts: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const redactor = new PrivateKeyRedactor();
    let stderr = '';
    let timedOut = false;
    let done = false;
    const timers: Array<() => void> = [];
    const keep = (text: string): void => {
      if (text) stderr = (stderr + text).slice(-STDERR_TAIL);
    };
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const pipe = child.stderr!;
    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => keep(redactor.push(d)));
    // Reading stops when we destroy our end; an error on it must not crash the agent.
    pipe.on('error', () => undefined);

    const finish = (r: Omit<CommandResult, 'stderr' | 'timedOut'>, message?: string): void => {
      if (done) return;
      done = true;
      for (const cancel of timers) cancel();
      pipe.destroy();
      keep(redactor.end());
      resolve({ ...r, timedOut, stderr: message ?? stderr.trim() });
    };

    const cancelTimeout = setLongTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      timers.push(setLongTimeout(() => finish({ code: null, signal: 'SIGKILL' }), KILL_GRACE_MS));
    }, opts.timeoutMs);
    timers.push(cancelTimeout);
    // Only a failure to start is final; any later error (a failed kill) is followed by the exit.
    child.on('error', (err) => {
      if (child.pid === undefined) finish({ code: 127, signal: null }, err.message);
    });
    child.on('exit', (code, signal) => {
      // Exited in time: what it left running is not killed, and no longer waited for.
      cancelTimeout();
      const result = { code, signal };
      if (pipe.readableEnded || pipe.destroyed) return finish(result);
      pipe.once('close', () => finish(result));
      timers.push(setLongTimeout(() => finish(result), EXIT_DRAIN_MS));
    });
  });
}

/** "exit 3: <stderr>" / "timed out after 5 s" / "killed by SIGTERM". */
export function describeFailure(r: CommandResult, timeoutMs: number): string | null {
  if (r.timedOut) return `timed out after ${(timeoutMs / 1000).toFixed(1)} s`;
  if (r.code === 0) return null;
  const how = r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return r.stderr ? `${how}: ${r.stderr.split('\n').slice(-5).join(' | ')}` : how;
}
