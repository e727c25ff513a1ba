/**
 * The http-01 webroot responder: the key authorization written to
 * <webroot>/.well-known/acme-challenge/<token> for the web server already there, and removed
 * afterwards with the directories made for it.
 *
 * Root writes in a tree another user (the web server's) may own and rename in at any moment.
 * A check of a path followed by a use of the same path leaves that user the time between the two
 * to put a link in a directory's place: root would then create the token, chmod a directory it
 * just made (chmod follows links: /root made 0755) or remove files wherever the link points.
 * So every step below the webroot goes through a descriptor held from its check on
 * (/proc/self/fd/N/NAME, which the kernel resolves in the directory opened, whatever was renamed
 * or linked since; Node has no openat):
 *
 *   1. The webroot is opened (O_DIRECTORY; the configured path is the operator's choice).
 *   2. `.well-known`, then `acme-challenge`: made (0755: the web server must read the token)
 *      when missing, then opened through the parent's descriptor with O_NOFOLLOW|O_DIRECTORY, so a
 *      link or a file in its place is refused; a directory made here is given its mode with
 *      fchmod, on the descriptor.
 *   3. The token file is created through acme-challenge's descriptor, O_EXCL|O_NOFOLLOW.
 *   4. close(): each token unlinked and each directory made here removed (rmdir: only when
 *      empty) through its parent's descriptor, then the descriptors closed.
 */
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import { fsOps, O } from '../../io/fs.js';
import { writeNewFile } from '../../io/durable.js';
import type { Challenge, Responder } from './challenges.js';

const WELL_KNOWN = ['.well-known', 'acme-challenge'] as const;
const DIR_FLAGS = O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW;

/** The path that reaches `name` in the directory open as `fd`, as it was when opened. */
function at(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

export class Http01Webroot implements Responder {
  /** The webroot, .well-known and acme-challenge, open; empty until the first present(). */
  private fds: number[] = [];
  /** Per directory of `fds` after the first: whether it was made here (and so is removed). */
  private made: boolean[] = [];
  private readonly files: string[] = [];

  constructor(
    private readonly webroot: string,
    private readonly tokenName: (token: string) => string,
  ) {}

  private async open(): Promise<number> {
    if (this.fds.length) return this.fds[this.fds.length - 1]!;
    // 1. The webroot.
    this.fds.push(await fsOps.open(this.webroot, O.O_RDONLY | O.O_DIRECTORY));
    // 2. Each directory below it, through its parent's descriptor.
    let where = this.webroot;
    for (const name of WELL_KNOWN) {
      const parent = this.fds[this.fds.length - 1]!;
      where = `${where}/${name}`;
      let made = true;
      try {
        await fsOps.mkdir(at(parent, name), 0o700);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        made = false;
      }
      let fd: number;
      try {
        fd = await fsOps.open(at(parent, name), DIR_FLAGS);
      } catch (err) {
        if (errnoCode(err) !== 'ELOOP' && errnoCode(err) !== 'ENOTDIR') throw err;
        throw new CertswapError(ErrorCodes.PROVISION_FAILED, `http-01 webroot: ${where} is not a directory (a link?)`, {
          path: where,
        });
      }
      this.fds.push(fd);
      this.made.push(made);
      // Made 0700 and opened first, so nobody can use it before it has its final mode; on the
      // descriptor, so the mode goes to the directory made here, never through a link.
      if (made) await fsOps.fchmod(fd, 0o755, where);
    }
    return this.fds[this.fds.length - 1]!;
  }

  async present(c: Challenge): Promise<void> {
    const name = this.tokenName(c.token);
    const dir = await this.open();
    // 3. The token, in the directory checked.
    await writeNewFile(at(dir, name), Buffer.from(c.keyAuthorization), 0o644);
    this.files.push(name);
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    // 4. Everything through the descriptors, deepest first.
    const fds = this.fds.splice(0);
    const made = this.made.splice(0);
    const dir = fds[fds.length - 1];
    for (const f of this.files.splice(0)) if (dir !== undefined) await fsOps.unlink(at(dir, f)).catch(() => undefined);
    for (let i = made.length - 1; i >= 0; i--) {
      if (made[i]) await fsOps.rmdir(at(fds[i]!, WELL_KNOWN[i]!)).catch(() => undefined);
    }
    for (const fd of fds.reverse()) await fsOps.close(fd).catch(() => undefined);
  }
}
