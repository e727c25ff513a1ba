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
 * 2. <config>, then live/ and live/NAME, archive/ and archive/NAME under it, are opened one below
 *    the other (lineage-dir.ts): each must be a directory, not a link, writable by its
 *    owner alone, and is used from then on through its descriptor, so a directory renamed or
 *    swapped for a link afterwards changes nothing that is read.
 * 3. Each of the four entries is lstat'ed in live/NAME: a link must name, once resolved lexically
 *    against live/NAME, a file directly inside <config>/archive/NAME called <file>N.pem, which is
 *    then opened in the archive directory held open (the link itself is never followed); a regular
 *    file is read where it is (a lineage copied without its links); anything else is refused.
 * 4. Each file is opened with O_NOFOLLOW and read bounded (lineage-dir.ts, io/input.ts): a link
 *    planted in the archive, a hard link (a second name), a FIFO, a device or a file over 1 MiB is
 *    refused before a byte is read.
 * The owner of those directories can still change a file's content between two reads (a renewal
 * does that): the checks below (one renewal, fullchain = cert + chain) and install's validation
 * refuse the mix.
 */
import path from 'node:path';
import { fsOps } from '../io/fs.js';
import { badLineage, blocksOf, sameBlocks, typed } from './lineage.js';
import { LineageDir, readLineageFile } from './lineage-dir.js';
import type { ImportedPair } from './source.js';

const FILES = ['cert', 'chain', 'fullchain', 'privkey'] as const;
type LineageFile = (typeof FILES)[number];

/** Where one entry of live/NAME leads: the file, as a name in a directory held open, and a link's renewal number. */
interface Entry {
  file: string;
  dir: LineageDir;
  name: string;
  version?: number;
}

interface Dirs {
  live: LineageDir;
  archive: LineageDir;
}

/** Steps 1 and 2: live/NAME and the archive directory its links must stay in, held open. */
async function lineageDirs(live: string): Promise<Dirs> {
  const real = await typed(fsOps.realpath, live, 'realpath');
  const name = path.basename(real);
  if (path.basename(path.dirname(real)) !== 'live') {
    throw badLineage(live, `is not a certbot lineage: expected <config>/live/NAME, got ${real}`);
  }
  const config = await LineageDir.open(path.dirname(path.dirname(real)));
  try {
    const liveDir = await config.below(['live', name]);
    try {
      return { live: liveDir, archive: await config.below(['archive', name]) };
    } catch (err) {
      await liveDir.close().catch(() => undefined);
      throw err;
    }
  } finally {
    await config.close();
  }
}

/** Step 3 for one entry. */
async function entry(dirs: Dirs, which: LineageFile): Promise<Entry> {
  const name = `${which}.pem`;
  const file = path.join(dirs.live.path, name);
  const via = dirs.live.at(name);
  if (!(await typed(fsOps.lstat, via, 'lstat', file)).isSymbolicLink()) return { file, dir: dirs.live, name };
  // Resolved by its spelling, never followed: the file is opened in the archive directory held open.
  const target = path.resolve(dirs.live.path, await typed(fsOps.readlink, via, 'readlink', file));
  const base = path.basename(target);
  const version = new RegExp(`^${which}([1-9][0-9]{0,8})\\.pem$`).exec(base)?.[1];
  if (path.dirname(target) !== dirs.archive.path || version === undefined) {
    throw badLineage(file, `links to ${target}, outside the lineage (expected ${dirs.archive.path}/${which}N.pem)`);
  }
  return { file: target, dir: dirs.archive, name: base, version: Number(version) };
}

/**
 * Reads certbot's live/NAME (steps above): the key from privkey.pem, the chain from fullchain.pem,
 * which must be cert.pem followed by chain.pem. Raises CERTSWAP_BAD_LINEAGE (not under live/, a
 * link out of the lineage, links to different renewals, fullchain.pem not cert.pem + chain.pem),
 * the input file codes, and the errno codes (ENOENT for a missing lineage or file, EACCES, ELOOP).
 */
export async function readCertbotLineage(live: string): Promise<ImportedPair> {
  const dirs = await lineageDirs(live);
  try {
    return await readLineage(live, dirs);
  } finally {
    await dirs.live.close();
    await dirs.archive.close();
  }
}

async function readLineage(live: string, dirs: Dirs): Promise<ImportedPair> {
  const entries = {} as Record<LineageFile, Entry>;
  for (const which of FILES) entries[which] = await entry(dirs, which);
  const versions = new Set(FILES.map((f) => entries[f].version));
  if (versions.size > 1) {
    const list = FILES.map((f) => `${f}.pem -> ${entries[f].version ?? 'a file'}`).join(', ');
    throw badLineage(live, `the links name different renewals (${list}): was certbot interrupted? Run it again`);
  }
  const read = (which: LineageFile): Promise<Buffer> =>
    readLineageFile(entries[which].dir, entries[which].name, which === 'privkey' ? 'key' : 'cert');
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
