/** Nothing outside the store is followed or touched, whatever is planted inside it. */
import { expect } from 'chai';
import fse from 'fs-extra';
import fs from 'node:fs';
import path from 'node:path';
import { GenerationStore, ErrorCodes } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';
import { certswap } from '../helpers/proc.js';
import { describeIoModes } from '../helpers/io-modes.js';

describe('path and symlink safety', () => {
  it('generation arguments that could name another path are usage errors', async () => {
    const dir = await storeDir();
    for (const gen of ['../1', '1/..', '01', '-1', '1e3', '99999999999999999999', '', ' 1', '0x1']) {
      const r = await certswap(['activate', '--dir', dir, '--', gen]);
      expect(r.code, `activate ${JSON.stringify(gen)}: ${r.stderr}`).to.equal(2);
      const t = await certswap(['rollback', '--dir', dir, '--to', gen]);
      expect(t.code, `rollback --to ${JSON.stringify(gen)}`).to.equal(2);
    }
  });

  // In-process: once with thread-pool I/O, once with blocking I/O (the CLI's).
  describeIoModes('in-process', () => {
    it('a generations/<n> that is a file or a symlink out of the store is refused, and its target untouched', async () => {
      const store = await GenerationStore.open(await storeDir());
      await store.install(await makePair());
      const outside = await tempDir();
      await fse.outputFile(path.join(outside, 'cert.pem'), 'outside');
      await fse.symlink(outside, store.generationDir(2));
      await fse.writeFile(store.generationDir(3), 'a file');
      await expectCode(store.activate(2), ErrorCodes.UNSAFE_STORE, /not a directory/);
      await expectCode(store.activate(3), ErrorCodes.UNSAFE_STORE, /not a directory/);
      await expectCode(store.rollback(2), ErrorCodes.UNSAFE_STORE);
      expect((await store.status()).current).to.equal(1);
      // Reported (they are not generations), left alone (their names count as taken), never followed.
      expect((await store.recover()).problems).to.deep.equal([
        { code: ErrorCodes.UNSAFE_STORE, message: 'non-directory entry generations/2 left alone' },
        { code: ErrorCodes.UNSAFE_STORE, message: 'non-directory entry generations/3 left alone' },
      ]);
      expect(await fse.readFile(path.join(outside, 'cert.pem'), 'utf8')).to.equal('outside');
      // Numbers are still never reused: the planted names count as taken.
      expect((await store.stage(await makePair())).generation).to.equal(4);
    });

    it('a staging or temporary name planted as a symlink to a file outside is removed as a link; the file survives', async () => {
      const store = await GenerationStore.open(await storeDir());
      await store.install(await makePair());
      const outside = path.join(await tempDir(), 'precious');
      await fse.writeFile(outside, 'keep me');
      await fse.symlink(outside, path.join(store.dir, 'generations', '.staging-1-abcdef'));
      await fse.symlink(outside, path.join(store.dir, '.current.tmp-1-abcdef'));
      await fse.symlink(path.dirname(outside), path.join(store.dir, 'generations', '.trash-1-abcdef'));
      expect((await store.recover()).leftoversRemoved).to.have.length(3);
      expect(await fse.readFile(outside, 'utf8')).to.equal('keep me');
      await store.install(await makePair());
      expect(await fse.readFile(outside, 'utf8')).to.equal('keep me');
    });

    it('a current pointed outside generations/ is never followed by readers, and recover repoints it', async () => {
      const store = await GenerationStore.open(await storeDir());
      await store.install(await makePair());
      const evil = await makePair();
      const outside = await tempDir();
      await fse.writeFile(path.join(outside, 'cert.pem'), evil.cert);
      await fse.writeFile(path.join(outside, 'key.pem'), evil.key);
      await fse.remove(path.join(store.dir, 'current'));
      await fse.symlink(outside, path.join(store.dir, 'current'));
      await expectCode(store.readActive(), ErrorCodes.UNSAFE_STORE);
      await expectCode(store.verify(), ErrorCodes.UNSAFE_STORE);
      await expectCode(store.install(await makePair()), ErrorCodes.UNSAFE_STORE);
      expect((await store.recover()).repointed).to.include({ to: 1 });
      expect((await store.readActive()).generation).to.equal(1);
      expect(await fse.readdir(outside)).to.deep.equal(['cert.pem', 'key.pem']);
    });

    it('leftovers whose names are not UTF-8 are removed all the same (a provisioner may leave one)', async () => {
      const store = await GenerationStore.open(await storeDir());
      await store.install(await makePair());
      await store.install(await makePair(), { trial: true });
      const raw = (p: string, tail: number[]): Buffer => Buffer.concat([Buffer.from(p), Buffer.from(tail)]);
      // A pid above the kernel's largest (2^22): its process cannot be alive.
      const provision = path.join(store.dir, '.provision-99999999-abc');
      await fse.mkdir(provision);
      fs.writeFileSync(raw(`${provision}/tmp`, [0xe9]), 'x');
      fs.mkdirSync(raw(path.join(store.dir, 'generations', '.staging-'), [0xff]));
      fs.writeFileSync(raw(path.join(store.dir, 'generations', '.trash-1-'), [0xfe, 0x41]), 'x');
      const r = await store.recover();
      expect(r.problems).to.deep.equal([]);
      expect(r.trialRolledBack).to.deep.equal({ from: 2, to: 1 });
      expect(
        fs
          .readdirSync(store.dir, { encoding: 'buffer' })
          .map((b) => b.toString('latin1'))
          .sort(),
      ).to.deep.equal(['.history', '.lock', 'current', 'generations']);
      expect(
        fs
          .readdirSync(path.join(store.dir, 'generations'), { encoding: 'buffer' })
          .map((b) => b.toString('latin1'))
          .sort(),
      ).to.deep.equal(['1', '2']);
    });

    it('a store file with a second name (a hard link) is refused: it may live outside the store', async () => {
      const store = await GenerationStore.open(await storeDir());
      await store.install(await makePair());
      const outside = path.join(await tempDir(), 'key-copy');
      await fse.link(path.join(store.generationDir(1), 'key.pem'), outside);
      await expectCode(store.readActive(), ErrorCodes.UNSAFE_STORE, /2 names/);
      await fse.remove(outside);
      // The lock too: whoever can open another name of it could hold our lock for ever.
      await fse.link(path.join(store.dir, '.lock'), path.join(await tempDir(), 'lock-copy'));
      await expectCode(store.prune(), ErrorCodes.UNSAFE_STORE, /not a lock file of ours/);
    });

    it('status never shows a summary from outside the store, nor one that poses as another generation', async () => {
      const store = await GenerationStore.open(await storeDir());
      const a = await store.install(await makePair());
      await store.install(await makePair());
      const meta = path.join(store.generationDir(1), '.meta.json');
      const real = JSON.parse(await fse.readFile(meta, 'utf8')) as Record<string, unknown>;
      await fse.writeFile(meta, JSON.stringify({ ...real, id: 2, active: true, subject: 'x'.repeat(100_000) }));
      let s = await store.status();
      expect(s.generations.map((g) => [g.id, g.active, g.subject === real.subject])).to.deep.equal([
        [1, false, true],
        [2, true, true],
      ]);
      expect(s.generations[0]!.fingerprint).to.equal(a.info.fingerprint);
      const outside = await tempDir();
      await fse.copy(store.generationDir(2), path.join(outside, 'g'));
      await fse.writeFile(path.join(outside, 'g', '.meta.json'), JSON.stringify({ ...real, fingerprint: 'AA:BB' }));
      await fse.symlink(path.join(outside, 'g'), store.generationDir(3));
      s = await store.status();
      expect(s.generations.find((g) => g.id === 3)).to.deep.equal({
        id: 3,
        active: false,
        rollbackTarget: false,
        valid: false,
        problem: ErrorCodes.UNSAFE_STORE,
      });
    });
  });
});
