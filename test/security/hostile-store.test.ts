/**
 * The hostile-store suite. At every name of the layout contract, each kind of wrong entry (a link
 * inside the store, a link to a canary tree outside it, a FIFO, a socket, a directory for a file,
 * a file for a directory, a 2 GiB file, a wrong owner, a wrong mode), every command, in both I/O
 * modes. The work is done by test/fixtures/hostile-runner.ts in a child process per mode, which
 * reports each run as a JSON line; this side checks every report and bounds every run: a run that
 * makes no progress is a hang, and the child is killed and the run named.
 *
 * Holds when: nothing outside the store ever changes (the canary is hashed after every run); no
 * pair from outside the store is ever served (the canary holds a valid pair that is not ours);
 * every command works, repairs, or refuses with a CERTSWAP_ code; the two modes agree.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runTempDir } from '../helpers/tmp.js';

interface Run {
  id: string;
  command: string;
  outcome: 'ok' | 'refused';
  code?: string;
  typed?: boolean;
  foreign: number;
  canaryChanged: boolean;
  problems?: string[];
}

/** A run with no report for this long is taken for a hang (every run takes milliseconds). */
const STALL_MS = 60_000;

function runMode(
  mode: 'blocking' | 'thread-pool',
  work: string,
): Promise<{ runs: Run[]; done: boolean; stalled: string | null; stderr: string }> {
  const runner = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hostile-runner.ts');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', runner, mode, work], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const runs: Run[] = [];
  let last = '';
  let done = false;
  let stalled: string | null = null;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = last;
      process.kill(-child.pid!, 'SIGKILL');
    }, STALL_MS);
  };
  arm();
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    arm();
    const m = JSON.parse(line) as { start?: string; done?: boolean } & Run;
    if (m.start !== undefined) last = m.start;
    else if (m.done) done = true;
    else runs.push(m);
  });
  return new Promise((resolve) => {
    child.on('exit', () => {
      clearTimeout(timer);
      // Whatever the runner left (it may have been killed): its process group goes too.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      resolve({ runs, done, stalled, stderr });
    });
  });
}

describe('hostile store: a wrong entry at every name of the layout, every command, both I/O modes', function () {
  this.timeout(20 * 60_000);
  const results = new Map<string, ReturnType<typeof runMode>>();

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // wrong-owner entries need chown
    const work = await runTempDir('certswap-hostile-');
    // Both modes at once: each is mostly waiting on fsync.
    for (const mode of ['blocking', 'thread-pool'] as const) results.set(mode, runMode(mode, path.join(work, mode)));
  });

  for (const mode of ['blocking', 'thread-pool'] as const) {
    it(`${mode} I/O: no hang, nothing outside the store changed or served, every refusal typed`, async () => {
      const r = await results.get(mode)!;
      expect(r.stalled, `hung in: ${r.stalled}`).to.equal(null);
      expect(r.done, `runner did not finish: ${r.stderr}`).to.equal(true);
      expect(r.runs.length).to.be.greaterThan(1500);
      for (const run of r.runs) {
        expect(run.canaryChanged, `${run.id}: changed a file outside the store`).to.equal(false);
        expect(run.foreign, `${run.id}: served a pair from outside the store`).to.equal(0);
        if (run.outcome === 'refused')
          expect(run.typed, `${run.id}: refused without a certswap code (${run.code})`).to.equal(true);
      }
      // Each command both works and refuses somewhere: the plants reach every command.
      for (const command of new Set(r.runs.map((x) => x.command))) {
        const mine = r.runs.filter((x) => x.command === command);
        if (command !== 'commit')
          expect(
            mine.some((x) => x.outcome === 'ok'),
            command,
          ).to.equal(true);
        expect(
          mine.some((x) => x.outcome === 'refused'),
          command,
        ).to.equal(true);
      }
      console.log(
        `      ${mode}: ${r.runs.length} runs, ${r.runs.filter((x) => x.outcome === 'refused').length} refused with a code, 0 changes outside the store`,
      );
    });
  }

  it('both I/O modes give the same outcome and code for every run', async () => {
    const [a, b] = await Promise.all([results.get('blocking')!, results.get('thread-pool')!]);
    const key = (x: Run): string => `${x.id} ${x.outcome} ${x.code ?? ''} ${(x.problems ?? []).join(',')}`;
    expect(a.runs.map(key)).to.deep.equal(b.runs.map(key));
  });
});
