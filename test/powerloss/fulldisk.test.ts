/** A real full disk: a tiny ext4 filled up, then an install that must fail cleanly. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import fse from 'fs-extra';
import { GenerationStore } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { runTempDir } from '../helpers/tmp.js';
import { snapshot } from '../helpers/snapshot.js';
import { expectCode } from '../helpers/expect-code.js';
import { checkStoreInvariants } from '../helpers/invariants.js';
import { LoopFs, requireLoopDevices } from './loopfs.js';

const exec = promisify(execFile);

describe('full disk', function () {
  this.timeout(120_000);
  let fs: LoopFs | undefined;

  before(async function () {
    await requireLoopDevices(this, 'full-disk test');
    fs = new LoopFs('ext4', await runTempDir('certswap-full-'), '8M');
    await fs.setup();
  });

  after(async () => {
    await fs?.teardown();
  });

  it('an install on a full file system fails with ENOSPC and changes nothing; after space is freed it succeeds', async () => {
    const dir = path.join(fs!.mnt, 'store');
    const store = await GenerationStore.open(dir);
    await store.install(await makePair());
    const before = await snapshot(dir);
    const filler = path.join(fs!.mnt, 'filler');
    // dd stops at ENOSPC; as root it also uses ext4's reserved blocks, so nothing is left.
    await exec('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4096']).catch(() => undefined);
    await exec('sync', ['-f', fs!.mnt]);
    await expectCode(store.install(await makePair()), 'ENOSPC');
    expect(await snapshot(dir)).to.deep.equal(before);
    await checkStoreInvariants(dir, 'full disk', { noLeftovers: true });
    await fse.remove(filler);
    expect((await store.recover()).problems).to.deep.equal([]);
    expect((await store.install(await makePair())).generation).to.equal(2);
  });
});
