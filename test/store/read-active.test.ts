import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, ErrorCodes } from '../../src/index.js';
import { fsOps } from '../../src/io/fs.js';
import { makePair } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';

describe('readActive', () => {
  const realOpen = fsOps.open;
  afterEach(() => {
    fsOps.open = realOpen;
  });

  it('resolves again when the generation it resolved is pruned between the certificate and the key', async () => {
    const store = await GenerationStore.open(await storeDir());
    const first = await makePair();
    const second = await makePair();
    await store.install(first);
    await store.install(second);
    await store.rollback(); // active 1
    let raced = false;
    fsOps.open = async (file, flags, mode) => {
      if (!raced && file === path.join(store.generationDir(1), 'key.pem')) {
        raced = true;
        // Another process activates 2 and prunes 1 between our two reads.
        await fse.remove(path.join(store.dir, 'current'));
        await fse.symlink('generations/2', path.join(store.dir, 'current'));
        await fse.move(store.generationDir(1), path.join(store.dir, 'generations', '.trash-1-x'));
      }
      return realOpen(file, flags, mode);
    };
    const r = await store.readActive();
    expect(raced).to.equal(true);
    expect(r.generation).to.equal(2);
    expect(r.cert.toString()).to.equal(second.cert.toString());
    expect(r.key.toString()).to.equal(second.key.toString());
  });

  it('refuses to follow a symlink planted as a generation or as a file inside one', async () => {
    const store = await GenerationStore.open(await storeDir());
    await store.install(await makePair());
    const key = path.join(store.generationDir(1), 'key.pem');
    await fse.move(key, `${key}.real`);
    await fse.symlink(`${key}.real`, key);
    await expectCode(store.readActive(), ErrorCodes.UNSAFE_STORE, /symbolic link/);
    await fse.move(store.generationDir(1), path.join(store.dir, 'elsewhere'));
    await fse.symlink(path.join(store.dir, 'elsewhere'), store.generationDir(1));
    await expectCode(store.readActive(), ErrorCodes.UNSAFE_STORE);
  });

  it('refuses a current that points outside the store', async () => {
    const store = await GenerationStore.open(await storeDir());
    await fse.symlink('/etc', path.join(store.dir, 'current'));
    await expectCode(store.readActive(), ErrorCodes.UNSAFE_STORE, /outside generations/);
    const s = await store.status();
    expect(s.current).to.equal(null);
    expect(s.currentProblem).to.match(/outside/);
  });
});
