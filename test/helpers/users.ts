/**
 * A real unprivileged user for the security suites, and what it does: made with useradd, removed
 * with userdel, its actions run as separate processes with its uid and gid (root only).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fse from 'fs-extra';
import { collect, type Result } from './proc.js';
import { runTempDir } from './tmp.js';

export interface User {
  name: string;
  uid: number;
  gid: number;
}

export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

export interface Group {
  name: string;
  gid: number;
}

/** Adds a group under a name no other run uses (a consumer group, as Debian's ssl-cert). */
export function addGroup(prefix = 'csw-group-'): Group {
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  execFileSync('groupadd', [name], { stdio: 'pipe' });
  const line = execFileSync('getent', ['group', name], { encoding: 'utf8' });
  return { name, gid: Number(line.split(':')[2]) };
}

export function removeGroup(group: Group): void {
  execFileSync('groupdel', [group.name], { stdio: 'pipe' });
}

/**
 * Adds a user with its own group, no home and no login shell, under a name no other run uses;
 * `groups` are its supplementary groups (a consumer's membership in the certificate's group).
 */
export function addUser(prefix = 'csw-attacker-', groups: string[] = []): User {
  const name = `${prefix}${randomBytes(4).toString('hex')}`;
  const extra = groups.length ? ['--groups', groups.join(',')] : [];
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', ...extra, name], {
    stdio: 'pipe',
  });
  const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { name, uid: id('-u'), gid: id('-g') };
}

/** Removes the user and its group. Stop its processes first: userdel refuses while one runs. */
export function removeUser(user: User): void {
  try {
    execFileSync('userdel', [user.name], { stdio: 'pipe' });
  } catch {
    execFileSync('userdel', ['--force', user.name], { stdio: 'pipe' });
  }
}

let coverageDir: string | undefined;

/**
 * The environment of a process run as `user`. Under c8 a child inherits NODE_V8_COVERAGE (Node
 * puts it back if removed), and the user could not write into our tree: give it a directory it can.
 */
async function envFor(): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
  if (process.env.NODE_V8_COVERAGE) {
    if (coverageDir === undefined) {
      coverageDir = await runTempDir('certswap-cov-');
      await fse.chmod(coverageDir, 0o1777);
    }
    env.NODE_V8_COVERAGE = coverageDir;
  }
  return env;
}

/** Starts `cmd` as `user` (libuv drops root's supplementary groups), from `/`. */
export async function spawnAs(user: User, cmd: string, args: string[]): Promise<ChildProcess> {
  return spawn(cmd, args, {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    env: await envFor(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts `cmd` as `user` with its supplementary groups (setpriv --init-groups), as a login or a
 * service manager would: spawnAs keeps only the primary group.
 */
export async function spawnWithGroups(user: User, cmd: string, args: string[]): Promise<ChildProcess> {
  return spawn(
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', cmd, ...args],
    { cwd: '/', env: await envFor(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** Runs `cmd` as `user`; fails the test unless it exits 0. */
export async function runAs(user: User, cmd: string, args: string[]): Promise<Result> {
  const r = await collect(await spawnAs(user, cmd, args));
  if (r.code !== 0) throw new Error(`${user.name}: ${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}`);
  return r;
}

/**
 * The flip: as fast as it can, points `link` at each of `targets` in turn, each time by renaming
 * a fresh link over it (atomic: `link` always exists). Prints `ready` after the first flip, stops
 * when `stopFile` exists or after `max` flips, and prints `flips <n>` as it ends.
 */
const FLIPPER = `
const fs = require('fs');
const [link, stop, max, ...targets] = process.argv.slice(1);
const next = link + '.next';
let n = 0;
for (; n < Number(max); n++) {
  if (n % 64 === 0 && fs.existsSync(stop)) break;
  fs.rmSync(next, { force: true });
  fs.symlinkSync(targets[n % targets.length], next);
  fs.renameSync(next, link);
  if (n === 0) fs.writeSync(1, 'ready\\n');
}
fs.writeSync(1, 'flips ' + n + '\\n');
`;

export function flipSymlink(
  user: User,
  link: string,
  targets: string[],
  stopFile: string,
  max: number,
): Promise<ChildProcess> {
  return spawnAs(user, process.execPath, ['-e', FLIPPER, link, stopFile, String(max), ...targets]);
}
