/**
 * Reading the store's state: which generations exist, what `current` names, what a generation
 * holds. Nothing here writes.
 */
import path from 'node:path';
import { CertswapError, ErrorCodes, errnoCode } from '../errors.js';
import { fsOps, type Dirent, type Stats } from '../io/fs.js';
import { settleAll } from '../io/concurrency.js';
import { readInputFile } from '../io/input.js';
import { CA_FILE, CERT_FILE, KEY_FILE, generationFromLinkTarget, isGenerationName, type StorePaths } from './layout.js';
import { validatePair, validateStagedPair, type ValidatedPair, type ValidationOptions } from '../pki/validate.js';
import { digestOf, readMeta, unchangedSinceStaging, type GenerationMeta } from './records/meta.js';
import { checkLayoutDir, checkLayoutFile, generationsDirExists } from './store-path.js';

/** The names in `dir`, or none if it does not exist (a store before its first stage). */
export async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await fsOps.readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The names in generations/, or none before the first stage. generations/ is checked first (lstat):
 * a link there to a tree outside the store is refused (CERTSWAP_UNSAFE_STORE), never listed.
 */
export async function readGenerationsDir(paths: StorePaths): Promise<string[]> {
  return (await generationsDirExists(paths)) ? readdirIfExists(paths.generations) : [];
}

/** The entries of generations/ with their types (not followed), or none before the first stage. */
export async function readGenerationEntries(paths: StorePaths): Promise<Dirent[]> {
  return (await generationsDirExists(paths)) ? fsOps.readdirTypes(paths.generations) : [];
}

/** The numbers of the generations present, ascending. Staging and trash entries are not generations. */
export async function listGenerations(paths: StorePaths): Promise<number[]> {
  return (await readGenerationsDir(paths))
    .filter(isGenerationName)
    .map(Number)
    .sort((a, b) => a - b);
}

export type CurrentLink =
  | { state: 'absent' }
  | { state: 'generation'; generation: number }
  /** A symlink whose target is not `generations/<n>`: planted or corrupt. */
  | { state: 'outside'; target: string }
  /** Something that is not a symlink (a directory or file) occupies the name. */
  | { state: 'not-a-link' };

/** What the `current` entry is, without following it. */
export async function readCurrentLink(paths: StorePaths): Promise<CurrentLink> {
  let target: string;
  try {
    target = await fsOps.readlink(paths.current);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return { state: 'absent' };
    if (code === 'EINVAL') return { state: 'not-a-link' };
    throw err;
  }
  const generation = generationFromLinkTarget(target);
  return generation === null ? { state: 'outside', target } : { state: 'generation', generation };
}

