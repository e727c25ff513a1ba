import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, ErrorCodes, type StoreOptions } from '../../src/index.js';
import { makePair, DAY_MS } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { snapshot } from '../helpers/snapshot.js';
import { expectCode } from '../helpers/expect-code.js';
import { fsOps } from '../../src/io/fs.js';

async function openStore(opts: StoreOptions = {}): Promise<GenerationStore> {
  return GenerationStore.open(await storeDir(), opts);
}

describe('GenerationStore', () => {
  describe('open', () => {
    it('creates the directory with mode 0700 whatever the umask', async () => {
      const old = process.umask(0o000);
      try {
        const store = await openStore();
        expect((await fse.stat(store.dir)).mode & 0o777).to.equal(0o700);
        await store.install(await makePair());
        expect((await fse.stat(path.join(store.dir, 'generations'))).mode & 0o777).to.equal(0o700);
        expect((await fse.stat(store.generationDir(1))).mode & 0o777).to.equal(0o700);
        expect((await fse.stat(path.join(store.generationDir(1), 'key.pem'))).mode & 0o777).to.equal(0o600);
      } finally {
        process.umask(old);
      }
    });

    it('refuses a directory writable by group or others', async () => {
      const dir = await storeDir();
      await fse.mkdir(dir, { mode: 0o700 });
      await fse.chmod(dir, 0o770);
      await expectCode(GenerationStore.open(dir), ErrorCodes.UNSAFE_STORE, /writable by group/);
    });

    it('refuses a directory owned by another user', async function () {
      if (process.geteuid?.() !== 0) this.skip(); // only root can chown a directory to another user
      const dir = await storeDir();
      await fse.mkdir(dir, { mode: 0o700 });
      await fse.chown(dir, 65534, 65534);
      await expectCode(GenerationStore.open(dir), ErrorCodes.UNSAFE_STORE, /belongs to uid 65534/);
    });

    it('does not create a missing store when asked not to', async () => {
      await expectCode(GenerationStore.open(await storeDir(), { create: false }), 'ENOENT');
    });
  });

  describe('install', () => {
    it('writes generation 1 and points current at it with a relative link', async () => {
      const store = await openStore();
      const p = await makePair();
      const r = await store.install({ ...p, ca: p.ca });
      expect(r).to.include({ generation: 1, staged: 1, previous: null, changed: true });
      expect(await fse.readlink(path.join(store.dir, 'current'))).to.equal('generations/1');
      expect(await fse.readFile(store.activeCertPath, 'utf8')).to.equal(p.cert.toString());
      expect(await fse.readFile(store.activeKeyPath, 'utf8')).to.equal(p.key.toString());
      expect(await fse.readFile(store.activeCaPath, 'utf8')).to.equal(p.ca.toString());
      const active = await store.readActive();
      expect(active.generation).to.equal(1);
      expect(active.key.toString()).to.equal(p.key.toString());
    });

    it('a second install makes the first the rollback target', async () => {
      const store = await openStore();
      await store.install(await makePair());
      const r = await store.install(await makePair());
      expect(r).to.include({ generation: 2, previous: 1 });
      const s = await store.status();
      expect(s).to.include({ current: 2, previous: 1 });
      expect(s.generations.map((g) => [g.id, g.active, g.rollbackTarget, g.valid])).to.deep.equal([
        [1, false, true, true],
        [2, true, false, true],
      ]);
    });

    it('a refused pair leaves no trace', async () => {
      const store = await openStore();
      await store.install(await makePair());
      const before = await snapshot(store.dir);
      const a = await makePair();
      const b = await makePair();
      await expectCode(store.install({ cert: a.cert, key: b.key }), ErrorCodes.KEY_MISMATCH);
      expect(await snapshot(store.dir)).to.deep.equal(before);
    });

    it('applies the store-wide validation options', async () => {
      const store = await openStore({ validation: { expectName: 'device-9' } });
      await expectCode(store.install(await makePair({ name: 'device-1' })), ErrorCodes.NAME_MISMATCH);
      expect((await store.install(await makePair({ name: 'device-9' }))).generation).to.equal(1);
    });
  });

  describe('stage and activate', () => {
    it('refuses, and leaves nothing, when the bytes read back differ from those written (a failing disk)', async () => {
      const store = await openStore();
      await store.install(await makePair());
      const before = await snapshot(store.dir);
      const read = fsOps.read;
      // The disk returns one wrong byte for the first file read back from a staging directory.
      let corrupted = false;
      fsOps.read = async (fd, buf, offset, length) => {
        const n = await read(fd, buf, offset, length);
        if (!corrupted && n > 0) {
          corrupted = true;
          buf[offset] = buf[offset]! ^ 0xff;
        }
        return n;
      };
      try {
        const pair = await makePair();
        corrupted = true; // not while the input is validated: only once stage reads back
        const stage = store.stage(pair);
        corrupted = false;
        await expectCode(stage, ErrorCodes.READBACK_MISMATCH, /read back differ/);
      } finally {
        fsOps.read = read;
      }
      expect(await snapshot(store.dir)).to.deep.equal(before);
    });

    it('stages without activating, then activates', async () => {
      const store = await openStore();
      await store.install(await makePair());
      const { generation } = await store.stage(await makePair());
      expect(generation).to.equal(2);
      expect((await store.status()).current).to.equal(1);
      expect(await fse.pathExists(path.join(store.generationDir(2), '.meta.json'))).to.equal(true);
      const r = await store.activate(2);
      expect(r).to.include({ generation: 2, previous: 1, changed: true });
      expect((await store.activate(2)).changed).to.equal(false);
    });

    it('refuses a generation that does not exist', async () => {
      const store = await openStore();
      await expectCode(store.activate(5), ErrorCodes.NO_SUCH_GENERATION);
    });

    it('re-validates at activation: a generation that expired since staging is refused', async () => {
      let now = new Date();
      const store = await openStore({ now: () => now });
      await store.install(await makePair());
      await store.stage(await makePair({ notAfter: new Date(Date.now() + DAY_MS) }));
      now = new Date(Date.now() + 2 * DAY_MS);
      const before = await snapshot(store.dir);
      await expectCode(store.activate(2), ErrorCodes.EXPIRED, /generation 2/);
      expect(await snapshot(store.dir)).to.deep.equal(before);
    });

    it('refuses a generation whose files were damaged after staging', async () => {
      const store = await openStore();
      await store.install(await makePair());
      await store.stage(await makePair());
      await fse.writeFile(path.join(store.generationDir(2), 'key.pem'), (await makePair()).key);
      await expectCode(store.activate(2), ErrorCodes.KEY_MISMATCH);
      await fse.remove(path.join(store.generationDir(2), 'key.pem'));
      await expectCode(store.activate(2), ErrorCodes.INCOMPLETE_GENERATION);
      expect((await store.status()).current).to.equal(1);
    });
  });

  describe('rollback', () => {
    it('returns to the rollback target, and a second rollback undoes the first', async () => {
      const store = await openStore();
      for (let i = 0; i < 3; i++) await store.install(await makePair());
      expect((await store.rollback()).generation).to.equal(2);
      expect((await store.status()).previous).to.equal(3);
      expect((await store.rollback()).generation).to.equal(3);
      expect((await store.rollback(1)).generation).to.equal(1);
      expect((await store.status()).previous).to.equal(3);
      expect(await fse.readlink(path.join(store.dir, 'current'))).to.equal('generations/1');
    });

    it('refuses with no rollback target recorded', async () => {
      const store = await openStore();
      await store.install(await makePair());
      await expectCode(store.rollback(), ErrorCodes.NO_ROLLBACK_TARGET);
    });

    it('refuses with nothing active', async () => {
      await expectCode((await openStore()).rollback(), ErrorCodes.NO_ACTIVE);
    });

    it('refuses a target that does not validate and changes nothing', async () => {
      let now = new Date();
      const store = await openStore({ now: () => now });
      await store.install(await makePair({ notAfter: new Date(Date.now() + DAY_MS) }));
      await store.install(await makePair());
      now = new Date(Date.now() + 2 * DAY_MS);
      const before = await snapshot(store.dir);
      await expectCode(store.rollback(), ErrorCodes.EXPIRED);
      await expectCode(store.rollback(7), ErrorCodes.NO_SUCH_GENERATION);
      expect(await snapshot(store.dir)).to.deep.equal(before);
    });
  });

  describe('prune', () => {
    it('keeps the newest N plus the active generation and its rollback target', async () => {
      const store = await openStore();
      for (let i = 0; i < 6; i++) await store.install(await makePair());
      await store.activate(2); // active 2; its rollback target is 6
      await store.stage(await makePair()); // 7, the newest
      const r = await store.prune(1);
      expect(r.removed).to.deep.equal([1, 3, 4, 5]);
      expect(r.kept).to.deep.equal([2, 6, 7]);
      const names = (await fse.readdir(path.join(store.dir, 'generations'))).sort();
      expect(names).to.deep.equal(['2', '6', '7']);
      expect((await store.rollback()).generation).to.equal(6);
    });

    it('defaults to keeping 3 and never reuses a pruned number', async () => {
      const store = await openStore();
      for (let i = 0; i < 5; i++) await store.install(await makePair());
      expect((await store.prune()).removed).to.deep.equal([1, 2]);
      await store.stage(await makePair()); // 6
      await store.rollback(); // back to 4; its rollback target is now 5
      expect((await store.prune(0)).removed).to.deep.equal([3, 6]);
      expect((await store.stage(await makePair())).generation).to.equal(7);
    });

    it('clears leftovers of interrupted operations', async () => {
      const store = await openStore();
      await store.install(await makePair());
      await fse.mkdir(path.join(store.dir, 'generations', '.staging-1-abc'));
      await fse.mkdir(path.join(store.dir, 'generations', '.trash-9-abc'));
      await fse.symlink('generations/1', path.join(store.dir, '.current.tmp-1-ab'));
      const r = await store.prune();
      expect(r.leftoversRemoved).to.have.length(3);
      expect(await fse.readdir(path.join(store.dir, 'generations'))).to.deep.equal(['1']);
    });

    it('refuses a negative keep', async () => {
      await expectCode((await openStore()).prune(-1), ErrorCodes.BAD_ARGUMENT);
    });
  });

  describe('status', () => {
    it('reports every field per generation', async () => {
      const store = await openStore();
      const p = await makePair({ name: 'device-3', alg: 'P-384' });
      await store.install(p);
      const g = (await store.status()).generations[0]!;
      expect(g).to.include({
        id: 1,
        active: true,
        valid: true,
        subject: 'CN=device-3',
        keyType: 'EC P-384',
        issuer: 'CN=certswap test CA',
      });
      expect(g.sans).to.deep.equal(['DNS:device-3']);
      expect(g.fingerprint).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(g.serial).to.match(/^[0-9A-F]+$/);
      expect(Date.parse(g.notAfter!)).to.be.greaterThan(Date.now());
    });

    it('falls back to validating the files when the summary is missing', async () => {
      const store = await openStore();
      await store.install(await makePair());
      await store.install(await makePair());
      await fse.remove(path.join(store.generationDir(1), '.meta.json'));
      await fse.remove(path.join(store.generationDir(2), '.meta.json'));
      await fse.writeFile(path.join(store.generationDir(1), 'key.pem'), (await makePair()).key);
      const s = await store.status();
      expect(s.generations.map((g) => [g.valid, g.problem])).to.deep.equal([
        [false, ErrorCodes.KEY_MISMATCH],
        [true, undefined],
      ]);
    });

    it('marks expired generations invalid', async () => {
      let now = new Date();
      const store = await openStore({ now: () => now });
      await store.install(await makePair({ notAfter: new Date(Date.now() + DAY_MS) }));
      now = new Date(Date.now() + 2 * DAY_MS);
      expect((await store.status()).generations[0]).to.include({ valid: false, problem: ErrorCodes.EXPIRED });
    });
  });

  describe('verify', () => {
    it('passes for a good active pair and fails when its key was replaced', async () => {
      const store = await openStore();
      await expectCode(store.verify(), ErrorCodes.NO_ACTIVE);
      await store.install(await makePair());
      expect((await store.verify()).generation).to.equal(1);
      await fse.writeFile(path.join(store.generationDir(1), 'key.pem'), (await makePair()).key);
      await expectCode(store.verify(), ErrorCodes.KEY_MISMATCH, /generation 1/);
    });
  });
});
