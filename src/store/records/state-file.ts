/**
 * Reading the store's small files (.history, .highwater, .trial, a generation's .meta.json). They
 * are inside the store, but a broken provisioning system or an earlier compromise may have put
 * anything at their names: a link (never followed), a FIFO (never read: opening one for reading
 * waits for a writer, which would hang the command with the store lock held), a device, a
 * directory, a huge file. Each is refused with a code before a byte is read.
 */
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import { readBounded } from '../../io/bounded-read.js';
import { checkLayoutFile } from '../store-path.js';

/** The largest state file certswap reads: far above what it writes (a .history of 32 lines, a summary). */
export const MAX_STATE_FILE_BYTES = 64 * 1024;

/**
 * The file's text, or null if it does not exist. Raises CERTSWAP_UNSAFE_STORE when the entry is
 * not a regular file that is ours and writable only by us (see checkLayoutFile), and
 * CERTSWAP_CORRUPT_STORE when it is larger than `maxBytes`.
 */
export async function readStateFile(file: string, maxBytes = MAX_STATE_FILE_BYTES): Promise<string | null> {
  try {
    const data = await readBounded(file, {
      maxBytes,
      noFollow: true,
      check: (st) => checkLayoutFile(st, file),
      notRegular: () => new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} is not a regular file`, { path: file }),
      tooLarge: () =>
        new CertswapError(
          ErrorCodes.CORRUPT_STORE,
          `${file} is larger than ${maxBytes} bytes: not a file certswap wrote`,
          {
            path: file,
          },
        ),
    });
    return data.toString('utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP')
      throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} is a symbolic link, not a file`, {
        path: file,
        cause: err,
      });
    // A socket (ENXIO) or a device that refuses to open.
    if (code === 'ENXIO' || code === 'ENODEV')
      throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} is not a regular file`, { path: file, cause: err });
    throw err;
  }
}

/**
 * `text` as a JSON object with exactly the keys `keys` (sorted, comma-separated), or undefined for
 * anything else: the first check of every JSON state record, which then checks each value's type.
 */
export function exactObject(text: string, keys: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return Object.keys(v).sort().join() === keys ? (v as Record<string, unknown>) : undefined;
}