/** The active generation; raises CERTSWAP_UNSAFE_STORE if `current` is not a link into generations/. */
export async function activeGeneration(paths: StorePaths): Promise<number | null> {
  const link = await readCurrentLink(paths);
  switch (link.state) {
    case 'absent':
      return null;
    case 'generation':
      return link.generation;
    case 'outside':
      throw new CertswapError(
        ErrorCodes.UNSAFE_STORE,
        `${paths.current} points to ${JSON.stringify(link.target)}, outside generations/; run certswap recover`,
        { path: paths.current },
      );
    case 'not-a-link':
      throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${paths.current} is not a symlink; run certswap recover`, {
        path: paths.current,
      });
  }
}

export interface GenerationFiles {
  generation: number;
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  certPath: string;
  keyPath: string;
  caPath?: string;
}

/**
 * Reads the files of generation `n` from its own directory (never through `current`), refusing
 * to follow a symlink anywhere inside the store. Raises CERTSWAP_NO_SUCH_GENERATION,
 * CERTSWAP_INCOMPLETE_GENERATION or CERTSWAP_UNSAFE_STORE.
 */
export async function readGenerationFiles(paths: StorePaths, n: number): Promise<GenerationFiles> {
  // generations/ itself is checked too: through a link there, generations/<n> would be outside.
  if (!(await generationsDirExists(paths)))
    throw new CertswapError(ErrorCodes.NO_SUCH_GENERATION, `generation ${n} does not exist`, {
      generation: n,
      path: paths.generationDir(n),
    });
  return readGenerationFilesFrom(paths.generationDir(n), n);
}

/** Reads a generation's files from `dir` (a generation or a staging directory). */
export async function readGenerationFilesFrom(dir: string, n: number): Promise<GenerationFiles> {
  let st: Stats;
  try {
    st = await fsOps.lstat(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new CertswapError(ErrorCodes.NO_SUCH_GENERATION, `generation ${n} does not exist`, {
        generation: n,
        path: dir,
      });
    }
    throw err;
  }
  // A link (to a tree outside the store), a file, or a directory someone else could write.
  checkLayoutDir(st, dir, { generation: n });
  const read = async (name: string, role: 'cert' | 'key' | 'ca', optional: boolean): Promise<Buffer | undefined> => {
    const file = path.join(dir, name);
    try {
      return await readInputFile(file, role, {
        noFollow: true,
        check: (fst) => checkLayoutFile(fst, file, { generation: n }),
      });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP' || code === 'ENXIO' || code === 'ENODEV') {
        // A link (O_NOFOLLOW), or a socket or device planted at the name.
        const what = code === 'ELOOP' ? 'a symbolic link' : 'not a regular file';
        throw new CertswapError(ErrorCodes.UNSAFE_STORE, `${file} is ${what}`, {
          generation: n,
          path: file,
          cause: err,
        });
      }
      if (code !== 'ENOENT') throw err;
      if (optional) return undefined;
      // The directory vanished (pruned) or never held the file: tell the two apart.
      const gone = await fsOps.lstat(dir).then(
        () => false,
        () => true,
      );
      throw new CertswapError(
        gone ? ErrorCodes.NO_SUCH_GENERATION : ErrorCodes.INCOMPLETE_GENERATION,
        gone ? `generation ${n} does not exist` : `generation ${n} has no ${name}`,
        { generation: n, path: file },
      );
    }
  };
  // The three reads run at once (each is a round trip through libuv's thread pool); failures are
  // reported in file order, whatever order they happened in.
  const [cert, key, ca] = await settleAll([
    read(CERT_FILE, 'cert', false),
    read(KEY_FILE, 'key', false),
    read(CA_FILE, 'ca', true),
  ] as const);
  const files: GenerationFiles = {
    generation: n,
    cert: cert!,
    key: key!,
    certPath: path.join(dir, CERT_FILE),
    keyPath: path.join(dir, KEY_FILE),
  };
  if (ca !== undefined) {
    files.ca = ca;
    files.caPath = path.join(dir, CA_FILE);
  }
  return files;
}

/** Reads generation `n` from disk and validates it; raises the validation codes with the generation named. */
export async function validateGeneration(
  paths: StorePaths,
  n: number,
  opts: ValidationOptions,
): Promise<ValidatedPair> {
  const [files, meta] = await settleAll([readGenerationFiles(paths, n), readMeta(paths.generationDir(n))] as const);
  // The other formats must still be what was staged: a consumer reads them as the pair.
  await checkFormatFiles(paths.generationDir(n), n, meta);
  // Unchanged since staging: the key match proven then still holds (see validateStagedPair).
  if (meta !== null && unchangedSinceStaging(meta, files)) {
    return namingGeneration(n, () => validateStagedPair(files, opts, meta.keyType));
  }
  return validateFiles(files, opts);
}

/**
 * The other formats recorded at staging (fullchain.pem, bundle.pem, cert.p12) are present and
 * byte for byte what was staged, by their SHA-256 in .meta.json. Without a record there is nothing
 * to compare with (a damaged record only costs this check). Raises
 * CERTSWAP_INCOMPLETE_GENERATION, or CERTSWAP_UNSAFE_STORE for a file that is not ours.
 */
async function checkFormatFiles(dir: string, n: number, meta: GenerationMeta | null): Promise<void> {
  const recorded = meta?.sha256?.files;
  if (!recorded) return;
  await settleAll(
    Object.entries(recorded).map(async ([name, digest]) => {
      const file = path.join(dir, name);
      const data = await readInputFile(file, 'cert', {
        noFollow: true,
        check: (st) => checkLayoutFile(st, file, { generation: n }),
      }).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
        return null;
      });
      if (data === null || digestOf(data) !== digest) {
        throw new CertswapError(
          ErrorCodes.INCOMPLETE_GENERATION,
          `generation ${n}: ${name} ${data === null ? 'is missing' : 'differs from what was staged'}`,
          { generation: n, path: file },
        );
      }
    }),
  );
}

/** Validates the files read from one generation in full, naming the generation in any error. */
export function validateFiles(files: GenerationFiles, opts: ValidationOptions): ValidatedPair {
  return namingGeneration(files.generation, () => validatePair(files, opts));
}

/** Runs a validation of generation `n`, adding the generation to an error that does not name it. */
function namingGeneration<T>(n: number, validate: () => T): T {
  try {
    return validate();
  } catch (err) {
    if (err instanceof CertswapError && err.generation === undefined) {
      throw new CertswapError(err.code, `generation ${n}: ${err.message}`, {
        generation: n,
        path: err.path,
        file: err.file,
        cause: err,
      });
    }
    throw err;
  }
}
