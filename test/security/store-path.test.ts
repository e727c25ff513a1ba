/**
 * The path to the store, checked like sudo's and OpenSSH's safe_path (src/store/store-path.ts), against
 * a real unprivileged user on the real file system: root runs certswap on a path that user can
 * reach, the user plants and flips symlinks and owns directories, and nothing root owns outside
 * the store is ever created, changed or removed. Runs as root only (it needs useradd and setuid).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { ErrorCodes, GenerationStore } from '../../src/index.js';
import { fsOps } from '../../src/io/fs.js';
import { makePair, type Pair } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import { CLI, certswap, collect, waitForLine, type Result } from '../helpers/proc.js';
import { expectCode } from '../helpers/expect-code.js';
import { checkStoreInvariants } from '../helpers/invariants.js';
import { treeState } from '../helpers/tree-state.js';
import { addUser, flipSymlink, isRoot, removeUser, runAs, type User } from '../helpers/users.js';
import { describeIoModes } from '../helpers/io-modes.js';

const UNSAFE = /^certswap: CERTSWAP_UNSAFE_STORE: /;

function expectUnsafe(r: Result, what: string, mention?: RegExp): void {
  expect(r.code, `${what}: ${r.stderr}`).to.equal(1);
  expect(r.stderr, what).to.match(UNSAFE);
  if (mention) expect(r.stderr, what).to.match(mention);
}

/** A pattern matching `text` literally. */
function literally(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** A fresh directory root owns and others may enter (0755), with a sticky world-writable one in it, as /tmp. */
async function layout(): Promise<{ base: string; sticky: string }> {
  const base = await tempDir('certswap-path-');
  await fse.chmod(base, 0o755);
  const sticky = path.join(base, 'sticky');
  await fse.mkdir(sticky);
  await fse.chmod(sticky, 0o1777);
  return { base, sticky };
}

/** Writes a pair where only root can read it; the --cert/--key arguments for it. */
async function pairArgs(pair?: Pair): Promise<string[]> {
  const p = pair ?? (await makePair());
  const dir = await tempDir('certswap-pair-');
  await fse.writeFile(path.join(dir, 'c.pem'), p.cert);
  await fse.writeFile(path.join(dir, 'k.pem'), p.key);
  return ['--cert', path.join(dir, 'c.pem'), '--key', path.join(dir, 'k.pem')];
}

/** Installs a store with certswap (as root), `n` generations. */
async function installStore(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await certswap(['install', '--dir', dir, ...(await pairArgs())]);
    expect(r.code, r.stderr).to.equal(0);
  }
}

/**
 * A root-owned directory `<parent>/victim` holding a store with three generations and, as
 * canaries, everything a mutating command would act on if it were pointed there: leftovers recover
 * removes, generations prune removes, a directory install writes into. Returns the victim directory.
 */
async function canaryStore(parent: string): Promise<string> {
  const victim = path.join(parent, 'victim');
  await fse.mkdir(victim, { mode: 0o755 });
  await fse.chmod(victim, 0o755);
  const store = path.join(victim, 'store');
  await installStore(store, 3);
  await fse.outputFile(path.join(store, 'generations', '.staging-9-abcdef', 'cert.pem'), 'canary: staging leftover');
  await fse.outputFile(path.join(store, 'generations', '.trash-8-abcdef', 'key.pem'), 'canary: trash leftover');
  await fse.writeFile(path.join(store, '.current.tmp-9-abcdef'), 'canary: temporary file');
  await fse.writeFile(path.join(victim, 'canary.txt'), 'canary: next to the store');
  return victim;
}

/** Every command, each as root would run it on `dir`. */
async function everyCommand(dir: string): Promise<string[][]> {
  return [
    ['install', '--dir', dir, ...(await pairArgs())],
    ['stage', '--dir', dir, ...(await pairArgs())],
    ['activate', '--dir', dir, '1'],
    ['rollback', '--dir', dir],
    ['commit', '--dir', dir],
    ['recover', '--dir', dir],
    ['prune', '--dir', dir, '--keep', '1'],
    ['status', '--dir', dir],
    ['verify', '--dir', dir],
  ];
}

