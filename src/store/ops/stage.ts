/**
 * stage: turn a certificate, key and optional CA bundle into a new, complete, validated
 * generation directory. Takes a LockedContext: runs with the store lock held. The invariants
 * (I1-I6) and these steps are docs/design.md's, "install and stage".
 */
import path from 'node:path';
import { CertswapError, ErrorCodes } from '../../errors.js';
import { settleAll } from '../../io/concurrency.js';
import { stagedDigests } from '../records/meta.js';
import { fsyncDir, makeDir, removeTree, renameDurable, writeNewFile } from '../../io/durable.js';
import type { LockedContext } from '../locked.js';
import { readGenerationFilesFrom } from '../generations.js';
import { nextGeneration } from '../records/highwater.js';
import {
  CA_FILE,
  CERT_FILE,
  DIR_MODE,
  KEY_FILE,
  KEY_MODE,
  META_FILE,
  PUBLIC_FILE_MODE,
  stagingName,
} from '../layout.js';
import type { ValidatedPair } from '../../pki/validate.js';
import { ensureGenerationsDir } from '../store-path.js';

export interface StageResult {
  generation: number;
  pair: ValidatedPair;
}

/**
 * 1. The input was validated in memory by the caller, before the lock was taken (GenerationStore
 *    .stage): a refused pair is refused before anything is created, so it leaves no trace on
 *    disk (I3), and a costly input never holds the lock.
 * 2. Create generations/.staging-<pid>-<random> (0700). Its name can never be taken for a
 *    generation, so a crash at any later step leaves only a leftover that recover removes.
 * 3. Write cert.pem (0644), key.pem (0600, created with that mode: no window in which the key is
 *    readable by others), ca.pem, .meta.json; each is fsynced, so that its data is on disk before
 *    any name that makes it reachable. The four are written concurrently: none is reachable
 *    before step 6, so their order does not matter, and the file system can commit the fsyncs
 *    together.
 * 4. fsync the staging directory: the four names inside it must be durable before the directory
 *    is renamed, or a power cut after step 6 could leave generations/<n> existing but empty.
 * 5. Read the files back from disk and compare them byte for byte with what step 1 validated:
 *    what will be served is what is on disk, not what we meant to write. (Equal bytes validate
 *    equally, so the pair is not parsed a second time.)
 * 6. Rename the staging directory to generations/<n> (n above every number ever used) and fsync
 *    generations/. Before the rename the generation does not exist; after it, it is complete.
 *    Only after the fsync is it reported.
 * On any failure the staging directory is removed (and if we die first, recover removes it).
 */
export async function stageLocked(ctx: LockedContext, pair: ValidatedPair, stagedAt: Date): Promise<StageResult> {
  await ensureGenerationsDir(ctx.paths);
  const staging = path.join(ctx.paths.generations, stagingName());
  await makeDir(staging, DIR_MODE); // 2
  let committed = false;
  try {
    const files: Array<[string, string, number]> = [
      [CERT_FILE, pair.certPem, PUBLIC_FILE_MODE],
      [KEY_FILE, pair.keyPem, KEY_MODE],
    ];
    if (pair.caPem !== undefined) files.push([CA_FILE, pair.caPem, PUBLIC_FILE_MODE]);
    files.push([
      META_FILE,
      `${JSON.stringify({ ...pair.info, stagedAt: stagedAt.toISOString(), sha256: stagedDigests(pair) })}\n`,
      PUBLIC_FILE_MODE,
    ]);
    // 3
    await settleAll(files.map(([name, text, mode]) => writeNewFile(path.join(staging, name), Buffer.from(text), mode)));
    await fsyncDir(staging); // 4

    const onDisk = await readGenerationFilesFrom(staging, 0); // 5
    if (
      onDisk.cert.toString() !== pair.certPem ||
      onDisk.key.toString() !== pair.keyPem ||
      onDisk.ca?.toString() !== pair.caPem
    ) {
      throw new CertswapError(
        ErrorCodes.READBACK_MISMATCH,
        `${staging}: files read back differ from what was written`,
        {
          path: staging,
        },
      );
    }

    const generation = await nextGeneration(ctx.paths);
    await renameDurable(staging, ctx.paths.generationDir(generation)); // 6
    committed = true;
    ctx.log.info(
      { event: 'stage', generation, fingerprint: pair.info.fingerprint, notAfter: pair.info.notAfter },
      'staged',
    );
    return { generation, pair };
  } finally {
    if (!committed) await removeTree(staging).catch(() => undefined);
  }
}
