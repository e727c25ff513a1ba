import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { GenerationStore, ErrorCodes } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { snapshot } from '../helpers/snapshot.js';
import { expectCode } from '../helpers/expect-code.js';

async function twoGenerations(): Promise<GenerationStore> {
  const store = await GenerationStore.open(await storeDir());
  await store.install(await makePair());
  await store.install(await makePair());
  return store;
}

describe('recover', () => {
  it('does nothing to a healthy store, and is idempotent', async () => {
    const store = await twoGenerations();
    const before = await snapshot(store.dir);
    const r = await store.recover();
    expect(r).to.deep.equal({ leftoversRemoved: [], trialRolledBack: null, repointed: null, problems: [], current: 2 });
    expect(await store.recover()).to.deep.equal(r);
    expect(await snapshot(store.dir)).to.deep.equal(before);
  });

  it('removes staging and trash directories and temporary entries', async () => {
    const store = await twoGenerations();
    const before = await snapshot(store.dir);
    await fse.outputFile(path.join(store.dir, 'generations', '.staging-42-aa', 'cert.pem'), 'x');
    await fse.mkdir(path.join(store.dir, 'generations', '.trash-1-bb'));
    await fse.symlink('generations/1', path.join(store.dir, '.current.tmp-42-cc'));
    await fse.writeFile(path.join(store.dir, '.history.tmp-42-dd'), '');
    expect((await store.recover()).leftoversRemoved).to.have.length(4);
    expect(await snapshot(store.dir)).to.deep.equal(before);
  });

  it('repoints a dangling current at the newest valid generation', async () => {
    const store = await twoGenerations();
    await fse.remove(store.generationDir(2));
    const r = await store.recover();
    expect(r.repointed).to.deep.include({ from: 'generations/2', to: 1 });
    expect(await fse.readlink(path.join(store.dir, 'current'))).to.equal('generations/1');
  });

  it('repoints away from a generation whose key does not match', async () => {
    const store = await twoGenerations();
    await fse.writeFile(path.join(store.generationDir(2), 'key.pem'), (await makePair()).key);
    const r = await store.recover();
    expect(r.repointed?.to).to.equal(1);
    expect(r.repointed?.reason).to.match(/CERTSWAP_KEY_MISMATCH|does not match/);
  });

  it('repoints a current that points outside generations/, without touching the outside', async () => {
    const store = await twoGenerations();
    const outside = await tempDir();
    await fse.writeFile(path.join(outside, 'cert.pem'), 'attacker');
    await fse.remove(path.join(store.dir, 'current'));
    await fse.symlink(outside, path.join(store.dir, 'current'));
    const r = await store.recover();
    expect(r.repointed).to.deep.include({ from: outside, to: 2 });
    expect(await fse.readFile(path.join(outside, 'cert.pem'), 'utf8')).to.equal('attacker');
  });

  it('leaves an absent current absent: nothing installed is a valid state', async () => {
    const store = await twoGenerations();
    await fse.remove(path.join(store.dir, 'current'));
    const r = await store.recover();
    expect(r).to.include({ repointed: null, current: null });
    expect(r.problems).to.deep.equal([]);
  });

  it('leaves current absent before the first activation', async () => {
    const store = await GenerationStore.open(await storeDir());
    await store.stage(await makePair());
    const r = await store.recover();
    expect(r).to.include({ repointed: null, current: null });
    expect(r.problems).to.deep.equal([]);
  });

  it('reports, and leaves alone, a directory planted as current and unknown entries', async () => {
    const store = await twoGenerations();
    await fse.remove(path.join(store.dir, 'current'));
    await fse.mkdir(path.join(store.dir, 'current'));
    await fse.mkdir(path.join(store.dir, 'generations', 'notes'));
    const r = await store.recover();
    expect(r.problems.map((p) => p.message).join('\n'))
      .to.match(/not a symlink/)
      .and.match(/generations\/notes/);
    expect((await fse.lstat(path.join(store.dir, 'current'))).isDirectory()).to.equal(true);
  });

  it('reports when no generation is usable', async () => {
    const store = await twoGenerations();
    for (const n of [1, 2]) await fse.remove(path.join(store.generationDir(n), 'cert.pem'));
    const r = await store.recover();
    expect(r.repointed).to.equal(null);
    expect(r.problems.map((p) => p.message).join('\n')).to.match(/no generation validates/);
  });

  it('reports and resets an unreadable rollback record, so that activation works again', async () => {
    const store = await twoGenerations();
    await fse.writeFile(path.join(store.dir, '.history'), 'garbage\n');
    await expectCode(store.install(await makePair()), 'CERTSWAP_CORRUPT_STORE');
    expect((await store.recover()).problems.map((p) => p.message).join('\n')).to.match(/rollback record.*reset it/);
    expect((await store.recover()).problems).to.deep.equal([]);
    expect((await store.status()).previous).to.equal(null);
    expect((await store.install(await makePair())).previous).to.equal(2);
  });

  it('never reuses a number the rollback record names, even if the high-water mark was removed; recover raises the mark', async () => {
    const store = await twoGenerations();
    await store.install(await makePair());
    await store.install(await makePair()); // 4 active, 3 its rollback target
    await store.prune(1); // removes 1 and 2; the mark is 4
    await fse.remove(path.join(store.generationDir(4)));
    await fse.remove(path.join(store.dir, 'current'));
    await fse.remove(path.join(store.dir, '.highwater'));
    // 3 is the newest generation left; the record still names 4.
    const r = await store.recover();
    expect(r.problems.map((p) => p.code)).to.include(ErrorCodes.CORRUPT_STORE);
    expect((await fse.readFile(path.join(store.dir, '.highwater'), 'utf8')).trim()).to.equal('4');
    expect((await store.stage(await makePair())).generation).to.equal(5);
  });

  it('does nothing in a directory that is not a store (a mistyped --dir): files with our names are left alone', async () => {
    const dir = await storeDir();
    await fse.mkdirp(path.join(dir, '.provision-cache'), { mode: 0o700 });
    await fse.chmod(dir, 0o700);
    await fse.writeFile(path.join(dir, '.history'), 'shell history\n');
    const store = await GenerationStore.open(dir);
    const r = await store.recover();
    expect(r).to.deep.equal({
      leftoversRemoved: [],
      trialRolledBack: null,
      repointed: null,
      problems: [],
      current: null,
    });
    expect(await fse.readFile(path.join(dir, '.history'), 'utf8')).to.equal('shell history\n');
    expect(await fse.pathExists(path.join(dir, '.provision-cache'))).to.equal(true);
  });

  it("leaves a provisioner's work directory alone while its process lives; removes it once the process is gone", async () => {
    const store = await twoGenerations();
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const work = path.join(store.dir, `.provision-${child.pid}-abcdef`);
      await fse.mkdir(work, { mode: 0o700 });
      expect((await store.recover()).leftoversRemoved).to.deep.equal([]);
      expect((await store.prune()).leftoversRemoved).to.deep.equal([]);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect((await store.recover()).leftoversRemoved).to.deep.equal([work]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
