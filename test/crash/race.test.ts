/**
 * Racing processes: eight CLI processes install, roll back and prune one store at once. Afterwards
 * the store satisfies every invariant, generation numbers are unique and increasing, and every
 * process finished.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { makePair } from '../helpers/certs.js';
import { certswap, type Result } from '../helpers/proc.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { checkStoreInvariants } from '../helpers/invariants.js';

const WORKERS = 8;
const ROUNDS = 6;
const DEADLINE_MS = 60_000;

describe('racing CLI processes', function () {
  this.timeout(180_000);

  it(`${WORKERS} processes installing, rolling back and pruning one store`, async () => {
    const dir = await storeDir();
    const files = await tempDir();
    const inputs = await Promise.all(
      [...Array(WORKERS).keys()].map(async (i) => {
        const p = await makePair({ name: `device-${i}` });
        const f = { cert: path.join(files, `${i}.crt`), key: path.join(files, `${i}.key`) };
        await fse.writeFile(f.cert, p.cert);
        await fse.writeFile(f.key, p.key);
        return f;
      }),
    );
    const first = await GenerationStore.open(dir);
    await first.install({ cert: await fse.readFile(inputs[0]!.cert), key: await fse.readFile(inputs[0]!.key) });

    const stop = Date.now() + DEADLINE_MS;
    const installed: number[][] = [];
    const results: Array<{ args: string[]; r: Result }> = [];
    await Promise.all(
      inputs.map(async (f, i) => {
        const mine: number[] = [];
        installed.push(mine);
        for (let round = 0; round < ROUNDS && Date.now() < stop; round++) {
          const kind = (i + round) % 3;
          const args =
            kind === 0
              ? ['install', '--cert', f.cert, '--key', f.key, '--json']
              : kind === 1
                ? ['rollback', '--json']
                : ['prune', '--keep', '2', '--json'];
          const r = await certswap([...args, '--dir', dir, '--lock-timeout', '60']);
          results.push({ args, r });
          if (kind === 0 && r.code === 0) mine.push((JSON.parse(r.stdout) as { generation: number }).generation);
        }
      }),
    );

    for (const { args, r } of results) {
      const where = `${args[0]}: ${r.stderr}`;
      expect(r.signal, where).to.equal(null);
      if (args[0] === 'rollback' && r.code === 1) {
        // A rollback may find nothing to return to after another process's rollback.
        expect((JSON.parse(r.stderr) as { error: { code: string } }).error.code, where).to.equal(
          'CERTSWAP_NO_ROLLBACK_TARGET',
        );
      } else {
        expect(r.code, where).to.equal(0);
      }
    }
    const all = installed.flat();
    expect(new Set(all).size, 'generation numbers are unique').to.equal(all.length);
    for (const mine of installed) expect(mine, 'numbers grow').to.deep.equal([...mine].sort((a, b) => a - b));
    expect(all.length).to.be.greaterThan(WORKERS);

    await checkStoreInvariants(dir, 'after the race', { noLeftovers: true });
    const r = await first.recover();
    expect(r).to.include({ repointed: null });
    expect(r.problems).to.deep.equal([]);
    console.log(
      `      ${results.length} commands from ${WORKERS} processes, ${all.length} installs, generations up to ${Math.max(...all)}`,
    );
  });
});
