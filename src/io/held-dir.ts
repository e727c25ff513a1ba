/**
 * A directory held by a descriptor opened from `/` one component at a time, none of them a link,
 * and names in it reached through the descriptor (/proc/self/fd/N/NAME: Node has no openat).
 *
 * For a file root writes in a directory whose parent another user owns: Debian's node_exporter
 * textfile directory, /var/lib/prometheus/node-exporter, is root's, but /var/lib/prometheus is the
 * prometheus user's, who can rename node-exporter away and put a link to any directory in its
 * place. A path looked up at each use would then lead root to create, replace, read and unlink
 * files in that directory. Walked this way, a link anywhere on the way is refused (ENOTDIR; ELOOP
 * on some kernels), and a rename on the way after the walk no longer changes which directory the
 * descriptor names. The cost: the path must be given without links in it (its real path), and
 * without /proc mounted nothing is reached (ENOENT): it never falls back to paths.
 */
import { fsOps, O, O_PATH } from './fs.js';

/**
 * Runs `fn` with `at(name)`, the path of `name` in directory `dir` (absolute) as it was walked;
 * the descriptor is closed when `fn` settles. Raises the errno code of the walk (ENOENT, EACCES,
 * ENOTDIR or ELOOP for a link or a file on the way) and whatever `fn` raises.
 */
export async function withHeldDir<T>(dir: string, fn: (at: (name: string) => string) => Promise<T>): Promise<T> {
  let fd = await fsOps.open('/', O_PATH | O.O_DIRECTORY);
  try {
    for (const name of dir.split('/').filter((n) => n !== '')) {
      // O_PATH|O_NOFOLLOW alone would open a link itself; with O_DIRECTORY a link fails.
      const next = await fsOps.open(`/proc/self/fd/${fd}/${name}`, O_PATH | O.O_DIRECTORY | O.O_NOFOLLOW);
      const prev = fd;
      fd = next;
      await fsOps.close(prev);
    }
    const held = fd;
    return await fn((name) => `/proc/self/fd/${held}/${name}`);
  } finally {
    await fsOps.close(fd).catch(() => undefined);
  }
}
