/**
 * stage: turn a certificate, key and optional CA bundle into a new, complete, validated
 * generation directory. Takes a LockedContext: runs with the store lock held. The invariants
 * (I1-I6) and these steps are docs/design.md's, "install and stage".
 */
import path from 'node:path';
import { CertswapError, ErrorCodes } from '../../errors.js';
import { settleAll } from '../../io/concurrency.js';
import { digestOf, stagedDigests } from '../records/meta.js';
import { fsyncDir, makeDir, removeTree, renameDurable, setDirAccess, writeNewFile } from '../../io/durable.js';
import { readInputFile } from '../../io/input.js';
import { type Access, ownAccess } from '../access.js';
import type { FormatFile } from '../formats.js';
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
import { checkLayoutFile, ensureGenerationsDir } from '../store-path.js';

export interface StageResult {
  generation: number;
  pair: ValidatedPair;
}

/** What a stage writes besides the pair's own files, resolved before the lock (store.ts). */
export interface StageOutput {
  /** Owner, group and modes for a consumer that runs as another user; null: the layout's own. */
  access?: Access | null;
  /** The other formats (fullchain.pem, bundle.pem, cert.p12), already made and checked in memory. */
  files?: FormatFile[];
}

/**
 * 1. The input was validated in memory by the caller, before the lock was taken (GenerationStore
 *    .stage): a refused pair is refused before anything is created, so it leaves no trace on
 *    disk (I3), and a costly input never holds the lock. The same holds for the consumer access
 *    (an unknown user or group) and the other formats, made and checked in memory then.
 *    With access for a consumer's group, the store directory and generations/ are given to that
 *    group (0710: it may pass through, not list) before anything is staged; without, they are
 *    closed again (0700, ours), so no group keeps a way to older generations. Each change is
 *    fsynced, and none makes anything readable that was not (the files keep their own modes).
 * 2. Create generations/.staging-<pid>-<random> (0700; with access, then given to the group).
 *    Its name can never be taken for a generation, so a crash at any later step leaves only a
 *    leftover that recover removes.
 * 3. Write cert.pem (0644), key.pem (0600, created with that mode: no window in which the key is
 *    readable by others; with access, created 0600 and opened to the group's mode only after
 *    fchown gave it to the group), ca.pem, the other formats (a file holding the key gets the
 *    key's mode), .meta.json; each is fsynced, so that its data is on disk before any name that
 *    makes it reachable. They are written concurrently: none is reachable before step 6, so their
 *    order does not matter, and the file system can commit the fsyncs together. Owner and modes
 *    are set here, on the descriptor, so every generation carries its own and the switch stays
 *    one rename: nothing is chmod'ed after activation.
 * 4. fsync the staging directory: the names inside it (and its own owner and mode) must be durable
 *    before the directory is renamed, or a power cut after step 6 could leave generations/<n>
 *    existing but empty.
 * 5. Read the files back from disk and compare them byte for byte with what step 1 validated:
 *    what will be served is what is on disk, not what we meant to write. (Equal bytes validate
 *    equally, so the pair is not parsed a second time.) The other formats are read back too.
 * 6. Rename the staging directory to generations/<n> (n above every number ever used) and fsync
 *    generations/. Before the rename the generation does not exist; after it, it is complete.
 *    Only after the fsync is it reported.
 * On any failure the staging directory is removed (and if we die first, recover removes it).
 */
export async function stageLocked(
  ctx: LockedContext,
  pair: ValidatedPair,
  stagedAt: Date,
  output: StageOutput = {},
): Promise<StageResult> {
  const access = output.access ?? null;
  const extra = output.files ?? [];
  await ensureGenerationsDir(ctx.paths);
  // 1: the way to `current` opened to the consumer's group, or closed again, before staging. Without
  // access too: a group given the directories by an earlier stage would otherwise keep reading
  // the keys of the older generations (rollback targets, maybe still valid) through them.
  const way = access ?? ownAccess();
  await setDirAccess(ctx.paths.dir, way.owner, way.dirMode);
  await setDirAccess(ctx.paths.generations, way.owner, way.dirMode);
  const staging = path.join(ctx.paths.generations, stagingName());
  await makeDir(staging, DIR_MODE); // 2
  let committed = false;
  try {
    if (access) await setDirAccess(staging, access.owner, access.dirMode);
    const certMode = access?.certMode ?? PUBLIC_FILE_MODE;
    const keyMode = access?.keyMode ?? KEY_MODE;
    const files: Array<[string, string | Buffer, number]> = [
      [CERT_FILE, pair.certPem, certMode],
      [KEY_FILE, pair.keyPem, keyMode],
    ];
    if (pair.caPem !== undefined) files.push([CA_FILE, pair.caPem, certMode]);
    for (const f of extra) files.push([f.name, f.data, f.holdsKey ? keyMode : certMode]);
    const record = { ...pair.info, stagedAt: stagedAt.toISOString(), sha256: stagedDigests(pair) };
    const formatDigests = Object.fromEntries(extra.map((f) => [f.name, digestOf(f.data)]));
    const meta = extra.length
      ? { ...record, sha256: { ...record.sha256, files: formatDigests }, files: extra.map((f) => f.name) }
      : record;
    files.push([META_FILE, `${JSON.stringify(meta)}\n`, PUBLIC_FILE_MODE]);
    // 3
    await settleAll(
      files.map(([name, data, mode]) => writeNewFile(path.join(staging, name), Buffer.from(data), mode, access?.owner)),
    );
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
    // 5: the other formats, each against what was made and checked in memory.
    await settleAll(
      extra.map(async (f) => {
        const file = path.join(staging, f.name);
        f.check(await readInputFile(file, 'cert', { noFollow: true, check: (st) => checkLayoutFile(st, file) }));
      }),
    );

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
