/**
 * The node_exporter textfile (`metrics.textfile`): the same exposition /metrics serves, written
 * after every look of the agent, for devices where Prometheus scrapes node_exporter and nothing
 * else, and for `agent --once` under a timer (no process stays to be scraped).
 *
 * Written with durable.ts's replaceFile: a temporary beside the file, fsynced, renamed over it,
 * the directory fsynced. node_exporter reads only `*.prom`, and the temporary's name
 * (`.certswap.prom.tmp-PID-XXXX`) does not end in `.prom`: a scrape sees the old file or the new
 * one, never half of one, and a power cut leaves one of the two. Temporaries of a writer that
 * died are removed when the next writer opens. Safe in a directory others may write to: the
 * temporary is created O_EXCL|O_NOFOLLOW under a random name, the rename replaces whatever
 * entry holds the final name without following it, a leftover is unlinked, never followed, and
 * the earlier file is read back only when it is a regular file of this user with one name. Every
 * name is reached through the directory walked from / with no link on the way (held-dir.ts): a
 * user who owns a directory above it cannot swap it for a link to one of root's.
 */
import path from 'node:path';
import { replaceFile, removeDeadTemps } from '../io/durable.js';
import { withHeldDir } from '../io/held-dir.js';
import { readBounded } from '../io/bounded-read.js';
import { errnoCode } from '../errors.js';
import type { Log } from '../store/context.js';
import type { CertswapMetrics } from './metrics.js';
import { parseExposition } from './exposition.js';

/** Readable by node_exporter's user; it holds dates and counters, nothing secret. */
export const TEXTFILE_MODE = 0o644;
/** An earlier textfile larger than this is not read back (ours are a few KB per certificate). */
const MAX_SEED_BYTES = 4 << 20;

export class TextfileWriter {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly metrics: CertswapMetrics,
    private readonly log: Log,
  ) {}

  /**
   * Opens the textfile `file`: removes a dead writer's temporaries and carries the counters and
   * last-renewal times of the file already there over into `metrics` (a timer's `agent --once` is
   * a new process every run; counters that restarted at 0 would hide renewals from increase()).
   * A file that is missing or unreadable is not an error: the counters start at 0.
   */
  static async open(file: string, metrics: CertswapMetrics, log: Log): Promise<TextfileWriter> {
    const name = path.basename(file);
    try {
      // Through the directory as walked (held-dir.ts): a link put in its place is not followed.
      await withHeldDir(path.dirname(file), async (at) => {
        await removeDeadTemps(at(name)).catch((err: unknown) =>
          log.warn({ event: 'textfile', path: file, err: (err as Error).message }, 'could not list textfile leftovers'),
        );
        // Not through a link, and only a file of our own with one name: in a directory that others
        // may write, a file planted there is not our earlier exposition, and its counters and times
        // (a last success in the future silences CertswapRenewalFailing) would be carried on by us.
        const text = await readBounded(file, {
          via: at(name),
          noFollow: true,
          maxBytes: MAX_SEED_BYTES,
          check: (st) => {
            if (st.uid !== process.geteuid?.() || st.nlink !== 1) throw new Error('not a file this user wrote');
          },
          notRegular: () => new Error('not a regular file'),
          tooLarge: () => new Error('too large'),
        });
        metrics.seed(parseExposition(text.toString('utf8')));
      });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') {
        log.warn({ event: 'textfile', path: file, err: (err as Error).message }, 'earlier textfile not read back');
      }
    }
    return new TextfileWriter(file, metrics, log);
  }

  /**
   * Replaces the file with the current exposition, one write at a time (in call order). Raises
   * the file system's error (ENOSPC, EACCES...) after logging it; the old file then stays whole.
   */
  write(): Promise<void> {
    const next = this.writing.then(async () => {
      const text = await this.metrics.text();
      try {
        const name = path.basename(this.file);
        await withHeldDir(path.dirname(this.file), (at) => replaceFile(at(name), Buffer.from(text), TEXTFILE_MODE));
      } catch (err) {
        const code = errnoCode(err);
        // ENOTDIR/ELOOP from the walk: a link (or a file) on the way, which is refused.
        const hint = code === 'ENOTDIR' || code === 'ELOOP' ? ' (a link on the way? give the real path)' : '';
        this.log.warn(
          { event: 'textfile', path: this.file, code },
          `could not write ${this.file}: ${(err as Error).message}${hint}`,
        );
        throw err;
      }
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
