/**
 * I/O errors at every step: for each operation, each of its mutating system calls fails in turn
 * with EIO, ENOSPC, EROFS and EDQUOT. Each time: a typed error with that code, the active
 * generation unchanged (I3), every generation complete, and after recover the next install and
 * rollback succeed with no leftovers (I4).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, isCertswapError } from '../../src/index.js';
import { makePair, type Pair } from '../helpers/certs.js';
import { runTempDir, tempDir } from '../helpers/tmp.js';
import { injectFault } from '../helpers/faults.js';
import { checkStoreInvariants } from '../helpers/invariants.js';

const ERRNOS = ['EIO', 'ENOSPC', 'EROFS', 'EDQUOT'];

type Op = {
  name: string;
  run: (s: GenerationStore, p: Pair) => Promise<unknown>;
  prepare?: (dir: string) => Promise<void>;
  /** The prepared store is already broken (recover's input): invariants are checked after recover only. */
  broken?: boolean;
};

const OPS: Op[] = [
  { name: 'install', run: (s, p) => s.install(p) },
  { name: 'stage', run: (s, p) => s.stage(p) },
  {
    // The consumer's group (root's here: any group will do for the calls) and every format.
    name: 'install with a group and every format',
    run: (s, p) =>
      s.install(p, {
        access: { group: String(process.getegid?.() ?? 0) },
        formats: ['fullchain', 'bundle', 'pkcs12'],
        pkcs12Password: Buffer.from('password'),
      }),
  },
  { name: 'activate', run: (s) => s.activate(5) },
  { name: 'rollback', run: (s) => s.rollback() },
  { name: 'prune', run: (s) => s.prune(1) },
  {
    name: 'recover',
    run: (s) => s.recover(),
    broken: true,
    // A store that needs repair: leftovers everywhere and current dangling.
    prepare: async (dir) => {
      await fse.outputFile(path.join(dir, 'generations', '.staging-7-aa', 'cert.pem'), 'x');
      await fse.symlink('generations/1', path.join(dir, '.current.tmp-7-bb'));
      await fse.remove(path.join(dir, 'current'));
      await fse.symlink('generations/9', path.join(dir, 'current'));
    },
  },
  { name: 'activate --trial', run: (s) => s.activate(5, { trial: true }) },
  {
    name: 'commit',
    run: (s) => s.commit(),
    prepare: async (dir) => void (await (await GenerationStore.open(dir)).activate(5, { trial: true })),
  },
  {
    name: 'rollback of a trial',
    run: (s) => s.rollback(),
    prepare: async (dir) => void (await (await GenerationStore.open(dir)).activate(5, { trial: true })),
  },
  {
    name: 'recover of a trial',
    run: (s) => s.recover(),
    prepare: async (dir) => void (await (await GenerationStore.open(dir)).activate(5, { trial: true })),
  },
];

describe('I/O errors at every mutating call', function () {
  this.timeout(300_000);
  let base: string;
  let pairs: Pair[];

  before(async () => {
    pairs = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(() => makePair()));
    base = path.join(await runTempDir('certswap-faults-'), 'base');
    const store = await GenerationStore.open(base);
    for (const p of pairs.slice(0, 4)) await store.install(p);
    await store.stage(pairs[4]!);
    // generations 1..5; active 4; its rollback target 3; 5 staged (for activate); prune(1) removes 1 and 2
  });

  async function fresh(op: Op): Promise<string> {
    const dir = path.join(await tempDir('certswap-fault-'), 'store');
    await fse.copy(base, dir);
    await op.prepare?.(dir);
    return dir;
  }

  for (const op of OPS) {
    it(`${op.name}: every call, every errno`, async () => {
      const counting = injectFault(Infinity, 'EIO');
      let total: number;
      try {
        await op.run(await GenerationStore.open(await fresh(op)), pairs[5]!);
      } finally {
        total = counting.count();
        counting.restore();
      }
      expect(total, 'mutating calls counted').to.be.greaterThan(0);

      let failures = 0;
      for (let k = 1; k <= total; k++) {
        for (const errno of ERRNOS) {
          const dir = await fresh(op);
          const store = await GenerationStore.open(dir);
          const before = await fse.readlink(path.join(dir, 'current')).catch(() => null);
          const fault = injectFault(k, errno);
          let error: unknown = null;
          try {
            await op.run(store, pairs[5]!);
          } catch (err) {
            error = err;
          } finally {
            fault.restore();
          }
          const where = `${op.name}, call ${k}/${total} (${fault.failed()}) failing with ${errno}`;
          if (error !== null) {
            failures++;
            expect(isCertswapError(error), `${where}: untyped ${String(error)}`).to.equal(true);
            expect((error as { code: string }).code, where).to.equal(errno);
            expect(await fse.readlink(path.join(dir, 'current')).catch(() => null), `${where}: I3`).to.equal(before);
          }
          if (!op.broken) await checkStoreInvariants(dir, where);
          const r = await store.recover();
          expect(r.problems, where).to.deep.equal([]);
          await checkStoreInvariants(dir, where, { noLeftovers: true });
          await store.install(pairs[6]!);
          await store.rollback();
        }
      }
      // Nearly every call is essential; only best-effort cleanup may fail without failing the operation.
      expect(failures, 'operations that reported the injected failure').to.be.greaterThan(0);
    });
  }
});
