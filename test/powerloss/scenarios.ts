/**
 * What the power-cut suite runs, and how it reads the outcome of each cut.
 *
 * Every certswap scenario starts from the same fully synced store: generations 1 to 5, current
 * -> 4, its rollback target 3, generation 5 staged but never activated. Outcomes:
 *   old     the operation left no visible effect (the active pair is the one before)
 *   new     the operation's effect is complete
 *   partial prune only: some victims gone, others still there (each generation is whole)
 *   TORN    an invariant is broken: no usable pair, a mismatched pair, an incomplete generation
 */
import fse from 'fs-extra';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { GenerationStore } from '../../src/index.js';
import type { Pair } from '../helpers/certs.js';
import { checkStoreInvariants, generationIsComplete } from '../helpers/invariants.js';

export type Outcome = 'old' | 'new' | 'partial' | 'TORN';

export interface Scenario {
  name: string;
  template: 'store' | 'recover' | 'trial' | 'naive';
  /** The child's spec, without `dir` and `k`. */
  spec: (inputs: { cert: string; key: string }) => Record<string, unknown>;
  classify: (dir: string, pairs: Pair[]) => Promise<{ outcome: Outcome; detail?: string }>;
  /** certswap's own scenarios are also checked for I4 and I5 after the cut. */
  certswap: boolean;
}

async function link(dir: string): Promise<string | null> {
  return fse.readlink(path.join(dir, 'current')).catch(() => null);
}

/** old/new by where `current` points; anything else, or a broken store, is TORN. */
function byLink(oldTarget: string, newTarget: string, newCert?: (pairs: Pair[]) => Buffer): Scenario['classify'] {
  return async (dir, pairs) => {
    const l = await link(dir);
    try {
      await checkStoreInvariants(dir, 'after the cut');
    } catch (err) {
      return { outcome: 'TORN', detail: (err as Error).message.split('\n')[0] };
    }
    if (l === oldTarget) return { outcome: 'old' };
    if (l === newTarget) {
      if (newCert && !(await fse.readFile(path.join(dir, newTarget, 'cert.pem'))).equals(newCert(pairs))) {
        return { outcome: 'TORN', detail: `${newTarget} holds the wrong certificate` };
      }
      return { outcome: 'new' };
    }
    return { outcome: 'TORN', detail: `current -> ${l}` };
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'install',
    template: 'store',
    certswap: true,
    spec: (inputs) => ({ op: 'install', ...inputs }),
    classify: byLink('generations/4', 'generations/6', (pairs) => pairs[5]!.cert),
  },
  {
    name: 'activate',
    template: 'store',
    certswap: true,
    spec: () => ({ op: 'activate', generation: 5 }),
    classify: byLink('generations/4', 'generations/5'),
  },
  {
    name: 'rollback',
    template: 'store',
    certswap: true,
    spec: () => ({ op: 'rollback' }),
    classify: byLink('generations/4', 'generations/3'),
  },
  {
    name: 'prune',
    template: 'store',
    certswap: true,
    spec: () => ({ op: 'prune', keep: 1 }),
    classify: async (dir) => {
      const torn = await byLink('generations/4', '-')(dir, []);
      if (torn.outcome === 'TORN') return torn;
      const gone = (
        await Promise.all([1, 2].map((n) => fse.pathExists(path.join(dir, 'generations', String(n)))))
      ).filter((e) => !e).length;
      for (const n of [3, 4, 5]) {
        if (!(await generationIsComplete(dir, n))) return { outcome: 'TORN', detail: `generation ${n} lost` };
      }
      return { outcome: gone === 0 ? 'old' : gone === 2 ? 'new' : 'partial' };
    },
  },
  {
    // Start-up repair of a store whose current dangles, with leftovers of every kind.
    name: 'recover',
    template: 'recover',
    certswap: true,
    spec: () => ({ op: 'recover' }),
    classify: async (dir) => {
      if ((await link(dir)) === 'generations/9') {
        for (const n of [1, 2, 3, 4, 5])
          if (!(await generationIsComplete(dir, n))) return { outcome: 'TORN', detail: `generation ${n}` };
        return { outcome: 'old' };
      }
      return byLink('-', 'generations/5')(dir, []);
    },
  },
  {
    // The device restarts while generation 5 is on trial (activated, never committed).
    name: 'recover trial',
    template: 'trial',
    certswap: true,
    spec: () => ({ op: 'recover' }),
    classify: async (dir, pairs) => {
      const r = await byLink('generations/5', 'generations/4')(dir, pairs);
      const marker = await fse.pathExists(path.join(dir, '.trial'));
      // Until the marker is gone, the next recover still returns to 4: "old" means still pending.
      if (r.outcome === 'new' && marker) return { outcome: 'partial', detail: 'back on 4, marker not yet removed' };
      if (r.outcome === 'old' && !marker)
        return { outcome: 'TORN', detail: 'trial marker lost while 5 is still active' };
      return r;
    },
  },
  {
    name: 'commit',
    template: 'trial',
    certswap: true,
    spec: () => ({ op: 'commit' }),
    classify: async (dir, pairs) => {
      const r = await byLink('generations/5', '-')(dir, pairs);
      if (r.outcome === 'TORN') return r;
      return { outcome: (await fse.pathExists(path.join(dir, '.trial'))) ? 'old' : 'new' };
    },
  },
  {
    name: 'naive install',
    template: 'naive',
    certswap: false,
    spec: (inputs) => ({ op: 'naive-install', ...inputs }),
    classify: async (dir, pairs) => {
      try {
        for (const name of ['cert.pem', 'key.pem']) {
          const st = await fse.stat(path.join(dir, name)).catch(() => null);
          if (!st) return { outcome: 'TORN', detail: `${name} is missing` };
          if (st.size === 0)
            return { outcome: 'TORN', detail: `${name} is empty (renamed before its data reached the disk)` };
        }
        const certPem = await fse.readFile(path.join(dir, 'cert.pem'));
        const cert = new X509Certificate(certPem);
        if (!cert.checkPrivateKey(createPrivateKey(await fse.readFile(path.join(dir, 'key.pem'))))) {
          return { outcome: 'TORN', detail: 'cert.pem and key.pem do not match' };
        }
        if (certPem.equals(pairs[0]!.cert)) return { outcome: 'old' };
        if (certPem.equals(pairs[5]!.cert)) return { outcome: 'new' };
        return { outcome: 'TORN', detail: 'an unknown certificate' };
      } catch (err) {
        return { outcome: 'TORN', detail: `unreadable pair: ${(err as Error).message.split('\n')[0]}` };
      }
    },
  },
];