/** Ancestors others can write: world-writable, writable by a group not root's, sticky above a directory not ours. */
interface UnsafeAncestor {
  name: string;
  mode: number;
  gid: number;
  shown: string;
  /** A directory the attacker makes in it, for the store to go under. */
  below?: string;
}

function unsafeAncestors(attacker: User): UnsafeAncestor[] {
  return [
    { name: 'a 0777 directory', mode: 0o777, gid: 0, shown: '0777' },
    { name: "a 0775 directory of the attacker's group", mode: 0o775, gid: attacker.gid, shown: '0775' },
    {
      name: 'a 1777 directory, in a directory the attacker made',
      mode: 0o1777,
      gid: 0,
      shown: '1777',
      below: 'made-by-attacker',
    },
  ];
}

/** Makes the unsafe ancestor `c` under `base` (made if missing); the store path below it, which does not exist. */
async function unsafeAncestor(
  base: string,
  c: UnsafeAncestor,
  attacker: User,
): Promise<{ parent: string; dir: string }> {
  await fse.mkdirp(base);
  await fse.chmod(base, 0o755);
  const parent = path.join(base, `ancestor-${c.shown}-${c.gid}`);
  await fse.mkdir(parent);
  await fse.chown(parent, 0, c.gid);
  await fse.chmod(parent, c.mode);
  if (!c.below) return { parent, dir: path.join(parent, 'store') };
  await runAs(attacker, 'mkdir', ['-m', '0755', path.join(parent, c.below)]);
  return { parent, dir: path.join(parent, c.below, 'store') };
}

function modeOf(p: string): string {
  return (fse.statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
}

/** Stops a child by its pid (if it has not ended) and waits for it. */
async function stop(child: ChildProcess, ended: Promise<unknown>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // It ended between the check and the kill.
    }
  }
  await ended.catch(() => undefined);
}

