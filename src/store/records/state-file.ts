/**
 * Reading the store's small files (.history, .highwater, .trial, a generation's .meta.json). They
 * are inside the store, but a broken provisioning system or an earlier compromise may have put
 * anything at their names: a link (never followed), a FIFO (never read: opening one for reading
 * waits for a writer, which would hang the command with the store lock held), a device, a
 * directory, a huge file. Each is refused with a code before a byte is read.
 */
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import { closeInBackground, fsOps, O } from '../../io/fs.js';
import { checkLayoutFile } from '../store-path.js';

/**
 * The file's text, or null if it does not exist. Raises CERTSWAP_UNSAFE_STORE when the entry is
 * not a regular file that is ours and writable only by us (see checkLayoutFile), and
 * CERTSWAP_CORRUPT_STORE when it is larger than `maxBytes`.
 */
export async function readStateFile(file: string, maxBytes = 64 * 1024): Promise<string | null> {
  let fd: number;
  try {
    // O_NOFOLLOW: a link is refused (ELOOP), not followed. O_NONBLOCK: a FIFO opens at once (and
    // is then refused by the fstat below) instead of waiting for a writer.
    fd = await fsOps.open(file, O.O_RDONLY | O.O_NOFOLLOW | O.O_NONBLOCK | O.O_NOCTTY);
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
  try {
    const st = await fsOps.fstat(fd);
    checkLayoutFile(st, file);
    if (st.size > maxBytes) {
      throw new CertswapError(
        ErrorCodes.CORRUPT_STORE,
        `${file} is larger than ${maxBytes} bytes: not a file certswap wrote`,
        { path: file },
      );
    }
    // Unzeroed: only the bytes read are returned. (Zeroing 64 KiB per file was most of the cost
    // of status over thousands of generations.) One byte more than allowed, to see growth.
    const buf = Buffer.allocUnsafe(Math.min(maxBytes, st.size) + 1);
    let len = 0;
    while (len < buf.length) {
      const n = await fsOps.read(fd, buf, len, buf.length - len);
      if (n === 0) break;
      len += n;
    }
    // certswap never changes these files in place (it renames new ones over them): growth
    // since the fstat is someone else writing.
    if (len > st.size)
      throw new CertswapError(ErrorCodes.CORRUPT_STORE, `${file} changed while it was read`, { path: file });
    return buf.subarray(0, len).toString('utf8');
  } finally {
    closeInBackground(fd);
  }
}
