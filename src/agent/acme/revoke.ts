/**
 * `certswap revoke`: asks the ACME CA to revoke a generation's certificate (RFC 8555 §7.6), for
 * the day a device's key leaks.
 *
 *   1. The generation (the active one unless told): revoking the active one needs `force`.
 *   2. The request is signed with that generation's own private key (its JWK in the JWS header),
 *      which proves possession of the key the certificate certifies: it works for whichever
 *      account ordered it, and is what a CA asks for keyCompromise. A key acme-client cannot sign
 *      ACME requests with (Ed25519) falls back to the store's account key (the account that
 *      ordered it).
 *   3. For the active generation, the mark `.acme/revoked-<n>` is written before the request
 *      (acme/revoked.ts): the agent then renews at once. Written first, so that no crash can leave
 *      a revoked active certificate unmarked; a revocation that then fails costs one renewal.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { CertswapError, ErrorCodes } from '../../errors.js';
import type { Log } from '../../store/context.js';
import { readGenerationFiles } from '../../store/generations.js';
import { StorePaths } from '../../store/layout.js';
import { GenerationStore } from '../../store/store.js';
import { accountKey, acmeDir } from './account.js';
import { answerError, problemOf } from './problem.js';
import { REVOCATION_REASONS, type RevocationReason } from './reasons.js';
import { markRevoked } from './revoked.js';
import { AcmeTransport } from './transport.js';

export interface RevokeOptions {
  dir: string;
  /** Default: the active generation. */
  generation?: number;
  reason: RevocationReason;
  /** Required to revoke the active generation. */
  force: boolean;
  directory: string;
  directoryCa?: Buffer;
  now: Date;
  log?: Log;
}

export interface RevokeResult {
  generation: number;
  serial: string;
  reason: RevocationReason;
  /** Whether it was the active generation (then marked: the agent renews at once). */
  active: boolean;
  /** Which key signed the request. */
  signedWith: 'certificate key' | 'account key';
}

/**
 * Revokes generation `o.generation` (default: the active one) of the store at `o.dir`. Raises
 * CERTSWAP_NO_ACTIVE, CERTSWAP_NO_SUCH_GENERATION, CERTSWAP_BAD_ARGUMENT (the active generation
 * without `force`), CERTSWAP_CA_REFUSED (with the server's problem, such as alreadyRevoked),
 * CERTSWAP_CA_UNAVAILABLE, CERTSWAP_ACME_RATE_LIMITED.
 */
export async function revokeGeneration(o: RevokeOptions): Promise<RevokeResult> {
  // 1. Which generation.
  const store = await GenerationStore.open(o.dir, { create: false });
  const current = (await store.status()).current;
  const n = o.generation ?? current;
  if (n === null)
    throw new CertswapError(ErrorCodes.NO_ACTIVE, `nothing is active in ${store.dir}: name a --generation`);
  const active = n === current;
  if (active && !o.force) {
    throw new CertswapError(
      ErrorCodes.BAD_ARGUMENT,
      `generation ${n} is the active one: revoking it needs --force (the agent then renews at once)`,
      { generation: n },
    );
  }
  const files = await readGenerationFiles(new StorePaths(store.dir), n);
  const leaf = new X509Certificate(files.cert);
  // 2. The signer: the certificate's key, or the account's.
  const certKey = ['ec', 'rsa'].includes(createPrivateKey(files.key).asymmetricKeyType ?? '');
  const hasAccount = !certKey && (await acmeDir(store.dir, false)) !== null;
  if (!certKey && !hasAccount) {
    throw new CertswapError(
      ErrorCodes.UNSUPPORTED_KEY,
      `generation ${n}'s key cannot sign ACME requests (ES256/RS256 only), and the store has no ACME account`,
      { generation: n },
    );
  }
  const t = await AcmeTransport.create({
    directory: o.directory,
    directoryCa: o.directoryCa,
    signingKey: certKey ? files.key : await accountKey(store.dir, o.log),
  });
  const dir = await t.directory();
  if (!certKey) {
    const found = await t.post(dir.newAccount, { onlyReturnExisting: true }, { jwk: true });
    if (found.status !== 200 || !found.headers.location) throw answerError(found, 'newAccount', o.now);
    t.accountUrl = found.headers.location;
  }
  // 3. The mark, then the request.
  if (active) await markRevoked(store.dir, n, o.now);
  const code = REVOCATION_REASONS[o.reason];
  const r = await t.post(
    dir.revokeCert,
    { certificate: leaf.raw.toString('base64url'), ...(code !== 0 && { reason: code }) },
    { jwk: certKey },
  );
  if (r.status !== 200) throw answerError(r, `revoking generation ${n} (${problemOf(r.data).type})`, o.now);
  o.log?.warn(
    { event: 'revoked', generation: n, serial: leaf.serialNumber, reason: o.reason, active },
    `revoked generation ${n} (serial ${leaf.serialNumber}, ${o.reason})`,
  );
  return {
    generation: n,
    serial: leaf.serialNumber,
    reason: o.reason,
    active,
    signedWith: certKey ? 'certificate key' : 'account key',
  };
}
