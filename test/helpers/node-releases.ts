/**
 * The Node.js releases the installed package is tested under, one per supported major, and the
 * binaries for them, each alone in a directory (so that a PATH of it brings nothing else): the
 * machine's own node when it is that release, otherwise the official
 * binary the npm registry publishes as `node-linux-<arch>@<version>` (a package holding bin/node),
 * installed with npm into node_modules/.cache/certswap-node/ (from the npm cache when it is there,
 * from the registry otherwise) on first use. package.json's `engines` names these majors
 * (test/package/package.test.ts holds the two together).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmEnv } from './package.js';
import { runTempDir } from './tmp.js';

/** The newest release of each supported major line on the npm registry when these were chosen. */
export const TESTED_NODE_RELEASES = ['20.20.2', '22.23.5', '24.22.3'] as const;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = path.join(root, 'node_modules', '.cache', 'certswap-node');

/** A directory holding only a `node` executable of `version`; downloads it on first use. Throws when it cannot. */
export async function nodeBinDir(version: string): Promise<string> {
  if (process.versions.node === version) {
    const own = path.join(await runTempDir('certswap-node-'), 'bin');
    fs.mkdirSync(own);
    fs.symlinkSync(process.execPath, path.join(own, 'node'));
    return own;
  }
  const pkg = `node-${process.platform}-${process.arch}`;
  const dir = path.join(CACHE, `${pkg}-${version}`);
  const bin = path.join(dir, 'node_modules', pkg, 'bin');
  if (!fs.existsSync(path.join(bin, 'node'))) {
    // Installed beside its final name and renamed, so that an interrupted download is never used.
    const part = `${dir}.part-${process.pid}`;
    fs.rmSync(part, { recursive: true, force: true });
    const r = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        part,
        '--no-save',
        '--no-package-lock',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
      ].concat(`${pkg}@${version}`),
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: npmEnv(process.env.PATH ?? '') },
    );
    if (r.status !== 0) {
      fs.rmSync(part, { recursive: true, force: true });
      throw new Error(`npm install ${pkg}@${version} failed: ${r.error?.message ?? r.stderr.trim()}`);
    }
    try {
      fs.renameSync(part, dir);
    } catch (err) {
      // Another run installed it meanwhile: keep theirs (it may be in use), drop ours.
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
      fs.rmSync(part, { recursive: true, force: true });
    }
  }
  const v = spawnSync(path.join(bin, 'node'), ['--version'], { encoding: 'utf8' });
  if (v.stdout.trim() !== `v${version}`) throw new Error(`${bin}/node is ${v.stdout.trim() || v.stderr.trim()}`);
  return bin;
}