/** Builds the templates on the file system under test; the caller syncs. */
export async function buildTemplates(root: string, pairs: Pair[]): Promise<Record<Scenario['template'], string>> {
  const store = path.join(root, 'tpl-store');
  const s = await GenerationStore.open(store);
  for (const p of pairs.slice(0, 4)) await s.install(p);
  await s.stage(pairs[4]!);

  const recover = path.join(root, 'tpl-recover');
  await fse.copy(store, recover);
  await fse.outputFile(path.join(recover, 'generations', '.staging-1-aa', 'cert.pem'), pairs[5]!.cert);
  await fse.outputFile(path.join(recover, 'generations', '.trash-2-bb', 'key.pem'), pairs[1]!.key);
  await fse.symlink('generations/5', path.join(recover, '.current.tmp-1-cc'));
  await fse.remove(path.join(recover, 'current'));
  await fse.symlink('generations/9', path.join(recover, 'current'));

  const trial = path.join(root, 'tpl-trial');
  await fse.copy(store, trial);
  await (await GenerationStore.open(trial)).activate(5, { trial: true });

  const naive = path.join(root, 'tpl-naive');
  await fse.mkdirp(naive);
  await fse.writeFile(path.join(naive, 'cert.pem'), pairs[0]!.cert);
  await fse.writeFile(path.join(naive, 'key.pem'), pairs[0]!.key, { mode: 0o600 });
  return { store, recover, trial, naive };
}

/** I4 and I5: after recover every operation works again and leftovers are gone. */
export async function checkRecovers(dir: string, pairs: Pair[]): Promise<string | null> {
  try {
    const store = await GenerationStore.open(dir);
    const r = await store.recover();
    if (r.problems.length)
      return `recover found problems: ${r.problems.map((p) => `${p.code}: ${p.message}`).join('; ')}`;
    await checkStoreInvariants(dir, 'after recover', { noLeftovers: true });
    await store.install(pairs[6]!);
    await store.rollback();
    await checkStoreInvariants(dir, 'after install and rollback', { noLeftovers: true });
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0]!;
  }
}
