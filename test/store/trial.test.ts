import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, ErrorCodes } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';

async function withTwo(): Promise<GenerationStore> {
  const store = await GenerationStore.open(await storeDir());
  await store.install(await makePair());
  await store.stage(await makePair());
  return store;
}

describe('trial activation', () => {
  it('commit confirms the trial', async () => {
    const store = await withTwo();
    await store.activate(2, { trial: true });
    expect((await store.status()).trial).to.include({ generation: 2, returnTo: 1 });
    expect(await store.commit()).to.deep.equal({ generation: 2 });
    expect((await store.status()).trial).to.equal(null);
    expect((await store.recover()).trialRolledBack).to.equal(null);
    expect((await store.status()).current).to.equal(2);
    await expectCode(store.commit(), ErrorCodes.NO_TRIAL);
  });

  it('rollback ends the trial by returning to the generation before it', async () => {
    const store = await withTwo();
    await store.activate(2, { trial: true });
    const r = await store.rollback();
    expect(r).to.include({ generation: 1, previous: 2 });
    const s = await store.status();
    expect(s).to.include({ current: 1, trial: null });
  });

  it('refuses another activation while a trial is pending', async () => {
    const store = await withTwo();
    await store.activate(2, { trial: true });
    await expectCode(store.activate(1), ErrorCodes.TRIAL_PENDING);
    await expectCode(store.install(await makePair()), ErrorCodes.TRIAL_PENDING);
  });

  it('recover rolls back a trial that was never committed (the device restarted)', async () => {
    const store = await withTwo();
    await store.activate(2, { trial: true });
    const again = await GenerationStore.open(store.dir);
    const r = await again.recover();
    expect(r.trialRolledBack).to.deep.equal({ from: 2, to: 1 });
    expect(r.problems).to.deep.equal([]);
    expect(await fse.readlink(path.join(store.dir, 'current'))).to.equal('generations/1');
    expect(await fse.pathExists(path.join(store.dir, '.trial'))).to.equal(false);
    expect((await again.recover()).trialRolledBack).to.equal(null);
  });

  it('recover only removes the marker when the crash came before the switch', async () => {
    const store = await withTwo();
    await fse.writeFile(
      path.join(store.dir, '.trial'),
      JSON.stringify({ generation: 2, returnTo: 1, startedAt: new Date().toISOString() }),
    );
    const r = await store.recover();
    expect(r.trialRolledBack).to.equal(null);
    expect(await store.status()).to.include({ current: 1, trial: null });
  });

  it('a first install on trial that is rolled back leaves nothing active', async () => {
    const store = await GenerationStore.open(await storeDir());
    await store.install(await makePair(), { trial: true });
    const r = await store.rollback();
    expect(r).to.deep.equal({ generation: null, previous: 1, changed: true, info: null });
    expect(await fse.pathExists(path.join(store.dir, 'current'))).to.equal(false);
    await store.install(await makePair(), { trial: true });
    expect((await store.recover()).trialRolledBack).to.deep.equal({ from: 2, to: null });
    expect((await store.status()).current).to.equal(null);
  });

  it('reports an unreadable trial marker and leaves it: never taken for "no trial"; rollback --to ends it', async () => {
    const store = await withTwo();
    for (const text of [
      'garbage',
      '{"generation":"2","returnTo":1,"startedAt":"x"}',
      '{"generation":2,"returnTo":1}',
      '{"generation":2.5,"returnTo":1,"startedAt":"x"}',
    ]) {
      await fse.writeFile(path.join(store.dir, '.trial'), text, { mode: 0o600 });
      const r = await store.recover();
      expect(r.problems.map((p) => `${p.code} ${p.message}`).join(), text).to.match(
        /CERTSWAP_CORRUPT_STORE .*unreadable trial record/,
      );
      expect(await fse.readFile(path.join(store.dir, '.trial'), 'utf8')).to.equal(text);
      await expectCode(store.install(await makePair()), ErrorCodes.CORRUPT_STORE);
      await expectCode(store.rollback(), ErrorCodes.CORRUPT_STORE);
    }
    expect((await store.rollback(1)).generation).to.equal(1);
    expect(await fse.pathExists(path.join(store.dir, '.trial'))).to.equal(false);
    expect((await store.recover()).problems).to.deep.equal([]);
  });

  it('recover returns from a trial whose current was replaced by a link that is not canonical (generations/2/)', async () => {
    for (const target of ['generations/2/', './generations/2', 'ABS']) {
      const store = await GenerationStore.open(await storeDir());
      await store.install(await makePair());
      await store.install(await makePair(), { trial: true });
      const current = path.join(store.dir, 'current');
      await fse.remove(current);
      await fse.symlink(target === 'ABS' ? store.generationDir(2) : target, current);
      const r = await store.recover();
      expect(r.trialRolledBack, target).to.deep.equal({ from: 2, to: 1 });
      expect(r.current).to.equal(1);
      expect((await store.status()).trial).to.equal(null);
    }
  });

  it('a trial marker that names neither current nor the generation to return to is reported and kept', async () => {
    const store = await withTwo();
    await store.install(await makePair()); // 3 active, 1 and 2 not
    await fse.writeFile(
      path.join(store.dir, '.trial'),
      JSON.stringify({ generation: 2, returnTo: 1, startedAt: 'x' }),
      { mode: 0o600 },
    );
    const r = await store.recover();
    expect(r.problems.map((p) => p.code)).to.deep.equal([ErrorCodes.CORRUPT_STORE]);
    expect(await fse.pathExists(path.join(store.dir, '.trial'))).to.equal(true);
    expect(r.current).to.equal(3);
  });
});