describe('store path safety against another local user', function () {
  this.timeout(180_000);
  let attacker: User | undefined;
  /** The attacker, for tests (the suite is skipped when there is none). */
  const user = (): User => attacker!;

  before(function () {
    if (!isRoot()) this.skip(); // useradd, and acting as another user, need root
    attacker = addUser();
  });

  after(() => {
    if (attacker) removeUser(attacker);
  });

  describe('through the CLI', () => {
    for (const shape of ['the store itself', 'a directory on the path'] as const) {
      it(`an attacker's symlink in a sticky world-writable directory (${shape}): every command refused, its target untouched`, async () => {
        const { base, sticky } = await layout();
        const victim = await canaryStore(base);
        // store -> victim/store, or link -> victim with the store at link/store.
        const [link, target, dir] =
          shape === 'the store itself'
            ? [path.join(sticky, 'store'), path.join(victim, 'store'), path.join(sticky, 'store')]
            : [path.join(sticky, 'link'), victim, path.join(sticky, 'link', 'store')];
        await runAs(user(), 'ln', ['-s', target, link]);
        expect((await fse.lstat(link)).uid).to.equal(user().uid);
        const before = await treeState(victim);
        const stickyBefore = await treeState(sticky);
        for (const args of await everyCommand(dir)) {
          // Refused at the link: in a sticky directory only its owner, the attacker, can replace it.
          expectUnsafe(await certswap(args), args[0]!, literally(`${link} belongs to uid ${user().uid} and sits in`));
          expect((await treeState(victim)).entries, `${args[0]} changed the target`).to.deep.equal(before.entries);
        }
        expect((await treeState(victim)).digest).to.equal(before.digest);
        expect((await treeState(sticky)).digest, 'the sticky directory').to.equal(stickyBefore.digest);
      });
    }

    it('a directory the attacker owns on the path: every command refused, nothing created under it', async () => {
      const { base, sticky } = await layout();
      const inSticky = path.join(sticky, 'attackerdir');
      const inRootDir = path.join(base, 'attackerdir');
      await runAs(user(), 'mkdir', ['-m', '0755', inSticky]);
      // Outside a sticky directory, an attacker-owned directory can only come from root: a handed-over home, say.
      await fse.mkdir(inRootDir, { mode: 0o755 });
      await fse.chown(inRootDir, user().uid, user().gid);
      // A directory root made, inside one the attacker owns: the attacker can still rename it away.
      const rootSub = path.join(inRootDir, 'rootsub');
      await fse.mkdir(rootSub, { mode: 0o700 });
      for (const [dir, owned] of [
        [path.join(inSticky, 'store'), inSticky],
        [path.join(inRootDir, 'store'), inRootDir],
        [path.join(rootSub, 'store'), inRootDir],
      ] as const) {
        const before = await treeState(owned);
        for (const args of await everyCommand(dir)) {
          expectUnsafe(await certswap(args), `${args[0]} ${dir}`, literally(owned));
        }
        expect(await fse.pathExists(dir), `${dir} created`).to.equal(false);
        expect((await treeState(owned)).entries, owned).to.deep.equal(before.entries);
      }
    });

    const flips = [
      {
        name: 'the store itself, in a sticky directory',
        link: 'sticky/store',
        targets: ['real/store', 'victim/store'],
        dir: 'sticky/store',
      },
      {
        name: 'a directory on the path, in a sticky directory',
        link: 'sticky/link',
        targets: ['real', 'victim'],
        dir: 'sticky/link/store',
      },
      {
        name: 'a directory on the path, in a directory the attacker owns',
        link: 'own/link',
        targets: ['real', 'victim'],
        dir: 'own/link/store',
      },
    ];
    for (const f of flips) {
      it(`the flip attack on ${f.name}: root's recover runs succeed or are refused, no canary is ever touched`, async () => {
        const { base } = await layout();
        await fse.mkdir(path.join(base, 'own'), { mode: 0o755 });
        await fse.chown(path.join(base, 'own'), user().uid, user().gid);
        // The store root really uses, and a root-owned directory with canaries that looks the same.
        await fse.mkdir(path.join(base, 'real'), { mode: 0o755 });
        const real = path.join(base, 'real', 'store');
        await installStore(real, 2);
        const victim = await canaryStore(base);
        const before = await treeState(victim);
        const stopFile = path.join(base, 'stop');
        const at = (rel: string): string => path.join(base, rel);
        const child = await flipSymlink(user(), at(f.link), f.targets.map(at), stopFile, 20_000_000);
        const ended = collect(child);
        const outcomes = { ok: 0, refused: 0 };
        try {
          await waitForLine(child, 'ready');
          for (let i = 0; i < 40; i++) {
            const r = await certswap(['recover', '--dir', at(f.dir)]);
            if (r.code === 0) outcomes.ok++;
            else {
              expectUnsafe(r, `run ${i}`);
              outcomes.refused++;
            }
            expect((await treeState(victim)).entries, `after run ${i} (exit ${r.code})`).to.deep.equal(before.entries);
            // Meanwhile root's own store, on a path the attacker cannot touch, works as ever.
            if (i % 8 === 0) {
              const own = await certswap(['recover', '--dir', real]);
              expect(own.code, own.stderr).to.equal(0);
            }
          }
          await fse.writeFile(stopFile, '');
          const out = await ended;
          const flipped = Number(/^flips (\d+)$/m.exec(out.stdout)?.[1]);
          console.log(
            `      ${flipped} flips by ${user().name}; root's runs: ${outcomes.refused} refused, ${outcomes.ok} succeeded`,
          );
          expect(flipped, 'the attacker kept flipping').to.be.greaterThan(40);
        } finally {
          await stop(child, ended);
        }
        expect(outcomes.refused + outcomes.ok).to.equal(40);
        expect((await treeState(victim)).digest).to.equal(before.digest);
        await checkStoreInvariants(real, 'root store after the attack', { noLeftovers: true });
      });
    }

    it('a symlink root owns on the path is followed, and the store is made in its target', async () => {
      const { base } = await layout();
      await fse.mkdir(path.join(base, 'real'), { mode: 0o755 });
      await fse.symlink(path.join(base, 'real'), path.join(base, 'link'));
      // A relative link, root's too, through the first one.
      await fse.symlink('link', path.join(base, 'rel'));
      const dir = path.join(base, 'rel', 'store');
      const r = await certswap(['install', '--dir', dir, ...(await pairArgs())]);
      expect(r.code, r.stderr).to.equal(0);
      const real = path.join(base, 'real', 'store');
      expect((await fse.lstat(real)).isDirectory()).to.equal(true);
      expect(modeOf(real)).to.equal('0700');
      for (const cmd of ['status', 'verify', 'recover']) {
        const s = await certswap([cmd, '--dir', dir]);
        expect(s.code, `${cmd}: ${s.stderr}`).to.equal(0);
      }
      expect(await fse.readlink(path.join(base, 'link'))).to.equal(path.join(base, 'real'));
    });

    it('a symlink the attacker owns is never followed, even in a directory only root can write', async () => {
      const { base } = await layout();
      const victim = await canaryStore(base);
      // Only root could have put it there (a restored backup, an unpacked archive): lchown it.
      await fse.symlink(victim, path.join(base, 'link'));
      await fse.lchown(path.join(base, 'link'), user().uid, user().gid);
      const before = await treeState(victim);
      for (const args of await everyCommand(path.join(base, 'link', 'store'))) {
        expectUnsafe(
          await certswap(args),
          args[0]!,
          literally(`${path.join(base, 'link')} is a symbolic link owned by uid ${user().uid}`),
        );
      }
      expect((await treeState(victim)).entries).to.deep.equal(before.entries);
    });

    it("a root-owned symlink is followed only into a safe path: its target's ancestors are checked too", async () => {
      const { base } = await layout();
      await fse.mkdir(path.join(base, 'ww', 'real'), { recursive: true, mode: 0o755 });
      await fse.chmod(path.join(base, 'ww'), 0o777);
      await fse.symlink(path.join(base, 'ww', 'real'), path.join(base, 'link'));
      const before = await treeState(path.join(base, 'ww'));
      for (const args of await everyCommand(path.join(base, 'link', 'store'))) {
        expectUnsafe(
          await certswap(args),
          args[0]!,
          literally(`${path.join(base, 'ww')} is writable by others (mode 0777)`),
        );
      }
      expect((await treeState(path.join(base, 'ww'))).entries).to.deep.equal(before.entries);
    });

    it('the store path given as a symlink is refused, even a link root owns', async () => {
      const { base } = await layout();
      const realStore = path.join(base, 'realstore');
      await installStore(realStore, 2);
      await fse.symlink(realStore, path.join(base, 'store'));
      const before = await treeState(realStore);
      for (const args of await everyCommand(path.join(base, 'store'))) {
        expectUnsafe(await certswap(args), args[0]!, /store is a symbolic link: give the store's real directory/);
      }
      expect((await treeState(realStore)).entries).to.deep.equal(before.entries);
    });

    it("a world-writable (0777) or group-writable (0775, the attacker's group) ancestor is refused", async () => {
      const { base } = await layout();
      for (const c of unsafeAncestors(user())) {
        const { parent, dir } = await unsafeAncestor(base, c, user());
        for (const args of await everyCommand(dir)) {
          const mention = literally(
            c.below
              ? `${c.below} belongs to uid ${user().uid} and sits in`
              : `${parent} is writable by others (mode ${c.shown})`,
          );
          expectUnsafe(await certswap(args), `${args[0]} under ${c.name}`, mention);
        }
        // Refused whether or not the store exists.
        await fse.mkdirp(dir, { mode: 0o700 });
        for (const args of await everyCommand(dir))
          expectUnsafe(await certswap(args), `${args[0]} under ${c.name}, store present`);
      }
    });

    // Found by this suite: a missing directory used to be created before its parent was checked,
    // so a refused command left a root-owned directory inside the unsafe one.
    it('a command refused for an unsafe ancestor creates nothing in it', async () => {
      const { base } = await layout();
      const created: string[] = [];
      for (const c of unsafeAncestors(user())) {
        for (const cmd of ['install', 'recover']) {
          const { parent, dir } = await unsafeAncestor(path.join(base, cmd), c, user());
          const before = await treeState(parent);
          const args = cmd === 'install' ? ['install', '--dir', dir, ...(await pairArgs())] : ['recover', '--dir', dir];
          expectUnsafe(await certswap(args), `${cmd} under ${c.name}`);
          const after = await treeState(parent);
          if (after.digest !== before.digest)
            created.push(
              `${cmd} under ${c.name}: ${after.entries.filter((e) => !before.entries.includes(e)).join('; ')}`,
            );
        }
      }
      expect(created, 'left behind by refused commands').to.deep.equal([]);
    });

    it("allowed: a sticky directory (1777) above a directory root owns; refused: group-writable even by root's group (an ACL shows as group bits)", async () => {
      const { base, sticky } = await layout();
      const gw = path.join(base, 'gw');
      await fse.mkdir(gw);
      await fse.chmod(gw, 0o775);
      for (const dir of [path.join(sticky, 'store'), path.join(sticky, 'deeper', 'store')]) {
        const r = await certswap(['install', '--dir', dir, ...(await pairArgs())]);
        expect(r.code, `${dir}: ${r.stderr}`).to.equal(0);
        expect((await certswap(['verify', '--dir', dir])).code).to.equal(0);
      }
      const r = await certswap(['install', '--dir', path.join(gw, 'store'), ...(await pairArgs())]);
      expectUnsafe(r, 'install under 0775 root:root', literally(`${gw} is writable by others (mode 0775)`));
      expect(await fse.pathExists(path.join(gw, 'store'))).to.equal(false);
    });

    it('a directory another user may write through an ACL is refused (the ACL mask shows as group bits)', async function () {
      if (spawnSync('setfacl', ['--version']).status !== 0) this.skip(); // .ci/run installs acl
      const { base } = await layout();
      const acl = path.join(base, 'acl');
      await fse.mkdir(acl);
      await fse.chmod(acl, 0o755);
      const r0 = spawnSync('setfacl', ['-m', `u:${user().name}:rwx`, acl], { encoding: 'utf8' });
      expect(r0.status, r0.stderr).to.equal(0);
      // The attacker really can write there, though the owner and group are root's.
      expect((await runAs(user(), 'mkdir', [path.join(acl, 'proof')])).code).to.equal(0);
      expectUnsafe(
        await certswap(['install', '--dir', path.join(acl, 'store'), ...(await pairArgs())]),
        'install under an ACL',
        literally(`${acl} is writable by others`),
      );
      expect(await fse.pathExists(path.join(acl, 'store'))).to.equal(false);
    });

    it("'..' after a link is taken as the kernel takes it: from the link's target, not by editing the text", async () => {
      const { base, sticky } = await layout();
      // The attacker's link in the sticky directory, and root's link whose target goes through it and back up.
      const home = path.join(base, 'attacker-home');
      await fse.mkdirp(path.join(home, 'a', 'b'));
      await fse.chown(home, user().uid, user().gid);
      await fse.chown(path.join(home, 'a'), user().uid, user().gid);
      await fse.chown(path.join(home, 'a', 'b'), user().uid, user().gid);
      await runAs(user(), 'ln', ['-s', path.join(home, 'a', 'b'), path.join(sticky, 'attackerL')]);
      const rootLink = path.join(base, 'rootlink');
      await fse.symlink(`${path.join(sticky, 'attackerL')}/..`, rootLink);
      // Textually, rootlink/store is sticky/store; the kernel opens attacker-home/a/store.
      const victim = await canaryStore(await tempDir('certswap-victim-'));
      const before = await treeState(victim);
      for (const args of await everyCommand(path.join(rootLink, 'store'))) {
        expectUnsafe(
          await certswap(args),
          args[0]!,
          literally(`${path.join(sticky, 'attackerL')} belongs to uid ${user().uid}`),
        );
      }
      expect((await treeState(victim)).entries).to.deep.equal(before.entries);
      expect(await fse.pathExists(path.join(home, 'a', 'store'))).to.equal(false);
    });

    it("a store reached through root's links is used at its real path", async () => {
      const { base } = await layout();
      await fse.mkdirp(path.join(base, 'real', 'sub'));
      await fse.symlink('real/sub/..', path.join(base, 'up'));
      const r = await certswap(['install', '--dir', path.join(base, 'up', 'store'), '--json', ...(await pairArgs())]);
      expect(r.code, r.stderr).to.equal(0);
      const s = JSON.parse((await certswap(['status', '--dir', path.join(base, 'up', 'store'), '--json'])).stdout) as {
        dir: string;
      };
      expect(s.dir).to.equal(path.join(base, 'real', 'store'));
      expect(await fse.pathExists(path.join(base, 'real', 'store', 'current'))).to.equal(true);
    });

    for (const umask of ['000', '022']) {
      it(`a created store and every directory made for it are 0700 and root's, with umask ${umask}`, async () => {
        const { base } = await layout();
        const dir = path.join(base, 'a', 'b', 'c', 'store');
        const args = ['install', '--dir', dir, ...(await pairArgs())];
        const r = spawnSync('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, CLI, ...args], {
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).to.equal(0);
        for (const p of ['a', 'a/b', 'a/b/c', 'a/b/c/store', 'a/b/c/store/generations']) {
          const st = await fse.lstat(path.join(base, p));
          expect([p, (st.mode & 0o7777).toString(8), st.uid]).to.deep.equal([p, '700', 0]);
        }
        expect(modeOf(base), 'an existing parent is left as it was').to.equal('0755');
      });
    }

    it('read-only commands on a missing store fail with ENOENT and create nothing', async () => {
      const { base } = await layout();
      for (const cmd of ['status', 'verify']) {
        const r = await certswap([cmd, '--dir', path.join(base, 'missing', 'store')]);
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr).to.match(/^certswap: ENOENT: /);
      }
      expect(await fse.readdir(base)).to.deep.equal(['sticky']);
    });
  });

  describeIoModes('through the library', () => {
    it("open() refuses an attacker's symlink and an attacker's directory on the path, creating nothing", async () => {
      const { base, sticky } = await layout();
      const victim = await canaryStore(base);
      await runAs(user(), 'ln', ['-s', path.join(victim, 'store'), path.join(sticky, 'store')]);
      await runAs(user(), 'ln', ['-s', victim, path.join(sticky, 'link')]);
      await runAs(user(), 'mkdir', ['-m', '0755', path.join(sticky, 'attackerdir')]);
      const before = await treeState(victim);
      const stickyBefore = await treeState(sticky);
      for (const dir of ['store', 'link/store', 'attackerdir/store']) {
        for (const create of [true, false]) {
          await expectCode(GenerationStore.open(path.join(sticky, dir), { create }), ErrorCodes.UNSAFE_STORE);
        }
      }
      expect((await treeState(victim)).entries).to.deep.equal(before.entries);
      expect((await treeState(sticky)).entries).to.deep.equal(stickyBefore.entries);
      // Something to write, so that the I/O mode check has calls to count.
      await (await GenerationStore.open(path.join(base, 'mine'))).install(await makePair());
    });

    it('open() refuses a store under a world-writable or group-writable ancestor, existing or not', async () => {
      const { base } = await layout();
      for (const c of unsafeAncestors(user())) {
        const { dir } = await unsafeAncestor(base, c, user());
        // Not created, not there: missing (ENOENT) or refused, whichever the walk finds first.
        const missing = await GenerationStore.open(dir, { create: false }).catch((e: { code: string }) => e);
        expect(['ENOENT', ErrorCodes.UNSAFE_STORE], c.name).to.include((missing as { code?: string }).code);
        await expectCode(GenerationStore.open(dir), ErrorCodes.UNSAFE_STORE);
        await fse.mkdirp(dir, { mode: 0o700 });
        for (const create of [true, false])
          await expectCode(GenerationStore.open(dir, { create }), ErrorCodes.UNSAFE_STORE);
      }
    });

    // The same through GenerationStore.open (which creates).
    it('open() refused for an unsafe ancestor creates nothing in it', async () => {
      const { base } = await layout();
      const created: string[] = [];
      for (const c of unsafeAncestors(user())) {
        const { parent, dir } = await unsafeAncestor(base, c, user());
        const before = await treeState(parent);
        await expectCode(GenerationStore.open(dir), ErrorCodes.UNSAFE_STORE);
        const after = await treeState(parent);
        if (after.digest !== before.digest)
          created.push(`under ${c.name}: ${after.entries.filter((e) => !before.entries.includes(e)).join('; ')}`);
      }
      expect(created, 'left behind by a refused open()').to.deep.equal([]);
    });

    for (const change of ['chown to the attacker', 'chmod 0777'] as const) {
      it(`an ancestor made unsafe after open() (${change}): every mutating operation refused before its lock`, async () => {
        const { base } = await layout();
        const parent = path.join(base, 'parent');
        await fse.mkdir(parent, { mode: 0o755 });
        const store = await GenerationStore.open(path.join(parent, 'store'));
        const fresh = await GenerationStore.open(path.join(parent, 'fresh'));
        await store.install(await makePair());
        await store.install(await makePair());
        if (change === 'chmod 0777') await fse.chmod(parent, 0o777);
        else await fse.chown(parent, user().uid, user().gid);
        const before = await treeState(store.dir);
        const pair = await makePair();
        const ops: Array<[string, () => Promise<unknown>]> = [
          ['install', () => store.install(pair)],
          ['stage', () => store.stage(pair)],
          ['activate', () => store.activate(1)],
          ['rollback', () => store.rollback()],
          ['commit', () => store.commit()],
          ['prune', () => store.prune(1)],
          ['recover', () => store.recover()],
        ];
        for (const [name, op] of ops) {
          const e = await expectCode(op(), ErrorCodes.UNSAFE_STORE, literally(parent));
          expect(e.message, name).to.match(
            change === 'chmod 0777' ? /writable by others/ : new RegExp(`belongs to uid ${user().uid}`),
          );
        }
        expect((await treeState(store.dir)).entries).to.deep.equal(before.entries);
        // The check comes before the lock file is opened: a store never locked still has none.
        await expectCode(fresh.install(pair), ErrorCodes.UNSAFE_STORE);
        expect(await fse.readdir(fresh.dir)).to.deep.equal([]);
      });
    }

    it('an ancestor made unsafe while the operation takes its lock: refused under the lock, nothing written', async () => {
      const { base } = await layout();
      const parent = path.join(base, 'parent');
      await fse.mkdir(parent, { mode: 0o755 });
      const store = await GenerationStore.open(path.join(parent, 'store'));
      await store.install(await makePair());
      const before = await treeState(store.dir);
      const pair = await makePair();
      const real = fsOps.open;
      let lockOpens = 0;
      // The lock file is opened after the first check: the path turns unsafe in between.
      fsOps.open = async (file, flags, mode) => {
        if (file === store.paths.lock) {
          lockOpens++;
          await fse.chmod(parent, 0o777);
        }
        return real(file, flags, mode);
      };
      try {
        await expectCode(store.install(pair), ErrorCodes.UNSAFE_STORE, /writable by others \(mode 0777\)/);
      } finally {
        fsOps.open = real;
      }
      expect(lockOpens).to.equal(1);
      expect((await treeState(store.dir)).entries).to.deep.equal(before.entries);
      await fse.chmod(parent, 0o755);
      expect((await store.install(pair)).generation).to.equal(2);
    });
  });
});
