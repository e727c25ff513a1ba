/**
 * Who may read a generation: the owner, group and modes a consumer that runs as another user
 * (mosquitto, postgres, a Java service) needs, after Debian's ssl-cert convention: the key 0640
 * and group-owned by the consumer's group, the directories on the way to `current` 0710 (that
 * group may pass through them, nobody else may enter), the certificate 0644 or 0640.
 *
 * What never changes: the store's files stay writable by their owner only, and that owner is root
 * or the user certswap runs as (io/ownership.ts). A consumer reads through its group; it never
 * owns a file, or it could rewrite a key that root later activates. So `owner` is refused unless it
 * is root or us, and no mode may carry a write bit for group or others.
 */
import { CertswapError, ErrorCodes } from '../errors.js';
import type { Owner } from '../io/durable.js';
import { isTrustedOwner } from '../io/ownership.js';
import { lookupGroup, lookupUser } from '../io/principals.js';
import { DIR_MODE, KEY_MODE, PUBLIC_FILE_MODE } from './layout.js';

/** How a caller asks for consumer access (CLI flags, the agent's `access`). */
export interface AccessOptions {
  /** User (name or uid) owning the files; root or the user certswap runs as. */
  owner?: string;
  /** Group (name or gid) the key and directories are opened to. */
  group?: string;
  /** Mode of key.pem and of every file holding the key (bundle.pem, cert.p12); default 0640 with a group, else 0600. */
  keyMode?: number;
  /** Mode of cert.pem, ca.pem and fullchain.pem; default 0644. */
  certMode?: number;
}

/** Access resolved to numbers, before anything is staged. */
export interface Access {
  owner: Owner;
  keyMode: number;
  certMode: number;
  /** Mode of the store directory, generations/ and the generation: 0710 with a group, else 0700. */
  dirMode: number;
}

/** The modes the group bit opens to a consumer's group. */
export const GROUP_KEY_MODE = 0o640;
export const GROUP_DIR_MODE = 0o710;
/** The most a key file may allow: never anything for others, never a write bit but the owner's. */
const MAX_KEY_MODE = 0o640;
const MAX_CERT_MODE = 0o644;

function badMode(what: string, mode: number, max: number): CertswapError {
  return new CertswapError(
    ErrorCodes.BAD_ARGUMENT,
    `${what} mode ${mode.toString(8).padStart(4, '0')} is not allowed: ` +
      `the owner must read it, and it may grant no more than ${max.toString(8).padStart(4, '0')}`,
  );
}

function checkMode(what: string, mode: number, max: number): number {
  if (!Number.isInteger(mode) || (mode & ~max) !== 0 || (mode & 0o400) === 0) throw badMode(what, mode, max);
  return mode;
}

/**
 * The access of a store given to no consumer: everything ours (uid and gid certswap runs with),
 * the layout's own modes. What the directories on the way to `current` go back to when a stage
 * asks for no access, so that a group given them earlier loses its way to older generations too.
 */
export function ownAccess(): Access {
  return {
    owner: { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 },
    keyMode: KEY_MODE,
    certMode: PUBLIC_FILE_MODE,
    dirMode: DIR_MODE,
  };
}

/**
 * Resolves `opts` to ids and modes, or null when none is given (the layout's own modes, files
 * owned by whoever certswap runs as). Runs before the lock and before anything is staged, so that
 * an unknown name leaves no trace. Raises CERTSWAP_UNKNOWN_USER, CERTSWAP_UNKNOWN_GROUP, and
 * CERTSWAP_BAD_ARGUMENT for an owner other than root or us, or a mode outside 0640 (key) or
 * 0644 (certificate) or without the owner's read bit.
 */
export async function resolveAccess(opts: AccessOptions | undefined): Promise<Access | null> {
  if (
    !opts ||
    (opts.owner === undefined && opts.group === undefined && opts.keyMode === undefined && opts.certMode === undefined)
  )
    return null;
  const [user, group] = await Promise.all([
    opts.owner === undefined ? null : lookupUser(opts.owner),
    opts.group === undefined ? null : lookupGroup(opts.group),
  ]);
  if (user && !isTrustedOwner(user.uid)) {
    throw new CertswapError(
      ErrorCodes.BAD_ARGUMENT,
      `owner ${JSON.stringify(opts.owner)} (uid ${user.uid}) is neither root nor this user: a consumer reads ` +
        'through --group; owning the files would let it rewrite what certswap activates',
    );
  }
  const own = ownAccess().owner;
  return {
    owner: { uid: user?.uid ?? own.uid, gid: group?.gid ?? own.gid },
    keyMode: checkMode('key', opts.keyMode ?? (group ? GROUP_KEY_MODE : KEY_MODE), MAX_KEY_MODE),
    certMode: checkMode('certificate', opts.certMode ?? PUBLIC_FILE_MODE, MAX_CERT_MODE),
    dirMode: group ? GROUP_DIR_MODE : DIR_MODE,
  };
}
