/**
 * The two I/O modes (thread-pool calls, the default; blocking calls, the CLI's) must make the same
 * mutating calls in the same order: the crash-safety argument, and the crash and fault suites that
 * check it, are per system call. And the validation shortcut for generations unchanged since
 * staging must never let a damaged or expired generation through.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, ErrorCodes, useBlockingIo } from '../../src/index.js';
import { fsHooks, type MutatingOp } from '../../src/io/fs.js';
import { makePair, DAY_MS } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';

/** The mutating calls (op and path relative to the store) a scripted session makes. */
async function session(blocking: boolean, pairs: Awaited<ReturnType<typeof makePair>>[]): Promise<string[]> {
  const dir = await storeDir();
  const calls: string[] = [];
  useBlockingIo(blocking);
  fsHooks.afterMutation = (op: MutatingOp, p: string) =>
    calls.push(`${op} ${path.relative(dir, p).replace(/(tmp|staging|trash)-[\w-]+/g, '$1-*')}`);
  try {
    const store = await GenerationStore.open(dir);
    for (const p of pairs) await store.install(p);
    await store.rollback();
    await store.activate(3, { trial: true });
    await store.commit();
    await store.prune(2);
    await store.recover();
    const active = await store.readActive();
    expect(active.generation).to.equal(3);
  } finally {
    fsHooks.afterMutation = undefined;
    useBlockingIo(false);
  }
  return calls;
}

describe('I/O modes and the staged-pair shortcut', () => {
  it('blocking I/O makes exactly the mutating calls thread-pool I/O makes, in the same order', async () => {
    const pairs = [await makePair(), await makePair(), await makePair()];
    const threadPool = await session(false, pairs);
    const blocking = await session(true, pairs);
    expect(threadPool.length).to.be.greaterThan(40);
    // stage writes its four files side by side, in whatever order the thread pool finishes them:
    // those calls are compared as a set, everything else in order.
    const inStaging = (c: string): boolean => /^(open|fchmod|write|fsync) generations\/\.staging-\*\/./.test(c);
    expect(blocking.filter((c) => !inStaging(c))).to.deep.equal(threadPool.filter((c) => !inStaging(c)));
    expect([...blocking].sort()).to.deep.equal([...threadPool].sort());
  });

  it('refuses a generation whose key was replaced after staging (the digests differ, so it is validated in full)', async () => {
    const store = await GenerationStore.open(await storeDir());
    await store.install(await makePair());
    await store.install(await makePair());
    const other = await makePair();
    const key = path.join(store.generationDir(1), 'key.pem');
    await fse.chmod(key, 0o600);
    await fse.writeFile(key, other.key);
    await expectCode(store.rollback(), ErrorCodes.KEY_MISMATCH);
    expect((await store.status()).current).to.equal(2);
  });

  it('still validates in full when the recorded digests are damaged, and accepts a good pair', async () => {
    const store = await GenerationStore.open(await storeDir());
    await store.install(await makePair());
    await store.install(await makePair());
    const meta = path.join(store.generationDir(1), '.meta.json');
    const m = await fse.readJson(meta);
    m.sha256.key = '00'.repeat(32);
    await fse.writeJson(meta, m);
    const r = await store.rollback();
    expect(r.generation).to.equal(1);
  });

  it('checks dates on the shortcut: a generation that expired since it was staged is refused', async () => {
    const dir = await storeDir();
    let now = Date.now();
    const store = await GenerationStore.open(dir, { now: () => new Date(now) });
    await store.install(await makePair({ notAfter: new Date(Date.now() + DAY_MS) }));
    await store.install(await makePair({ notAfter: new Date(Date.now() + 30 * DAY_MS) }));
    now += 2 * DAY_MS;
    await expectCode(store.rollback(), ErrorCodes.EXPIRED);
  });

  it('checks the options on the shortcut: an EKU the generation lacks is refused', async () => {
    const dir = await storeDir();
    const first = await GenerationStore.open(dir);
    await first.install(await makePair({ eku: ['1.3.6.1.5.5.7.3.1'] })); // serverAuth only
    await first.install(await makePair({ eku: ['1.3.6.1.5.5.7.3.2'] }));
    const strict = await GenerationStore.open(dir, { validation: { requireEku: ['clientAuth'] } });
    await expectCode(strict.rollback(), ErrorCodes.EKU_MISSING);
  });
});
