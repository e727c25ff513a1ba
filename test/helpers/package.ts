/**
 * The package as a user receives it: `npm pack` of this checkout (once per run, shared by every
 * suite that needs it), a PATH on which no compiler or Python can be found, and a global install
 * of the tarball into a temporary prefix under a given Node release.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runTempDir } from './tmp.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * What node-gyp and friends would build an addon with: C/C++ compilers (plain, versioned,
 * target-prefixed: gcc-12, x86_64-linux-gnu-g++, c99-gcc), make, cmake, Python (python3.11, pyenv shims).
 */
const BUILD_TOOL =
  /gcc|g\+\+|clang|python|^(?:[\w-]+-)?(?:cc|c\+\+|c89|c99|cpp)(?:-[\d.]+)?$|^(?:g|c)?make$|^node-gyp$/;
/** The build tools a test proves absent (the list). */
export const HIDDEN_TOOLS = ['g++', 'c++', 'cc', 'gcc', 'make', 'python3', 'python'] as const;

export interface Packed {
  /** The .tgz npm pack wrote. */
  tarball: string;
  /** Its contents, extracted (npm puts them under package/). */
  extracted: string;
  /** The file list from `npm pack --json`. */
  files: { path: string; mode: number }[];
}

let packing: Promise<Packed> | undefined;

/** Packs this checkout once per run (prepack/postpack included), from the built dist/. */
export function packed(): Promise<Packed> {
  packing ??= (async () => {
    const dir = await runTempDir('certswap-pack-');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: root,
      env: npmEnv(process.env.PATH ?? ''),
    });
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string; mode: number }[] }];
    const tarball = path.join(dir, info.filename);
    const extracted = path.join(dir, 'extracted');
    fs.mkdirSync(extracted);
    await run('tar', ['-xzf', tarball, '-C', extracted]);
    return { tarball, extracted, files: info.files };
  })();
  return packing;
}

/**
 * A directory of links to every program on this process's PATH but the build tools, so that a
 * PATH of just this directory (and a Node's bin) is a device image's: no compiler, make or Python.
 * `node` is left out too: the caller puts the one Node it tests first.
 */
export async function noBuildToolsPath(): Promise<string> {
  const dir = path.join(await runTempDir('certswap-path-'), 'bin');
  fs.mkdirSync(dir);
  for (const from of (process.env.PATH ?? '').split(':')) {
    if (!path.isAbsolute(from) || !fs.existsSync(from)) continue;
    for (const name of fs.readdirSync(from)) {
      if (BUILD_TOOL.test(name) || name === 'node' || name === 'nodejs') continue;
      const link = path.join(dir, name);
      // The first directory on PATH wins, as it does for a lookup.
      if (!fs.existsSync(link)) fs.symlinkSync(path.join(from, name), link);
    }
  }
  return dir;
}

/** Whether `program` is found on `pathValue`, as a POSIX shell looks it up. */
export function onPath(program: string, pathValue: string): string | null {
  const r = spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', program], {
    env: { PATH: pathValue },
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * This process's environment for a child npm or an installed certswap, with `PATH`: without what
 * an enclosing `npm test` or c8 put there (npm's lifecycle variables and its own prefix and global
 * settings, NODE_OPTIONS, coverage collection) and without the variables that name a compiler or
 * Python directly. The npm cache, registry and proxy settings stay.
 */
export function npmEnv(pathValue: string): NodeJS.ProcessEnv {
  const keep = /^npm_config_(?:cache|registry|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.test(k)) continue;
    if (['NODE_OPTIONS', 'NODE_V8_COVERAGE', 'NODE', 'INIT_CWD', 'PYTHON', 'CC', 'CXX', 'CPP', 'MAKE'].includes(k))
      continue;
    env[k] = v;
  }
  env.PATH = pathValue;
  return env;
}

/**
 * `npm install -g --prefix <prefix>` of the tarball, with only `nodeBin` and `toolsPath` on PATH,
 * so the npm on the machine runs under that Node. --engine-strict: a Node that package.json's
 * engines excludes fails the install. Returns npm's output.
 */
export async function installGlobal(tarball: string, prefix: string, pathValue: string): Promise<string> {
  const { stdout, stderr } = await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--engine-strict', '--no-audit', '--no-fund', tarball],
    { env: npmEnv(pathValue), cwd: path.dirname(tarball) },
  );
  return stdout + stderr;
}
