/**
 * Reading the files a user or provisioner hands to stage/install. They are untrusted: a FIFO must
 * not hang us, a 1 GiB sparse file must not be read, a directory must be named as such.
 */
import { CertswapError, ErrorCodes, errnoCode, isErrorCode, type FileRole } from '../errors.js';
import type { Stats } from './fs.js';
import { readBounded } from './bounded-read.js';
import { MAX_INPUT_BYTES, type PairInput } from '../pki/validate.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'is a symbolic link or has too many levels of them',
  ENOTDIR: 'a path component is not a directory',
};

/**
 * Reads at most MAX_INPUT_BYTES of a regular file. Raises CERTSWAP_INPUT_NOT_FILE (directory,
 * FIFO, device), CERTSWAP_INPUT_TOO_LARGE, or the errno code (ENOENT, EACCES, ELOOP) with the
 * file named. `noFollow` refuses a symlink as the last component (files inside the store);
 * `check` sees the descriptor's fstat before anything else is decided (the store's own rules);
 * `via` is the path opened in its place (a name under a directory descriptor held since it was
 * checked), `file` the one errors name.
 */
export async function readInputFile(
  file: string,
  role: FileRole,
  opts: { noFollow?: boolean; via?: string; check?: (st: Stats) => void } = {},
): Promise<Buffer> {
  try {
    return await readBounded(file, {
      maxBytes: MAX_INPUT_BYTES,
      noFollow: opts.noFollow ?? false,
      ...(opts.via !== undefined ? { via: opts.via } : {}),
      ...(opts.check ? { check: opts.check } : {}),
      notRegular: (st) => notFile(role, file, st.isDirectory() ? 'is a directory' : 'is not a regular file'),
      tooLarge: () => tooLarge(role, file),
    });
  } catch (err) {
    if (err instanceof CertswapError) throw err;
    const errno = errnoCode(err);
    const code = errno !== undefined && isErrorCode(errno) ? errno : ErrorCodes.INTERNAL;
    throw new CertswapError(code, `${role} ${file}: ${REASONS[code] ?? (err as Error).message}`, {
      file: role,
      path: file,
      syscall: 'open',
      cause: err,
    });
  }
}

function tooLarge(role: FileRole, file: string): CertswapError {
  return new CertswapError(ErrorCodes.INPUT_TOO_LARGE, `${role} ${file}: larger than ${MAX_INPUT_BYTES} bytes`, {
    file: role,
    path: file,
  });
}

function notFile(role: FileRole, file: string, what: string): CertswapError {
  return new CertswapError(ErrorCodes.INPUT_NOT_FILE, `${role} ${file}: ${what}`, { file: role, path: file });
}

export interface PairFiles {
  cert: string;
  key: string;
  ca?: string | undefined;
}

/** Reads a certificate, key and optional CA bundle from the given paths, ready for stage. */
export async function readPairFiles(files: PairFiles): Promise<PairInput> {
  const input: PairInput = {
    cert: await readInputFile(files.cert, 'cert'),
    key: await readInputFile(files.key, 'key'),
    certPath: files.cert,
    keyPath: files.key,
  };
  if (files.ca !== undefined) {
    input.ca = await readInputFile(files.ca, 'ca');
    input.caPath = files.ca;
  }
  return input;
}
