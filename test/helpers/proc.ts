/** Child processes for tests: the built CLI, and TypeScript fixtures through tsx. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The executable as installed: the bundled CLI (scripts/build-cli.mjs). */
export const CLI = path.join(root, 'dist', 'cli', 'certswap.cjs');
export const FIXTURES = path.join(root, 'test', 'fixtures');

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function collect(child: ChildProcess): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the built CLI with `args`; the environment is this one plus `env`. */
export function certswap(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

/** Starts a TypeScript fixture from test/fixtures; with `stdin: 'pipe'`, closing its stdin can tell it to stop. */
export function fixture(name: string, args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, name), ...args], {
    stdio: [stdin, 'pipe', 'pipe'],
  });
}

/** Resolves when `child` prints `line` on stdout. */
export function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      if (buf.split('\n').includes(line)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`fixture exited (${code}) before printing ${line}`)));
  });
}

/** Polls `cond` every 50 ms; fails after `limitMs` (a bound on a hang, not a performance check). */
export async function until(what: string, cond: () => boolean | Promise<boolean>, limitMs = 90_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The path of an installed program, or null. */
export function which(program: string): string | null {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Stops `child` and waits for it: SIGTERM, then SIGKILL after `graceMs`; a no-op once it has
 * exited. A child spawned `detached` leads a process group of its own, and the whole group is
 * signalled, so the workers of a master (nginx, haproxy -W) go with it.
 */
export async function stopProcess(child: ChildProcess | null | undefined, graceMs = 5000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const signal = (sig: NodeJS.Signals): void => {
    try {
      // -pid names the child's own group; it has none unless it was spawned detached (ESRCH).
      process.kill(-child.pid!, sig);
    } catch {
      child.kill(sig);
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
