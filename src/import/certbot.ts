/**
 * A certbot lineage: <config>/live/NAME/{cert,chain,fullchain,privkey}.pem, each a symbolic link
 * to <config>/archive/NAME/<file>N.pem, N counting renewals. certbot repoints the four links one
 * at a time, so a lineage read while certbot renews, or after it died between two links, mixes
 * two renewals: the links must all name the same N.
 *
 * certswap reads the lineage as root, and a link may point anywhere (/etc/shadow, a FIFO that
 * would hang the read, /dev/zero). The rule, step by step:
 * 1. Resolve the directory the user named once (realpath): its path is the user's to choose. It
 *    must be a directory NAME inside a directory named `live`; its grandparent is <config>.
 * 2. <config>/archive and <config>/archive/NAME must be directories, not links: the link targets
 *    are checked by their spelling below, which holds only if nothing on their way is a link.
 *    These, <config>, live/ and live/NAME must be writable by their owner alone (lineage.ts).
 * 3. Each of the four entries is lstat'ed: a link must name, once resolved lexically against
 *    live/NAME, a file directly inside <config>/archive/NAME called <file>N.pem; a regular file is
 *    read where it is (a lineage copied without its links); anything else is refused.
 * 4. Each file is opened with O_NOFOLLOW and read bounded (io/input.ts): a link planted in the
 *    archive, a FIFO, a device or a file over 1 MiB is refused before a byte is read.
 * Only the owner of those directories (root, for certbot) could still swap one between step 2 and
 * step 4, and it decides what the lineage holds anyway.
 */
import path from 'node:path';
import { fsOps } from '../io/fs.js';
import { readInputFile } from '../io/input.js';
import { badLineage, blocksOf, checkLineageDir, sameBlocks, typed } from './lineage.js';
import type { ImportedPair } from './source.js';

const FILES = ['cert', 'chain', 'fullchain', 'privkey'] as const;
type LineageFile = (typeof FILES)[number];

/** Where one entry of live/NAME leads: the file to open and, for a link, its renewal number. */
interface Entry {
  file: string;
  version?: number;
}

/** Steps 1 and 2: the real live/NAME directory and the archive directory its links must stay in. */
async function lineageDirs(live: string): Promise<{ live: string; archive: string }> {
  const real = await typed(fsOps.realpath, live, 'realpath');
  const name = path.basename(real);
  if (path.basename(path.dirname(real)) !== 'live') {
    throw badLineage(live, `is not a certbot lineage: expected <config>/live/NAME, got ${real}`);
  }
  const config = path.dirname(path.dirname(real));
  const archive = path.join(config, 'archive', name);
  for (const dir of [config, path.dirname(real), real, path.dirname(archive), archive]) await checkLineageDir(dir);
  return { live: real, archive };
}

/** Step 3 for one entry. */
async function entry(dirs: { live: string; archive: string }, which: LineageFile): Promise<Entry> {
  const p = path.join(dirs.live, `${which}.pem`);
  if (!(await typed(fsOps.lstat, p, 'lstat')).isSymbolicLink()) return { file: p };
  // Resolved by its spelling, not followed: steps 1 and 2 left no link on the way to the archive.
  const target = path.resolve(dirs.live, await typed(fsOps.readlink, p, 'readlink'));
  const version = new RegExp(`^${which}([1-9][0-9]{0,8})\\.pem$`).exec(path.basename(target))?.[1];
  if (path.dirname(target) !== dirs.archive || version === undefined) {
    throw badLineage(p, `links to ${target}, outside the lineage (expected ${dirs.archive}/${which}N.pem)`);
  }
  return { file: target, version: Number(version) };
}

/**
 * Reads certbot's live/NAME (steps above): the key from privkey.pem, the chain from fullchain.pem,
 * which must be cert.pem followed by chain.pem. Raises CERTSWAP_BAD_LINEAGE (not under live/, a
 * link out of the lineage, links to different renewals, fullchain.pem not cert.pem + chain.pem),
 * the input file codes, and the errno codes (ENOENT for a missing lineage or file, EACCES, ELOOP).
 */
export async function readCertbotLineage(live: string): Promise<ImportedPair> {
  const dirs = await lineageDirs(live);
  const entries = {} as Record<LineageFile, Entry>;
  for (const which of FILES) entries[which] = await entry(dirs, which);
  const versions = new Set(FILES.map((f) => entries[f].version));
  if (versions.size > 1) {
    const list = FILES.map((f) => `${f}.pem -> ${entries[f].version ?? 'a file'}`).join(', ');
    throw badLineage(live, `the links name different renewals (${list}): was certbot interrupted? Run it again`);
  }
  const read = async (which: LineageFile): Promise<Buffer> =>
    readInputFile(entries[which].file, which === 'privkey' ? 'key' : 'cert', { noFollow: true });
  const [cert, chain, fullchain, key] = [
    await read('cert'),
    await read('chain'),
    await read('fullchain'),
    await read('privkey'),
  ];
  const full = blocksOf(fullchain, entries.fullchain.file);
  if (!sameBlocks(full, [...blocksOf(cert, entries.cert.file), ...blocksOf(chain, entries.chain.file)])) {
    throw badLineage(entries.fullchain.file, 'is not cert.pem followed by chain.pem');
  }
  return {
    input: { cert: fullchain, key, certPath: entries.fullchain.file, keyPath: entries.privkey.file },
    files: FILES.map((f) => entries[f].file),
  };
}
