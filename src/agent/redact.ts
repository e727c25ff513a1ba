/**
 * Removing private keys from what outside commands print. A provisioner that echoes its key to
 * stderr (a debug flag, a failing `openssl` invocation) must not put the key in an error message,
 * a log line or the CLI's output. Every PEM block whose label ends in PRIVATE KEY (PRIVATE KEY,
 * RSA/EC/DSA PRIVATE KEY, ENCRYPTED PRIVATE KEY, OPENSSH PRIVATE KEY) becomes REDACTED, from its
 * BEGIN line to its END line; a block with no END hides everything after its BEGIN.
 *
 * It works on a stream because runCommand keeps only the tail of stderr: redacting the tail
 * afterwards could miss a block whose BEGIN line fell off the front of it. The redactor keeps at
 * most OVERLAP characters between chunks (so a BEGIN or END line split across two chunks is
 * still seen), whatever the length of a line, and it does not care about newlines, so a key
 * printed on one line with literal `\n` escapes (JSON) is found as well.
 */

/** What a private key block is replaced with. */
export const REDACTED = '[private key redacted]';

/** Labels are bounded so that a marker has a bounded length, which bounds the overlap. */
const LABEL = '[A-Z0-9 ]{0,40}';
const BEGIN = new RegExp(`-----BEGIN ${LABEL}PRIVATE KEY-----`);
const END = new RegExp(`-----END ${LABEL}PRIVATE KEY-----`);
/** Longer than the longest marker (5 + 6 + 40 + 11 + 5 characters) minus one. */
const OVERLAP = 80;

/** A streaming redactor: feed it chunks with push(), then call end() once. */
export class PrivateKeyRedactor {
  private pending = '';
  private inside = false;

  /** Takes the next chunk; returns the text that is now known to be safe to keep. */
  push(chunk: string): string {
    let text = this.pending + chunk;
    let out = '';
    for (;;) {
      if (this.inside) {
        const m = END.exec(text);
        if (!m) {
          // Still inside the key: drop it, but keep enough to recognise an END line split here.
          this.pending = text.slice(-OVERLAP);
          return out;
        }
        text = text.slice(m.index + m[0].length);
        this.inside = false;
      } else {
        const m = BEGIN.exec(text);
        if (!m) {
          // A BEGIN line starting before the overlap would have been found whole: emit that part.
          const keep = Math.min(text.length, OVERLAP);
          this.pending = text.slice(text.length - keep);
          return out + text.slice(0, text.length - keep);
        }
        out += text.slice(0, m.index) + REDACTED;
        text = text.slice(m.index + m[0].length);
        this.inside = true;
      }
    }
  }

  /** How many characters are held back, waiting for the next chunk: never more than OVERLAP. */
  get held(): number {
    return this.pending.length;
  }

  /** The rest of the stream. Inside an unterminated block, the rest is key: nothing is returned. */
  end(): string {
    const rest = this.inside ? '' : this.pending;
    this.pending = '';
    this.inside = false;
    return rest;
  }
}

/** Redacts a whole text at once. */
export function redactPrivateKeys(text: string): string {
  const r = new PrivateKeyRedactor();
  return r.push(text) + r.end();
}
