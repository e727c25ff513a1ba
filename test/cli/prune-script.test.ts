import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { CLI } from '../helpers/proc.js';

const run = promisify(execFile);
const SCRIPT = path.resolve('scripts', 'certswap-prune');

describe('scripts/certswap-prune', () => {
  const env = { ...process.env, CERTSWAP: `${process.execPath} ${CLI}` };

  it('recovers and prunes every store it is given', async () => {
    const dirs = [await storeDir(), await storeDir()];
    for (const dir of dirs) {
      const store = await GenerationStore.open(dir);
      for (let i = 0; i < 5; i++) await store.install(await makePair());
      await fse.mkdir(path.join(dir, 'generations', '.staging-9-ab'));
    }
    await run(SCRIPT, dirs, { env: { ...env, CERTSWAP_KEEP: '2' } });
    for (const dir of dirs) expect((await fse.readdir(path.join(dir, 'generations'))).sort()).to.deep.equal(['4', '5']);
  });

  it('uses CERTSWAP_DIR, and fails for a store it cannot use while still doing the others', async () => {
    const good = await storeDir();
    const store = await GenerationStore.open(good);
    for (let i = 0; i < 4; i++) await store.install(await makePair());
    await run(SCRIPT, [], { env: { ...env, CERTSWAP_DIR: good } });
    expect((await fse.readdir(path.join(good, 'generations'))).sort()).to.deep.equal(['2', '3', '4']);

    const bad = await storeDir();
    await fse.mkdir(bad, { mode: 0o777 });
    await fse.chmod(bad, 0o777);
    const err = await run(SCRIPT, [bad, good], { env }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).to.equal(1);
    expect(err?.stderr).to.match(/CERTSWAP_UNSAFE_STORE/);
  });

  it('refuses a bad CERTSWAP_KEEP and a missing directory with exit 2', async () => {
    for (const e of [{ CERTSWAP_KEEP: 'x', CERTSWAP_DIR: '/tmp' }, { CERTSWAP_DIR: '' }]) {
      const err = await run(SCRIPT, [], { env: { ...env, ...e } }).then(
        () => null,
        (x: { code: number }) => x,
      );
      expect(err?.code).to.equal(2);
    }
  });
});
