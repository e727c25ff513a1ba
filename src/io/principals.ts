/**
 * Users and groups by name or number, as the system knows them. Node has no getpwnam(3), so the
 * lookup asks `getent`, which goes through NSS (files, LDAP, systemd's dynamic users: the same
 * answer `chown` and `ls -l` give). Where getent cannot be run (a minimal image without it), the
 * local /etc/passwd and /etc/group are read instead.
 */
import { execFile } from 'node:child_process';
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { readBounded } from './bounded-read.js';

export type Database = 'passwd' | 'group';

/** A user: its uid and primary group. */
export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

/** A group: its gid. */
export interface GroupEntry {
  name: string;
  gid: number;
}

/** How long getent may take (an NSS backend on the network may hang). */
const GETENT_TIMEOUT_MS = 10_000;
const MAX_DB_BYTES = 4 << 20;
/** Names as useradd(8) and groupadd(8) accept them, or a number. */
const NAME = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$/;

/** The entry's fields (`name:x:id:...`), or null when the system knows no such name or number. */
async function lookup(db: Database, key: string): Promise<string[] | null> {
  const line = await new Promise<string | null | undefined>((resolve, reject) => {
    execFile('getent', [db, key], { timeout: GETENT_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      if (!err) return resolve(stdout.split('\n')[0] ?? '');
      // getent exits 2 for "not found"; undefined: getent itself is missing, read the files.
      if ((err as { code?: unknown }).code === 2) return resolve(null);
      if (errnoCode(err) === 'ENOENT') return resolve(undefined);
      reject(err);
    });
  });
  if (line !== undefined) return line === null ? null : line.split(':');
  const text = (
    await readBounded(`/etc/${db}`, {
      maxBytes: MAX_DB_BYTES,
      notRegular: () => new Error(`/etc/${db} is not a regular file`),
      tooLarge: () => new Error(`/etc/${db} is larger than ${MAX_DB_BYTES} bytes`),
    })
  ).toString('utf8');
  const field = /^[0-9]+$/.test(key) ? 2 : 0;
  return (
    text
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f.length >= 3 && f[field] === key) ?? null
  );
}

function unknown(db: Database, key: string, why = 'no such'): CertswapError {
  return db === 'passwd'
    ? new CertswapError(ErrorCodes.UNKNOWN_USER, `${why} user ${JSON.stringify(key)}`)
    : new CertswapError(ErrorCodes.UNKNOWN_GROUP, `${why} group ${JSON.stringify(key)}`);
}

function id(text: string | undefined): number | null {
  return text !== undefined && /^[0-9]{1,10}$/.test(text) && Number(text) < 2 ** 32 - 1 ? Number(text) : null;
}

/** The user named (or numbered) `key`. Raises CERTSWAP_UNKNOWN_USER. */
export async function lookupUser(key: string): Promise<UserEntry> {
  if (!NAME.test(key)) throw unknown('passwd', key, 'invalid');
  const f = await lookup('passwd', key);
  const uid = id(f?.[2]);
  const gid = id(f?.[3]);
  if (!f || uid === null || gid === null) throw unknown('passwd', key);
  return { name: f[0]!, uid, gid };
}

/** The group named (or numbered) `key`. Raises CERTSWAP_UNKNOWN_GROUP. */
export async function lookupGroup(key: string): Promise<GroupEntry> {
  if (!NAME.test(key)) throw unknown('group', key, 'invalid');
  const f = await lookup('group', key);
  const gid = id(f?.[2]);
  if (!f || gid === null) throw unknown('group', key);
  return { name: f[0]!, gid };
}
