/**
 * Reading a small file that someone else may have put in place (an input pair, a state file of the
 * store): the one rule for all of them. The open never blocks (a FIFO would wait for a writer) and
 * never takes a terminal; with `noFollow` a link at the last component is refused. Then fstat
 * decides, before a byte is read: the caller's own check, a regular file, within the bound. The
 * read itself is bounded too: a file that grows past the bound while it is read is refused.
 */
import { closeInBackground, fsOps, O_UNTRUSTED_READ, O, type Stats } from './fs.js';

export interface BoundedRead {
  maxBytes: number;
  /** Refuse a symbolic link as the last component (ELOOP). */
  noFollow?: boolean;
  /** The path to open when it is not `file` itself (a name under a held directory descriptor). */
  via?: string;
  /** Sees the descriptor's fstat first (the store's ownership and mode rules); throws to refuse. */
  check?: (st: Stats) => void;
  /** The error for a directory, FIFO, socket or device. */
  notRegular: (st: Stats) => Error;
  /** The error for a file larger than maxBytes. */
  tooLarge: () => Error;
}

/** The file's bytes; the open's own errors (ENOENT, EACCES, ELOOP, ENXIO...) are the caller's to name. */
export async function readBounded(file: string, o: BoundedRead): Promise<Buffer> {
  const fd = await fsOps.open(o.via ?? file, O_UNTRUSTED_READ | (o.noFollow ? O.O_NOFOLLOW : 0));
  try {
    const st = await fsOps.fstat(fd);
    o.check?.(st);
    if (!st.isFile()) throw o.notRegular(st);
    if (st.size > o.maxBytes) throw o.tooLarge();
    // Sized by fstat plus one byte, so that EOF is seen in the same buffer; a file that grew
    // since fstat gets a bigger buffer, up to one byte past the bound, which is then refused.
    let buf = Buffer.allocUnsafe(st.size + 1);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, o.maxBytes + 1));
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = await fsOps.read(fd, buf, len, buf.length - len);
      if (n === 0) break;
      len += n;
      if (len > o.maxBytes) throw o.tooLarge();
    }
    return buf.subarray(0, len);
  } finally {
    closeInBackground(fd);
  }
}
