/**
 * Fuzzing stage() with random mutations of valid PEM input (fast-check): no crash, no hang, no
 * error without a stable code, and nothing changed on disk when the input is refused.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { GenerationStore, isCertswapError } from '../../src/index.js';
import { makePair, type Pair } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { snapshot } from '../helpers/snapshot.js';
import { describeIoModes } from '../helpers/io-modes.js';

type Mutation = (b: Buffer) => Buffer;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(
    ([at, v]): Mutation =>
      (b) => {
        const c = Buffer.from(b);
        if (c.length) c[at % c.length] = v;
        return c;
      },
  ),
  fc.nat().map(
    (at): Mutation =>
      (b) =>
        b.subarray(0, at % (b.length + 1)),
  ),
  fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 64 })).map(
    ([at, ins]): Mutation =>
      (b) => {
        const i = at % (b.length + 1);
        return Buffer.concat([b.subarray(0, i), Buffer.from(ins), b.subarray(i)]);
      },
  ),
  fc.tuple(fc.nat(), fc.nat()).map(
    ([a, n]): Mutation =>
      (b) => {
        const lines = b.toString('latin1').split('\n');
        const i = a % lines.length;
        lines.splice(i, (n % 3) + 1);
        return Buffer.from(lines.join('\n'), 'latin1');
      },
  ),
  fc.constant<Mutation>((b) => Buffer.concat([b, b])),
  fc.constantFrom<Mutation>(
    (b) => Buffer.from(b.toString('latin1').replace(/-----BEGIN ([A-Z ]+)-----/, '-----BEGIN $1X-----'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'),
    (b) => Buffer.from(b.toString('latin1').replace(/=/g, ''), 'latin1'),
  ),
);

// Once with thread-pool I/O, once with blocking I/O (the CLI's).
describeIoModes('fuzzing stage with mutated PEM', function () {
  this.timeout(120_000);
  let pair: Pair;
  let other: Pair;
  before(async () => {
    pair = await makePair();
    other = await makePair();
  });

  it('every mutated input is accepted whole or refused with a code, changing nothing', async () => {
    const store = await GenerationStore.open(await storeDir());
    await store.install(pair);
    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'cert' | 'key' | 'both' | 'ca'>('cert', 'key', 'both', 'ca'),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        async (target, mutations) => {
          const mutate = (b: Buffer): Buffer => mutations.reduce((acc, m) => m(acc), b);
          const input = {
            cert: target === 'cert' || target === 'both' ? mutate(pair.cert) : pair.cert,
            key: target === 'key' || target === 'both' ? mutate(target === 'both' ? other.key : pair.key) : pair.key,
            ca: target === 'ca' ? mutate(pair.ca) : pair.ca,
          };
          const before = await snapshot(store.dir);
          const gens = (await store.status()).generations.length;
          try {
            await store.stage(input);
            accepted++;
            expect((await store.status()).generations.length).to.equal(gens + 1);
          } catch (err) {
            refused++;
            expect(isCertswapError(err), String(err)).to.equal(true);
            expect((err as { code: string }).code).to.match(/^(CERTSWAP_[A-Z_]+|E[A-Z]+)$/);
            expect((err as { code: string }).code, (err as Error).stack).to.not.equal('CERTSWAP_INTERNAL');
            expect(await snapshot(store.dir)).to.deep.equal(before);
          }
        },
      ),
      { numRuns: Number(process.env.CERTSWAP_FUZZ_RUNS ?? 300) },
    );
    console.log(
      `      ${refused + accepted} mutated inputs: ${refused} refused with a code, ${accepted} still valid and accepted whole`,
    );
    expect(refused).to.be.greaterThan(200);
  });
});
