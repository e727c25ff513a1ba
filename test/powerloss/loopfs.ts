/**
 * Real file systems on loop devices, and power cuts the way xfstests makes them: shut the file
 * system down without flushing its log, unmount, mount again. Whatever was not on disk is gone.
 *
 * ext4 and xfs take the shutdown ioctl directly (xfs_io -x -c shutdown, without -f). btrfs has no
 * shutdown ioctl on this kernel, so its image sits on a buffered loop device (dio=0) whose backing
 * file lives on an outer xfs: shutting the outer xfs down loses everything btrfs wrote but did not
 * flush (its flushes become fsyncs of the backing file).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fse from 'fs-extra';
import path from 'node:path';

const exec = promisify(execFile);

export type FsKind = 'ext4' | 'xfs' | 'btrfs';
export type CommitMode = 'fsync' | 'commit';
export const FS_KINDS: FsKind[] = ['ext4', 'xfs', 'btrfs'];

async function sh(cmd: string, ...args: string[]): Promise<string> {
  try {
    return (await exec(cmd, args, { encoding: 'utf8' })).stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Why the suite cannot run here, or null if it can. */
export async function powerlossUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.geteuid?.() !== 0) return 'not root (loop devices and mount need root)';
  if (!(await fse.pathExists('/dev/loop-control'))) return 'no loop devices (/dev/loop-control missing)';
  for (const tool of ['mkfs.ext4', 'mkfs.xfs', 'mkfs.btrfs', 'xfs_io', 'losetup', 'mount']) {
    try {
      await exec('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (apt-get install e2fsprogs xfsprogs btrfs-progs)`;
    }
  }
  return null;
}

/**
 * Skips the calling suite (with the reason printed) where loop devices cannot be used; under
 * CI=true that is a failure instead, so that CI can never pass without running it.
 */
export async function requireLoopDevices(ctx: Mocha.Context, what: string): Promise<void> {
  const reason = await powerlossUnavailable();
  if (!reason) return;
  console.log(`    ${what} skipped: ${reason}`);
  if (process.env.CI === 'true') throw new Error(`${what} cannot run under CI: ${reason}`);
  ctx.skip();
}

export class LoopFs {
  readonly kind: FsKind;
  readonly mnt: string;
  private readonly work: string;
  private readonly outer: string;
  private device: string | null = null;
  private commits = 0;

  private readonly size: string;

  /** `size`: of the ext4 or xfs image (xfs needs at least 300 MB). */
  constructor(kind: FsKind, work: string, size = '320M') {
    this.kind = kind;
    this.size = size;
    this.work = work;
    this.mnt = path.join(work, 'mnt');
    this.outer = path.join(work, 'outer');
  }

  private get image(): string {
    return this.kind === 'btrfs' ? path.join(this.outer, 'btrfs.img') : path.join(this.work, `${this.kind}.img`);
  }

  async setup(): Promise<void> {
    await fse.mkdirp(this.mnt);
    if (this.kind === 'btrfs') {
      await fse.mkdirp(this.outer);
      const outerImg = path.join(this.work, 'outer-xfs.img');
      await sh('truncate', '-s', '512M', outerImg);
      await sh('mkfs.xfs', '-q', '-f', outerImg);
      await sh('mount', '-o', 'loop', outerImg, this.outer);
      await sh('truncate', '-s', '256M', this.image);
      await this.attach();
      await sh('mkfs.btrfs', '-q', '-f', this.device!);
    } else {
      // mkfs.xfs refuses file systems under 300 MB; the image is sparse either way.
      await sh('truncate', '-s', this.size, this.image);
      if (this.kind === 'ext4') await sh('mkfs.ext4', '-q', '-F', this.image);
      else await sh('mkfs.xfs', '-q', '-f', this.image);
    }
    await this.mount();
  }

  /** Attaches the btrfs image to a buffered loop device and checks that it is buffered. */
  private async attach(): Promise<void> {
    this.device = await sh('losetup', '--direct-io=off', '-f', '--show', this.image);
    const dio = await fse.readFile(`/sys/block/${path.basename(this.device)}/loop/dio`, 'utf8');
    if (dio.trim() !== '0') throw new Error(`${this.device} is not buffered (dio=${dio.trim()})`);
  }

  private async mount(): Promise<void> {
    if (this.kind === 'btrfs') await sh('mount', this.device!, this.mnt);
    else await sh('mount', '-o', 'loop', this.image, this.mnt);
  }

  /** Makes everything written so far durable (the known state before an operation). */
  async syncAll(): Promise<void> {
    await sh('sync', '-f', this.mnt);
  }

  /**
   * What other processes on a device do all the time: write and fsync an unrelated file. This
   * commits the ext4/xfs journal, and with it every metadata change made so far (a rename whose
   * file data was never fsynced included), so that a missing fsync shows after the cut.
   */
  async commitUnrelated(): Promise<void> {
    const file = path.join(this.mnt, 'unrelated', String(++this.commits));
    await fse.mkdirp(path.dirname(file));
    await sh('xfs_io', '-f', '-c', 'pwrite -q 0 4096', '-c', 'fsync', file);
  }

  /**
   * What makes the file system commit before the cut. 'fsync' is the unrelated fsync above.
   * 'commit' is the periodic transaction commit (every 30 s on btrfs, 5 s on ext4), emulated by
   * syncfs: btrfs has no journal that an unrelated fsync would commit (its fsync writes a log of
   * that one file), so without it no intermediate state of an operation ever reaches its disk.
   */
  async commit(mode: CommitMode): Promise<void> {
    if (mode === 'fsync') await this.commitUnrelated();
    else await this.syncAll();
  }

  /** Cuts power: shut down without flushing the log, unmount, mount again. */
  async cut(): Promise<void> {
    if (this.kind === 'btrfs') {
      await sh('xfs_io', '-x', '-c', 'shutdown', this.outer);
      await sh('umount', this.mnt);
      await sh('losetup', '-d', this.device!);
      this.device = null;
      await sh('umount', this.outer);
      await sh('mount', '-o', 'loop', path.join(this.work, 'outer-xfs.img'), this.outer);
      await this.attach();
    } else {
      await sh('xfs_io', '-x', '-c', 'shutdown', this.mnt);
      await sh('umount', this.mnt);
    }
    await this.mount();
  }

  async teardown(): Promise<void> {
    await sh('umount', this.mnt).catch(() => undefined);
    if (this.device) await sh('losetup', '-d', this.device).catch(() => undefined);
    if (this.kind === 'btrfs') await sh('umount', this.outer).catch(() => undefined);
  }
}
