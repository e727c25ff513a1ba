import { expect } from 'chai';
import { once } from 'node:events';
import { GenerationStore, ErrorCodes } from '../../src/index.js';
import { acquireLock } from '../../src/io/lock.js';
import { makePair } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';
import { certswap, fixture, waitForLine } from '../helpers/proc.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';

describe('lock', () => {
  it('makes a second operation wait, then fail with CERTSWAP_BUSY after its timeout', async () => {
    const store = await GenerationStore.open(await storeDir(), { lockTimeoutMs: 150 });
    const held = await acquireLock(store.paths.lock);
    try {
      await expectCode(store.install(await makePair()), ErrorCodes.BUSY, /store is busy/);
    } finally {
      await held.release();
    }
    expect((await store.install(await makePair())).generation).to.equal(1);
  });

  it('serialises operations of one process on one store', async () => {
    const store = await GenerationStore.open(await storeDir());
    const pairs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => makePair()));
    const results = await Promise.all(pairs.map((p) => store.install(p)));
    expect(results.map((r) => r.generation).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('a holder killed with SIGKILL does not block the next operation', async () => {
    const dir = await storeDir();
    const holder = fixture('hold-lock.ts', [dir]);
    await waitForLine(holder, 'locked');
    const store = await GenerationStore.open(dir, { lockTimeoutMs: 100 });
    await expectCode(store.install(await makePair()), ErrorCodes.BUSY);
    holder.kill('SIGKILL');
    await once(holder, 'close');
    // The kernel dropped the OFD lock with the process: no stale-lock timeout to wait out.
    const fast = await GenerationStore.open(dir, { lockTimeoutMs: 1000 });
    expect((await fast.install(await makePair())).generation).to.equal(1);
  });

  it('two CLI processes racing on one store both succeed, with distinct generations', async () => {
    const dir = await storeDir();
    const files = await tempDir();
    const args: string[][] = [];
    for (let i = 0; i < 8; i++) {
      const p = await makePair();
      const cert = path.join(files, `c${i}.pem`);
      const key = path.join(files, `k${i}.pem`);
      await writeFile(cert, p.cert);
      await writeFile(key, p.key);
      args.push(['install', '--dir', dir, '--cert', cert, '--key', key, '--json']);
    }
    const gens: number[] = [];
    for (let round = 0; round < 4; round++) {
      const [a, b] = await Promise.all([certswap(args[2 * round]!), certswap(args[2 * round + 1]!)]);
      for (const r of [a!, b!]) {
        expect(r.code, r.stderr).to.equal(0);
        gens.push((JSON.parse(r.stdout) as { generation: number }).generation);
      }
    }
    expect(gens.sort((x, y) => x - y)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    const s = await (await GenerationStore.open(dir)).status();
    expect(s.generations.every((g) => g.valid)).to.equal(true);
  });
});
