/**
 * The mark `certswap revoke --force` leaves when it revokes the active generation n:
 * `.acme/revoked-<n>` (0600, written through io/durable.ts). The agent's due computation reads it
 * (agent/due.ts): a revoked active certificate is due at once, whatever its dates say. Generation
 * numbers are never reused (.highwater), so a mark left for a pruned generation can never apply
 * to another certificate.
 */
import path from 'node:path';
import { errnoCode } from '../../errors.js';
import { fsOps } from '../../io/fs.js';
import { replaceFile } from '../../io/durable.js';
import { ACME_DIR, ACME_REVOKED_PREFIX, STATE_FILE_MODE } from '../../store/layout.js';
import { checkLayoutFile } from '../../store/store-path.js';
import { acmeDir } from './account.js';

/** Marks generation `n` of the store at `storeDir` as revoked, durably. */
export async function markRevoked(storeDir: string, n: number, at: Date): Promise<void> {
  const dir = (await acmeDir(storeDir, true))!;
  await replaceFile(
    path.join(dir, `${ACME_REVOKED_PREFIX}${n}`),
    Buffer.from(`${at.toISOString()}\n`),
    STATE_FILE_MODE,
  );
}

/** Whether generation `n` was marked revoked. Raises CERTSWAP_UNSAFE_STORE for a mark that is not our file. */
export async function isMarkedRevoked(storeDir: string, n: number): Promise<boolean> {
  if ((await acmeDir(storeDir, false)) === null) return false;
  const file = path.join(storeDir, ACME_DIR, `${ACME_REVOKED_PREFIX}${n}`);
  try {
    // lstat: a link planted at this name is refused, never followed.
    checkLayoutFile(await fsOps.lstat(file), file, { generation: n });
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
