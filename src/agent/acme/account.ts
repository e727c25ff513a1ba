/**
 * The ACME account: its key is made on first use and kept in the store directory, in
 * `.acme/account-key.pem` (docs/design.md, on-disk layout), for every later renewal.
 *
 * - `.acme/` is 0700 and the key 0600, written through io/durable.ts like every other durable
 *   file (a temporary file, fsync, rename, directory fsync): a crash leaves the old key or the
 *   new one, never a torn one, and the directory's creation is fsynced into the store.
 * - Both are checked as the store's own files are before the key is used: a real directory and a
 *   regular file with one name, owned by us or root, writable by nobody else, the key readable by
 *   nobody else (never followed through a link).
 * - The key is never logged and never sent: requests carry its public JWK and signatures only.
 * - No account URL is kept: the server finds the account by its key (newAccount with
 *   `onlyReturnExisting`), so a CA that forgot it (a test CA restarted) gets a new one.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import { fsOps, type Stats } from '../../io/fs.js';
import { fsyncDir, leftByDeadWriter, makeDir, removeTree, replaceFile } from '../../io/durable.js';
import { readInputFile } from '../../io/input.js';
import { modeOf } from '../../io/ownership.js';
import type { Log } from '../../store/context.js';
import { acquireLock } from '../../io/lock.js';
import { ACME_ACCOUNT_KEY_FILE, ACME_DIR, DIR_MODE, KEY_MODE, StorePaths, isTempEntry } from '../../store/layout.js';
import { checkLayoutDir, checkLayoutFile } from '../../store/store-path.js';
import type { AcmeTransport, Directory } from './transport.js';
import { answerError, problemOf } from './problem.js';

/** `<store>/.acme`, created (0700, durably) when missing and `create`, checked when present; null when absent. */
export async function acmeDir(storeDir: string, create: boolean): Promise<string | null> {
  const dir = path.join(storeDir, ACME_DIR);
  let st: Stats;
  try {
    st = await fsOps.lstat(dir);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    if (!create) return null;
    try {
      await makeDir(dir, DIR_MODE);
      await fsyncDir(storeDir);
    } catch (e) {
      // Made by another writer (the agent and `certswap renew` at once): checked below as any.
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    st = await fsOps.lstat(dir);
  }
  checkLayoutDir(st, dir);
  // A temporary file of an interrupted replace holds nothing the key file does not; only a
  // writer removes it (a read-only look at the store changes nothing), and only once its own
  // writer is dead: the agent and `certswap renew` or `revoke` may write here at the same time
  // (no store lock is held while enrolling), and removing a live writer's temporary fails its
  // rename (a revocation mark or an account key lost to ENOENT).
  if (create) {
    for (const name of await fsOps.readdir(dir)) {
      if (isTempEntry(name) && leftByDeadWriter(name)) await removeTree(path.join(dir, name));
    }
  }
  return dir;
}

/** Reads a private key file of `.acme/` (or a generation), checked as the store's files are. */
export async function readStoreKey(file: string): Promise<Buffer> {
  return readInputFile(file, 'key', {
    noFollow: true,
    check: (st) => {
      checkLayoutFile(st, file);
      if ((st.mode & 0o077) !== 0) {
        throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} is readable by others (mode ${modeOf(st)})`, {
          path: file,
        });
      }
    },
  });
}

/** The account key in `file`, checked; null when there is none. */
async function readAccountKey(file: string): Promise<Buffer | null> {
  let pem: Buffer;
  try {
    pem = await readStoreKey(file);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    createPrivateKey(pem);
  } catch {
    // Never the file's content: it is meant to be a private key.
    throw new CertswapError(ErrorCodes.CORRUPT_STORE, `${file}: not a readable private key`, { path: file });
  }
  return pem;
}

/**
 * The account key (PKCS#8 PEM), made and stored on first use. Made under the store's lock, and
 * looked for again once it is held: the agent and `certswap renew` enrolling at once (no lock is
 * held while enrolling) would each make a key, register an account with it, and the last rename
 * would leave one of them using a key the store no longer holds. Raises CERTSWAP_BUSY,
 * CERTSWAP_UNSAFE_STORE, CERTSWAP_CORRUPT_STORE.
 */
export async function accountKey(storeDir: string, log?: Log): Promise<Buffer> {
  const dir = (await acmeDir(storeDir, true))!;
  const file = path.join(dir, ACME_ACCOUNT_KEY_FILE);
  const found = await readAccountKey(file);
  if (found) return found;
  const lock = await acquireLock(new StorePaths(storeDir).lock);
  try {
    const made = await readAccountKey(file);
    if (made) return made;
    // P-256: ES256 is the one signature every ACME server accepts (RFC 8555 §6.2).
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    await replaceFile(file, pem, KEY_MODE);
    log?.info({ event: 'acme-account-key', path: file }, 'made a new ACME account key');
    return pem;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

export interface AccountOptions {
  email?: string;
  termsAgreed: boolean;
  eab: boolean;
}

/**
 * Finds the account of the transport's key at the server, or creates it (RFC 8555 §7.3), and
 * sets the transport's account URL. Raises CERTSWAP_CA_REFUSED (terms not agreed, external
 * account binding missing or refused), CA_UNAVAILABLE, ACME_RATE_LIMITED.
 */
export async function useAccount(
  t: AcmeTransport,
  dir: Directory,
  o: AccountOptions,
  now: () => Date,
  log?: Log,
): Promise<string> {
  const found = await t.post(dir.newAccount, { onlyReturnExisting: true }, { jwk: true });
  if (found.status === 200 && found.headers.location) {
    t.accountUrl = found.headers.location;
    return t.accountUrl;
  }
  if (problemOf(found.data).type !== 'accountDoesNotExist') throw answerError(found, 'newAccount', now());
  const terms = dir.meta?.termsOfService;
  if (terms && !o.termsAgreed) {
    throw new CertswapError(
      ErrorCodes.CA_REFUSED,
      `the ACME server's terms of service (${terms}) must be agreed to: set termsAgreed: true`,
    );
  }
  if (dir.meta?.externalAccountRequired && !o.eab) {
    throw new CertswapError(ErrorCodes.CA_REFUSED, 'the ACME server requires external account binding: set eab');
  }
  const created = await t.post(
    dir.newAccount,
    { termsOfServiceAgreed: o.termsAgreed, ...(o.email && { contact: [`mailto:${o.email}`] }) },
    { jwk: true, eab: o.eab },
  );
  if ((created.status !== 201 && created.status !== 200) || !created.headers.location) {
    throw answerError(created, 'newAccount', now());
  }
  t.accountUrl = created.headers.location;
  log?.info({ event: 'acme-account', account: t.accountUrl }, `ACME account ${t.accountUrl}`);
  return t.accountUrl;
}
