/**
 * Model-based random testing: random sequences of install, stage, activate, rollback, prune,
 * recover and crashes (an operation stopped after its k-th mutating call) against a small model
 * of what `current`, the rollback target and the set of generations must be. fast-check shrinks
 * a failure to a minimal sequence.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore, isCertswapError } from '../../src/index.js';
import { makePair, type Pair } from '../helpers/certs.js';
import { tempDir } from '../helpers/tmp.js';
import { crashAfter } from '../helpers/crash.js';
import { checkStoreInvariants } from '../helpers/invariants.js';

interface Model {
  gens: Set<number>;
  current: number | null;
  /** Newest first: [activated, outgoing]. */
  history: Array<[number, number | null]>;
  next: number;
}

interface Real {
  store: GenerationStore;
  pairs: Pair[];
}

function targetOf(m: Model, active: number | null): number | null {
  if (active === null) return null;
  const e = m.history.find(([a]) => a === active);
  return e && e[1] !== active ? e[1] : null;
}

/** Applies a successful operation to the model; returns the error code the store must raise instead, if any. */
const apply = {
  install(m: Model): string | null {
    const n = m.next++;
    m.gens.add(n);
    m.history.unshift([n, m.current]);
    m.current = n;
    return null;
  },
  stage(m: Model): string | null {
    m.gens.add(m.next++);
    return null;
  },
  activate(m: Model, n: number): string | null {
    if (!m.gens.has(n)) return 'CERTSWAP_NO_SUCH_GENERATION';
    if (n !== m.current) {
      m.history.unshift([n, m.current]);
      m.current = n;
    }
    return null;
  },
  rollback(m: Model, to: number | undefined): string | null {
    if (m.current === null) return 'CERTSWAP_NO_ACTIVE';
    const target = to ?? targetOf(m, m.current);
    if (target === null) return 'CERTSWAP_NO_ROLLBACK_TARGET';
    if (!m.gens.has(target)) return 'CERTSWAP_NO_SUCH_GENERATION';
    if (target !== m.current) {
      m.history.unshift([target, m.current]);
      m.current = target;
    }
    return null;
  },
  prune(m: Model, keep: number): string | null {
    const all = [...m.gens].sort((a, b) => a - b);
    const newest = new Set(all.slice(Math.max(0, all.length - keep)));
    const protect = new Set([m.current, targetOf(m, m.current)]);
    for (const n of all) if (!newest.has(n) && !protect.has(n)) m.gens.delete(n);
    return null;
  },
};

type OpName = keyof typeof apply;

function runReal(r: Real, op: OpName, arg: number | undefined): Promise<unknown> {
  switch (op) {
    case 'install':
      return r.store.install(r.pairs[arg! % r.pairs.length]!);
    case 'stage':
      return r.store.stage(r.pairs[arg! % r.pairs.length]!);
    case 'activate':
      return r.store.activate(arg!);
    case 'rollback':
      return r.store.rollback(arg);
    case 'prune':
      return r.store.prune(arg);
  }
}

function copyModel(m: Model): Model {
  return { gens: new Set(m.gens), current: m.current, history: [...m.history], next: m.next };
}

async function compare(m: Model, r: Real): Promise<void> {
  const s = await r.store.status();
  expect(s.current, 'current').to.equal(m.current);
  expect(
    s.generations.map((g) => g.id),
    'generations',
  ).to.deep.equal([...m.gens].sort((a, b) => a - b));
  expect(s.previous, 'rollback target').to.equal(targetOf(m, m.current));
  await checkStoreInvariants(r.store.dir, 'model');
}

class OpCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: OpName,
    readonly arg: number | undefined,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const expected = apply[this.op](m, this.arg as number);
    try {
      await runReal(r, this.op, this.arg);
      expect(expected, `${this.toString()} succeeded`).to.equal(null);
    } catch (err) {
      if (!isCertswapError(err)) throw err;
      expect(err.code, this.toString()).to.equal(expected);
    }
    await compare(m, r);
  }
  toString(): string {
    return `${this.op}(${this.arg ?? ''})`;
  }
}

class RecoverCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const res = await r.store.recover();
    expect(res.problems).to.deep.equal([]);
    expect(res.repointed).to.equal(null);
    await compare(m, r);
  }
  toString(): string {
    return 'recover';
  }
}

/** An operation stopped after its k-th mutating call, then recover: the store is the state before or after it. */
class CrashCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: OpName,
    readonly arg: number | undefined,
    readonly k: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const before = copyModel(m);
    const after = copyModel(m);
    const refused = apply[this.op](after, this.arg as number) !== null;
    const { crashed } = await crashAfter(this.k, () =>
      runReal(r, this.op, this.arg).catch((e) => {
        if (!isCertswapError(e)) throw e;
      }),
    );
    const res = await r.store.recover();
    expect(res.problems, this.toString()).to.deep.equal([]);
    await checkStoreInvariants(r.store.dir, this.toString(), { noLeftovers: true });
    const s = await r.store.status();
    const ids = new Set(s.generations.map((g) => g.id));
    if (!crashed || refused) {
      Object.assign(m, refused ? before : after);
    } else {
      expect([before.current, after.current], `${this.toString()}: current`).to.include(s.current);
      // Whichever state the crash left, its rollback target is that state's own (I5 relies on it).
      const expectedTarget = targetOf(s.current === after.current ? after : before, s.current);
      expect(s.previous, `${this.toString()}: rollback target`).to.equal(expectedTarget);
      for (const n of after.gens)
        if (before.gens.has(n))
          expect(ids.has(n) || !before.gens.has(n) || !after.gens.has(n), `${n} lost`).to.equal(true);
      for (const n of ids)
        expect(before.gens.has(n) || after.gens.has(n), `${this.toString()}: unexpected generation ${n}`).to.equal(
          true,
        );
      // Adopt what the crash left: which of the allowed states it is.
      m.gens = ids;
      m.current = s.current;
      m.history = (await fse.readFile(path.join(r.store.dir, '.history'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '))
        .map(([a, p]) => [Number(a), p === '-' ? null : Number(p)] as [number, number | null]);
      // A number is used once the staged directory was renamed into place.
      m.next = Math.max(before.next, ...[...ids].map((n) => n + 1));
    }
    await compare(m, r);
  }
  toString(): string {
    return `crash(${this.op}(${this.arg ?? ''}) after ${this.k})`;
  }
}

describe('model-based random testing', function () {
  this.timeout(300_000);
  let pairs: Pair[];
  before(async () => {
    pairs = await Promise.all([0, 1, 2].map((i) => makePair({ name: `device-${i}` })));
  });

  it('random operation sequences with crashes match the model', async () => {
    // Small numbers, so that most activations and rollbacks name a generation that exists.
    const gen = fc.integer({ min: 1, max: 6 });
    const commands = [
      fc.integer({ min: 0, max: 2 }).map((p) => new OpCommand('install', p)),
      fc.integer({ min: 0, max: 2 }).map((p) => new OpCommand('stage', p)),
      gen.map((n) => new OpCommand('activate', n)),
      fc.option(gen, { nil: undefined }).map((n) => new OpCommand('rollback', n)),
      fc.integer({ min: 0, max: 4 }).map((k) => new OpCommand('prune', k)),
      fc.constant(new RecoverCommand()),
      fc
        .tuple(
          fc.constantFrom<OpName>('install', 'stage', 'activate', 'rollback', 'prune'),
          gen,
          fc.integer({ min: 0, max: 32 }),
        )
        // install and stage make about 30 mutating calls, the others about 10.
        .map(([op, arg, k]) =>
          op === 'install' || op === 'stage'
            ? new CrashCommand(op, arg % 3, k)
            : new CrashCommand(op, op === 'prune' ? arg % 4 : arg, k % 12),
        ),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        const store = await GenerationStore.open(path.join(await tempDir(), 'store'));
        await fc.asyncModelRun(
          () => ({ model: { gens: new Set<number>(), current: null, history: [], next: 1 }, real: { store, pairs } }),
          cmds,
        );
      }),
      { numRuns: 100 },
    );
  });
});
