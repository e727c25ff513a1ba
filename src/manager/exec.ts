/**
 * Running an outside command (a provisioner, a post-activation check, a hook) with a timeout.
 * The command gets its own process group so that a timeout kills everything it started.
 */
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last 4 KiB of stderr, for error messages. */
  stderr: string;
}

const STDERR_TAIL = 4096;

export function runCommand(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<CommandResult> {
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_TAIL);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: 127, signal: null, timedOut, stderr: err.message });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stderr: stderr.trim() });
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
