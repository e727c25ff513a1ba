/**
 * Consistent reads under fire: reader processes call readActive in a loop while another process
 * installs, rolls back, re-activates and prunes as fast as it can. Every read must be one
 * generation's pair (certificate, key, CA and number), and no error may reach a reader.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { issue, makePair } from '../helpers/certs.js';
import { collect, fixture, waitForLine } from '../helpers/proc.js';
import { storeDir, tempDir } from '../helpers/tmp.js';

const POOL = 4;
const READERS = 4;
const CYCLES = 150;

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('consistent reads while another process swaps and prunes', function () {
  this.timeout(300_000);

  it('never returns a torn pair and never lets an error reach the reader', async () => {
    const dir = await storeDir();
    const pool = await tempDir();
    // Each pool pair has its own CA, so a certificate read with another pair's CA is also caught.
    for (let i = 0; i < POOL; i++) {
      const ca = await issue({ ca: true, name: `pool CA ${i}` });
      const p = await makePair({ issuer: ca, name: `device-${i}` });
      await fse.outputFile(path.join(pool, `${i}`, 'cert.pem'), p.cert);
      await fse.outputFile(path.join(pool, `${i}`, 'key.pem'), p.key);
      await fse.outputFile(path.join(pool, `${i}`, 'ca.pem'), p.ca);
      if (i === 0) await (await GenerationStore.open(dir)).install(p);
    }

    const readers = Array.from({ length: READERS }, () => fixture('reader.ts', [dir, pool, `${POOL}`], 'pipe'));
    const readerResults = readers.map((r) => collect(r));
    await Promise.all(readers.map((r) => waitForLine(r, 'reading')));
    const swapper = fixture('swapper.ts', [dir, pool, `${POOL}`, `${CYCLES}`]);
    const swapped = await collect(swapper);
    expect(swapped.code, swapped.stderr).to.equal(0);
    for (const r of readers) r.stdin!.end();
    const results = await Promise.all(readerResults);

    const swaps = lastJson(swapped.stdout);
    const reads = results.map((r) => {
      expect(r.code, r.stderr).to.equal(0);
      return lastJson(r.stdout) as {
        reads: number;
        mismatched: number;
        errors: number;
        generations: number;
        examples: string[];
      };
    });
    const total = reads.reduce(
      (a, r) => ({ reads: a.reads + r.reads, mismatched: a.mismatched + r.mismatched, errors: a.errors + r.errors }),
      {
        reads: 0,
        mismatched: 0,
        errors: 0,
      },
    );
    console.log(
      `      consistent reads: ${swaps.switches} switches, ${swaps.installs} installs, ${swaps.pruned} generations pruned; ` +
        `${READERS} readers, ${total.reads} reads, ${total.mismatched} mismatched, ${total.errors} errors`,
    );
    expect(reads.flatMap((r) => r.examples)).to.deep.equal([]);
    expect(total.mismatched).to.equal(0);
    expect(total.errors).to.equal(0);
    expect(swaps.switches).to.equal(CYCLES * 3);
    expect(swaps.pruned).to.be.greaterThan(CYCLES - 5);
    // The readers really read across the swaps, not before or after them.
    for (const r of reads) expect(r.generations, 'generations one reader saw').to.be.greaterThan(10);
  });
});
