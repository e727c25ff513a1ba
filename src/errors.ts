/**
 * Every error certswap raises is a CertswapError with a stable `code`. Callers (the CLI, the
 * agent, tests) switch on the code, never on the message. File system errors keep their own
 * code (EIO, ENOSPC, EACCES...) and carry the syscall and path that failed.
 */

export const ErrorCodes = {
  // Input files given to stage/install.
  INPUT_EMPTY: 'CERTSWAP_INPUT_EMPTY',
  INPUT_TOO_LARGE: 'CERTSWAP_INPUT_TOO_LARGE',
  INPUT_NOT_FILE: 'CERTSWAP_INPUT_NOT_FILE',
  NOT_PEM: 'CERTSWAP_NOT_PEM',
  // Certificate and key validation.
  BAD_CERT: 'CERTSWAP_BAD_CERT',
  BAD_KEY: 'CERTSWAP_BAD_KEY',
  KEY_ENCRYPTED: 'CERTSWAP_KEY_ENCRYPTED',
  UNSUPPORTED_KEY: 'CERTSWAP_UNSUPPORTED_KEY',
  KEY_MISMATCH: 'CERTSWAP_KEY_MISMATCH',
  NOT_YET_VALID: 'CERTSWAP_NOT_YET_VALID',
  EXPIRED: 'CERTSWAP_EXPIRED',
  LIFETIME_TOO_SHORT: 'CERTSWAP_LIFETIME_TOO_SHORT',
  CHAIN_ORDER: 'CERTSWAP_CHAIN_ORDER',
  CHAIN_TOO_LONG: 'CERTSWAP_CHAIN_TOO_LONG',
  UNTRUSTED: 'CERTSWAP_UNTRUSTED',
  NAME_MISMATCH: 'CERTSWAP_NAME_MISMATCH',
  EKU_MISSING: 'CERTSWAP_EKU_MISSING',
  // Store state and arguments.
  BAD_ARGUMENT: 'CERTSWAP_BAD_ARGUMENT',
  BAD_GENERATION: 'CERTSWAP_BAD_GENERATION',
  NO_SUCH_GENERATION: 'CERTSWAP_NO_SUCH_GENERATION',
  INCOMPLETE_GENERATION: 'CERTSWAP_INCOMPLETE_GENERATION',
  NO_ACTIVE: 'CERTSWAP_NO_ACTIVE',
  NO_ROLLBACK_TARGET: 'CERTSWAP_NO_ROLLBACK_TARGET',
  NO_VALID_GENERATION: 'CERTSWAP_NO_VALID_GENERATION',
  UNSAFE_STORE: 'CERTSWAP_UNSAFE_STORE',
  CORRUPT_STORE: 'CERTSWAP_CORRUPT_STORE',
  /** The files stage read back from disk differ from what it wrote: the disk or file system is failing. */
  READBACK_MISMATCH: 'CERTSWAP_READBACK_MISMATCH',
  BUSY: 'CERTSWAP_BUSY',
  TRIAL_PENDING: 'CERTSWAP_TRIAL_PENDING',
  NO_TRIAL: 'CERTSWAP_NO_TRIAL',
  // The renewal agent.
  CONFIG_INVALID: 'CERTSWAP_CONFIG_INVALID',
  PROVISION_FAILED: 'CERTSWAP_PROVISION_FAILED',
  CHECK_FAILED: 'CERTSWAP_CHECK_FAILED',
  HOOK_FAILED: 'CERTSWAP_HOOK_FAILED',
  // Enrolment against a CA server (csr provisioner).
  /** The CA could not be reached, timed out, or answered 5xx, on every attempt. Retried later. */
  CA_UNAVAILABLE: 'CERTSWAP_CA_UNAVAILABLE',
  /** The CA refused the request (4xx: bad auth key, policy); retrying the same request will not help. */
  CA_REFUSED: 'CERTSWAP_CA_REFUSED',
  /** The CA answered with something that is not a certificate for our key and identity. */
  CA_BAD_ANSWER: 'CERTSWAP_CA_BAD_ANSWER',
  // Enrolment over ACME (acme provisioner).
  /** The ACME server found a challenge invalid; the message carries its problem detail. */
  ACME_CHALLENGE_FAILED: 'CERTSWAP_ACME_CHALLENGE_FAILED',
  /** The ACME server answered rateLimited; `retryAt` says when it may be asked again. */
  ACME_RATE_LIMITED: 'CERTSWAP_ACME_RATE_LIMITED',
  // Importing a pair another ACME client obtained (certswap import).
  /**
   * The source is not the lineage it should be: certbot's live/NAME not under live/, a link that
   * leaves the lineage, files from different renewals, a chain file that disagrees with the leaf's.
   */
  BAD_LINEAGE: 'CERTSWAP_BAD_LINEAGE',
  // Consumers: who may read a generation, and what a server presents.
  /** A user named for a store's files (--owner, access.owner) that the system does not know. */
  UNKNOWN_USER: 'CERTSWAP_UNKNOWN_USER',
  /** A group named for a store's files (--group, access.group) that the system does not know. */
  UNKNOWN_GROUP: 'CERTSWAP_UNKNOWN_GROUP',
  /** The server does not present the active generation's certificate (verify --served, hooks.verify). */
  SERVED_MISMATCH: 'CERTSWAP_SERVED_MISMATCH',
  // The command line and bugs.
  /** A bad command line (exit 2). */
  USAGE: 'CERTSWAP_USAGE',
  /** An error without a code: a bug, reported rather than escaping untyped. */
  INTERNAL: 'CERTSWAP_INTERNAL',
} as const;

