/** Reading the store's small state files (.history, .highwater). */
import { errnoCode } from './errors.js';
import { closeInBackground, fsOps, O } from './fs.js';

/** The file's text (at most `maxBytes`), or null if it does not exist. Never follows a symlink. */
export async function readStateFile(file: string, maxBytes = 64 * 1024): Promise<string | null> {
  let fd: number;
  try {
    fd = await fsOps.open(file, O.O_RDONLY | O.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
  try {
    // Unzeroed: only the bytes read are returned. (Zeroing 64 KiB per file was most of the cost
    // of status over thousands of generations.)
    const buf = Buffer.allocUnsafe(maxBytes);
    let len = 0;
    for (let n; len < buf.length && (n = await fsOps.read(fd, buf, len, buf.length - len)) > 0; ) len += n;
    return buf.subarray(0, len).toString('utf8');
  } finally {
    closeInBackground(fd);
  }
}
