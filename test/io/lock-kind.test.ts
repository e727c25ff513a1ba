/**
 * What kind of lock src/io/lock.ts takes, as docs/design.md (The lock) states it: an open file
 * description lock from a prebuilt N-API binary, exclusive between two opens in one process and
 * between processes, dropped by the kernel when its holder is killed, invisible to flock(2), and in
 * conflict with a POSIX fcntl lock (the way a script can interlock with certswap).
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ErrorCodes, GenerationStore } from '../../src/index.js';
import { acquireLock } from '../../src/io/lock.js';
import { expectCode } from '../helpers/expect-code.js';
import { certswap, fixture, waitForLine } from '../helpers/proc.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { writePairFiles } from '../helpers/pair-files.js';

/** The lines of /proc/locks that lock `file`'s inode, as "KIND MODE" (e.g. "OFDLCK WRITE"). */
function kernelLocks(file: string): string[] {
  const st = fs.statSync(file);
  // /proc/locks names the device as major:minor in hex (glibc's encoding of dev_t) and the inode.
  const major = Number((BigInt(st.dev) >> 8n) & 0xfffn) | Number((BigInt(st.dev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(st.dev) & 0xffn) | Number((BigInt(st.dev) >> 12n) & ~0xffn);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.includes(id))
    .map((f) => `${f[1]} ${f[3]}`);
}

/**
 * Perl (perl-base, on every Debian system) taking a POSIX write lock on the whole file ARGV[0]
 * with F_SETLK (struct flock as on x86-64 and arm64), printing "locked" or exiting 1 when refused.
 * With a second argument it holds the lock until killed.
 */
const POSIX_LOCK = `use Fcntl qw(F_SETLK F_WRLCK SEEK_SET); $| = 1;
open(my $fh, "+<", $ARGV[0]) or die "open: $!";
my $whole = pack("s s x4 q q i x4", F_WRLCK, SEEK_SET, 0, 0, 0);
fcntl($fh, F_SETLK, $whole) or exit 1;
print "locked\n"; sleep 60 if @ARGV > 1;`;

async function lockFile(): Promise<string> {
  const store = await GenerationStore.open(await storeDir());
  return store.paths.lock;
}

describe('lock kind', () => {
  it('is an OFD write lock on .lock, gone from the kernel once released', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    try {
      expect(kernelLocks(file)).to.deep.equal(['OFDLCK WRITE']);
    } finally {
      await held.release();
    }
    expect(kernelLocks(file)).to.deep.equal([]);
  });

  it('refuses a second open of .lock in the same process while the first holds it', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    try {
      await expectCode(acquireLock(file, 0), ErrorCodes.BUSY);
      await expectCode(acquireLock(file, 60), ErrorCodes.BUSY);
    } finally {
      await held.release();
    }
    await (await acquireLock(file, 0)).release();
  });

  it('is not dropped when another descriptor of .lock in the holding process is closed', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    try {
      // A classic POSIX record lock would be lost here: it belongs to the process, not the open.
      await (await fs.promises.open(file, 'r')).close();
      expect(kernelLocks(file)).to.deep.equal(['OFDLCK WRITE']);
      await expectCode(acquireLock(file, 0), ErrorCodes.BUSY);
    } finally {
      await held.release();
    }
  });

  it('is not inherited by a child process started while it is held (a hook cannot keep it)', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await held.release();
      // Were the descriptor inherited, the open file description, and its lock, would live on in the child.
      expect(kernelLocks(file)).to.deep.equal([]);
      await (await acquireLock(file, 0)).release();
    } finally {
      child.kill('SIGKILL');
      await once(child, 'close');
    }
  });

  it('is free the moment its holder is killed with SIGKILL: one attempt, no wait', async () => {
    const dir = await storeDir();
    const holder = fixture('hold-lock.ts', [dir]);
    try {
      await waitForLine(holder, 'locked');
      const file = path.join(dir, '.lock');
      expect(kernelLocks(file)).to.deep.equal(['OFDLCK WRITE']);
      await expectCode(acquireLock(file, 0), ErrorCodes.BUSY);
      holder.kill('SIGKILL');
      await once(holder, 'close');
      // The process is gone, and with it its descriptors: the kernel dropped the lock in exit.
      const held = await acquireLock(file, 0);
      await held.release();
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    }
  });

  it('does not see flock(2) locks, nor they it (the upgrade note in docs/design.md)', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    try {
      const r = spawnSync('flock', ['--exclusive', '--nonblock', file, 'true'], { encoding: 'utf8' });
      expect(r.status, `flock(1) on a file certswap holds: ${r.stderr}`).to.equal(0);
    } finally {
      await held.release();
    }
    // A shell that holds a flock on .lock (fd 9), then becomes `sleep`, keeping it.
    const flocker = spawn('sh', ['-c', 'exec 9<"$1" && flock -xn 9 && echo locked && exec sleep 60', 'sh', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await waitForLine(flocker, 'locked');
      expect(kernelLocks(file)).to.deep.equal(['FLOCK WRITE']);
      await (await acquireLock(file, 0)).release();
    } finally {
      flocker.kill('SIGKILL');
      await once(flocker, 'close');
    }
  });

  it('conflicts with a POSIX fcntl lock on the whole file, both ways', async () => {
    const file = await lockFile();
    const held = await acquireLock(file);
    try {
      const r = spawnSync('perl', ['-e', POSIX_LOCK, file], { encoding: 'utf8' });
      expect([r.status, r.stderr]).to.deep.equal([1, '']);
    } finally {
      await held.release();
    }
    const posix = spawn('perl', ['-e', POSIX_LOCK, file, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitForLine(posix, 'locked');
      expect(kernelLocks(file)).to.deep.equal(['POSIX WRITE']);
      await expectCode(acquireLock(file, 0), ErrorCodes.BUSY);
    } finally {
      posix.kill('SIGKILL');
      await once(posix, 'close');
    }
    await (await acquireLock(file, 0)).release();
  });

  it('is loaded by the first lock, not by the CLI commands that take none (status, verify)', async () => {
    const dir = await storeDir();
    const files = await tempDir();
    const pair = await writePairFiles(files, 'p');
    // Preloaded into the CLI process: says on exit whether the addon's package was ever required.
    const probe = path.join(files, 'probe.cjs');
    await fs.promises.writeFile(
      probe,
      `process.on('exit', () => process.stderr.write('addon:' + Object.keys(require.cache).some((f) => f.includes('/fs-native-extensions/')) + '\\n'));`,
    );
    const env = { NODE_OPTIONS: `--require ${probe}` };
    const install = ['install', '--dir', dir, ...pair.args];
    const loaded: Record<string, string> = {};
    for (const args of [install, ['status', '--dir', dir], ['verify', '--dir', dir]]) {
      const r = await certswap(args, env);
      expect(r.code, r.stderr).to.equal(0);
      loaded[args[0]!] = /addon:(true|false)/.exec(r.stderr)?.[1] ?? 'no probe output';
    }
    expect(loaded).to.deep.equal({ install: 'true', status: 'false', verify: 'false' });
  });

  it('loads the prebuilt N-API binary for this platform, not a compiled one', () => {
    const require = createRequire(import.meta.url);
    require('fs-native-extensions');
    const root = path.dirname(require.resolve('fs-native-extensions/package.json'));
    const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
    expect(loaded).to.include(
      path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'fs-native-extensions.node'),
    );
    // Nothing was built at install: no node-gyp or cmake output beside the prebuilds.
    expect(fs.existsSync(path.join(root, 'build'))).to.equal(false);
  });
});