export type CertswapCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The errno code of a file system error (EIO, ENOSPC, EACCES...), which keeps its own code. */
export type ErrnoCode = `E${string}`;

/** Every code a CertswapError carries: a registered certswap code, or an errno code. */
export type ErrorCode = CertswapCode | ErrnoCode;

/** Whether `code` is a registered certswap code (not an errno). */
export function isCertswapCode(code: string): code is CertswapCode {
  return (Object.values(ErrorCodes) as string[]).includes(code);
}

/** Whether `code` is one a CertswapError may carry. */
export function isErrorCode(code: string): code is ErrorCode {
  return /^E[A-Z0-9]+$/.test(code) || isCertswapCode(code);
}

/** Which input or stored file an error is about; lets messages name the file. */
export type FileRole = 'cert' | 'key' | 'ca' | 'trust' | 'config' | 'password';

export interface ErrorContext {
  path?: string;
  file?: FileRole;
  generation?: number;
  syscall?: string;
  /** When the server that refused may be asked again (ISO 8601): its Retry-After. */
  retryAt?: string;
  cause?: unknown;
}

export class CertswapError extends Error {
  readonly code: ErrorCode;
  readonly path?: string;
  readonly file?: FileRole;
  readonly generation?: number;
  readonly syscall?: string;
  readonly retryAt?: string;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'CertswapError';
    this.code = code;
    if (context.path !== undefined) this.path = context.path;
    if (context.file !== undefined) this.file = context.file;
    if (context.generation !== undefined) this.generation = context.generation;
    if (context.syscall !== undefined) this.syscall = context.syscall;
    if (context.retryAt !== undefined) this.retryAt = context.retryAt;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.path !== undefined) out.path = this.path;
    if (this.file !== undefined) out.file = this.file;
    if (this.generation !== undefined) out.generation = this.generation;
    if (this.syscall !== undefined) out.syscall = this.syscall;
    if (this.retryAt !== undefined) out.retryAt = this.retryAt;
    return out;
  }
}

export function isCertswapError(err: unknown, code?: ErrorCode): err is CertswapError {
  return err instanceof CertswapError && (code === undefined || err.code === code);
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns any error into a CertswapError. A Node system error keeps its errno code (EIO, ENOSPC)
 * so that callers can tell a full disk from a bad certificate; anything without a code is a bug
 * and is reported as CERTSWAP_INTERNAL rather than escaping untyped.
 */
export function toCertswapError(err: unknown, context: ErrorContext = {}): CertswapError {
  if (err instanceof CertswapError) return err;
  const sys = err as { code?: unknown; syscall?: unknown; path?: unknown; message?: unknown };
  // A code that is neither ours nor an errno (a library's own, ERR_* from Node) is a bug here.
  const code = typeof sys?.code === 'string' && isErrorCode(sys.code) ? sys.code : ErrorCodes.INTERNAL;
  const syscall = typeof sys?.syscall === 'string' ? sys.syscall : context.syscall;
  const path = typeof sys?.path === 'string' ? sys.path : context.path;
  const message = typeof sys?.message === 'string' ? sys.message : String(err);
  return new CertswapError(code, message, { ...context, path, syscall, cause: err });
}
