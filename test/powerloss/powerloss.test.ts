/**
 * Real power cuts on real ext4, xfs and btrfs, after every mutating system call of every
 * operation, for certswap and, side by side, for the naive design it replaces. See loopfs.ts for
 * how power is cut and matrix.ts for what the outcomes mean. Writes docs/crash-matrix.md.
 *
 * Needs root and loop devices; elsewhere it is skipped with the reason printed, except under
 * CI=true, where a skip is a failure.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import fse from 'fs-extra';
import { fileURLToPath } from 'node:url';
import { makePair, type Pair } from '../helpers/certs.js';
import { collect } from '../helpers/proc.js';
import { runTempDir } from '../helpers/tmp.js';
import { FS_KINDS, LoopFs, requireLoopDevices, type CommitMode, type FsKind } from './loopfs.js';
import { SCENARIOS, buildTemplates, checkRecovers, type Scenario } from './scenarios.js';
import { renderCompact, renderMarkdown, type Cut } from './matrix.js';

const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'op-child.mjs');
const MATRIX = path.resolve(here, '..', '..', 'docs', 'crash-matrix.md');

interface ChildRun {
  reported: boolean;
  calls: string[];
}

/**
 * ext4 and xfs are cut after an unrelated fsync (which commits their journal). btrfs is cut both
 * ways: after the unrelated fsync (does what was reported survive?) and after a transaction
 * commit (do intermediate states tear?).
 */
function commitModes(kind: FsKind): Array<{ mode: CommitMode; label: string }> {
  return kind === 'btrfs'
    ? [
        { mode: 'fsync', label: 'btrfs' },
        { mode: 'commit', label: 'btrfs+commit' },
      ]
    : [{ mode: 'fsync', label: kind }];
}

async function runChild(spec: Record<string, unknown>): Promise<ChildRun> {
  const r = await collect(
    spawn(process.execPath, [CHILD, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  if (r.signal === 'SIGKILL') return { reported: false, calls: [] };
  if (r.code !== 0) throw new Error(`operation ${String(spec.op)} failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; calls: string[] };
  return { reported: out.ok, calls: out.calls };
}

describe('power loss on real file systems', function () {
  this.timeout(600_000);
  const cuts: Cut[] = [];
  const started = Date.now();
  let pairs: Pair[];
  let inputs: { cert: string; key: string };

  before(async function () {
    await requireLoopDevices(this, 'power-loss suite');
    pairs = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((i) => makePair({ name: `device-${i}` })));
    const host = await runTempDir('certswap-powerloss-inputs-');
    inputs = { cert: path.join(host, 'new.crt'), key: path.join(host, 'new.key') };
    await fse.writeFile(inputs.cert, pairs[5]!.cert);
    await fse.writeFile(inputs.key, pairs[5]!.key);
  });

  after(async () => {
    if (cuts.length === 0) return;
    console.log(`\n${renderCompact(cuts)}\n`);
    if (FS_KINDS.every((kind) => commitModes(kind).every(({ label }) => cuts.some((c) => c.fs === label)))) {
      const md = renderMarkdown(cuts, {
        kernel: os.release(),
        date: new Date().toISOString().slice(0, 10),
        seconds: (Date.now() - started) / 1000,
      });
      await fse.outputFile(MATRIX, `${md}\n`);
      console.log(`    crash matrix written to ${path.relative(process.cwd(), MATRIX)}`);
    }
  });

  for (const kind of FS_KINDS) {
    describe(kind, () => {
      let fs: LoopFs;
      let templates: Record<Scenario['template'], string>;

      before(async function () {
        if (!pairs) this.skip();
        fs = new LoopFs(kind, await runTempDir(`certswap-${kind}-`));
        await fs.setup();
        templates = await buildTemplates(fs.mnt, pairs);
        await fs.syncAll();
      });

      after(async () => {
        await fs?.teardown();
      });

      for (const scenario of SCENARIOS) {
        it(`${scenario.name}: power cut after every mutating call`, async () => {
          const dir = (k: number | string): string => path.join(fs.mnt, `run-${scenario.name.replace(/ /g, '-')}-${k}`);
          // A dry run on a copy tells how many mutating calls the operation makes, and which.
          await exec('cp', ['-a', templates[scenario.template], dir('count')]);
          const dry = await runChild({ ...scenario.spec(inputs), dir: dir('count'), k: -1 });
          expect(dry.calls.length).to.be.greaterThan(0);

          const points: Array<number | 'done'> = [...Array(dry.calls.length + 1).keys(), 'done'];
          for (const { mode, label } of commitModes(kind)) {
            for (const k of points) {
              const d = dir(k);
              await exec('cp', ['-a', templates[scenario.template], d]);
              await fs.syncAll(); // the known state is on disk before the operation starts
              const run = await runChild({ ...scenario.spec(inputs), dir: d, k: k === 'done' ? -1 : k });
              await fs.commit(mode);
              await fs.cut();
              const { outcome, detail } = await scenario.classify(d, pairs);
              const cut: Cut = {
                fs: label,
                scenario: scenario.name,
                k,
                after: k === 0 ? '(nothing yet)' : k === 'done' ? '(success reported)' : dry.calls[k - 1]!,
                outcome,
              };
              if (detail) cut.detail = detail;
              if (run.reported && outcome !== 'new') cut.violation = `I2: reported success, found ${outcome}`;
              if (scenario.certswap && outcome !== 'TORN') {
                const broken = await checkRecovers(d, pairs);
                if (broken) cut.violation = `I4: ${broken}`;
              }
              cuts.push(cut);
              await fse.remove(d);
            }
          }
          await fse.remove(dir('count'));

          const labels = commitModes(kind).map((m) => m.label);
          const mine = cuts.filter((c) => labels.includes(c.fs) && c.scenario === scenario.name);
          if (scenario.certswap) {
            expect(
              mine.filter((c) => c.outcome === 'TORN' || c.violation),
              renderCompact(mine),
            ).to.deep.equal([]);
            expect(mine.filter((c) => c.k === 'done').map((c) => c.outcome)).to.deep.equal(labels.map(() => 'new'));
          } else {
            // If the naive design never tears, the harness is not cutting where it should.
            expect(mine.filter((c) => c.outcome === 'TORN').length, renderCompact(mine)).to.be.greaterThan(0);
          }
        });
      }
    });
  }
});
