/** Modes under any umask, the key's mode from its creation, refusing unsafe stores, unreadable input. */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fsOps } from '../../src/io/fs.js';
import { GenerationStore } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { CLI, certswap, fixture, waitForLine } from '../helpers/proc.js';
import { once } from 'node:events';
import { describeIoModes } from '../helpers/io-modes.js';

function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of [
    '.',
    'generations',
    'generations/1',
    'generations/1/cert.pem',
    'generations/1/key.pem',
    'generations/1/ca.pem',
    '.history',
    '.lock',
  ]) {
    out[rel] = (fse.statSync(path.join(dir, rel)).mode & 0o777).toString(8);
  }
  return out;
}

describe('permissions', function () {
  this.timeout(60_000);

  for (const umask of ['000', '077']) {
    it(`keys 0600, directories 0700 with umask ${umask}`, async () => {
      const dir = await storeDir();
      const p = await makePair();
      const files = await tempDir();
      await fse.writeFile(path.join(files, 'c'), p.cert);
      await fse.writeFile(path.join(files, 'k'), p.key);
      await fse.writeFile(path.join(files, 'a'), p.ca);
      const r = spawnSync(
        'sh',
        [
          '-c',
          `umask ${umask}; exec "$0" "$@"`,
          process.execPath,
          CLI,
          'install',
          '--dir',
          dir,
          '--cert',
          path.join(files, 'c'),
          '--key',
          path.join(files, 'k'),
          '--ca',
          path.join(files, 'a'),
        ],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(modes(dir)).to.deep.equal({
        '.': '700',
        generations: '700',
        'generations/1': '700',
        'generations/1/cert.pem': '644',
        'generations/1/key.pem': '600',
        'generations/1/ca.pem': '644',
        '.history': '600',
        '.lock': '600',
      });
    });
  }

  // In-process: once with thread-pool I/O, once with blocking I/O (the CLI's).
  describeIoModes('in-process', () => {
    it('creates the key with mode 0600 in the same call that creates it (no window)', async () => {
      const real = fsOps.open;
      const created: Array<[string, number]> = [];
      fsOps.open = async (file, flags, mode) => {
        if (file.endsWith('key.pem')) created.push([path.basename(file), mode ?? -1]);
        return real(file, flags, mode);
      };
      try {
        await (await GenerationStore.open(await storeDir())).install(await makePair());
      } finally {
        fsOps.open = real;
      }
      expect(created.filter(([, mode]) => mode !== -1)).to.deep.equal([['key.pem', 0o600]]);
    });
  });

  it('refuses a store writable by group or others, or owned by another user, through the CLI', async () => {
    const dir = await storeDir();
    await fse.mkdir(dir, { mode: 0o700 });
    await fse.chmod(dir, 0o775);
    let r = await certswap(['status', '--dir', dir]);
    expect([r.code, r.stderr]).to.deep.equal([
      1,
      `certswap: CERTSWAP_UNSAFE_STORE: ${dir} is writable by group or others (mode 0775); chmod 700 it\n`,
    ]);
    if (process.geteuid?.() === 0) {
      await fse.chmod(dir, 0o700);
      await fse.chown(dir, 65534, 65534);
      r = await certswap(['status', '--dir', dir]);
      expect(r.stderr).to.match(/CERTSWAP_UNSAFE_STORE: .* belongs to uid 65534/);
    }
  });

  it('an unreadable input file is refused with EACCES, naming it', async function () {
    // Root reads any file, so this runs the CLI as nobody, on a store that nobody owns.
    if (process.geteuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0) this.skip(); // needs root and setpriv to become another user
    const base = await tempDir();
    await fse.chmod(base, 0o755);
    const dir = path.join(base, 'store');
    await fse.mkdir(dir, { mode: 0o700 });
    await fse.chown(dir, 65534, 65534);
    const p = await makePair();
    const cert = path.join(base, 'c.pem');
    const key = path.join(base, 'k.pem');
    await fse.writeFile(cert, p.cert, { mode: 0o644 });
    await fse.writeFile(key, p.key, { mode: 0o000 });
    // Under c8 the child inherits NODE_V8_COVERAGE (Node puts it back if removed) and, as nobody,
    // could not write into our tree: give it a directory it can write.
    const cov = await tempDir();
    await fse.chmod(cov, 0o777);
    const env = { ...process.env, NODE_V8_COVERAGE: cov };
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        CLI,
        'install',
        '--dir',
        dir,
        '--cert',
        cert,
        '--key',
        key,
      ],
      { encoding: 'utf8', env },
    );
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).to.equal(`certswap: EACCES: key ${key}: permission denied\n`);
  });

  it('a lock held too long ends in "store is busy" after --lock-timeout, not a hang', async () => {
    const dir = await storeDir();
    const holder = fixture('hold-lock.ts', [dir]);
    await waitForLine(holder, 'locked');
    try {
      const p = await makePair();
      const files = await tempDir();
      await fse.writeFile(path.join(files, 'c'), p.cert);
      await fse.writeFile(path.join(files, 'k'), p.key);
      const r = await certswap([
        'install',
        '--dir',
        dir,
        '--cert',
        path.join(files, 'c'),
        '--key',
        path.join(files, 'k'),
        '--lock-timeout',
        '0.3',
      ]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(
        /^certswap: CERTSWAP_BUSY: store is busy: another certswap operation holds .*\.lock \(waited 0\.3 s\)\n$/,
      );
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'close');
    }
  });
});
