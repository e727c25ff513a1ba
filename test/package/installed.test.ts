/**
 * The package installed as a device would install it: `npm install -g --prefix` of the packed
 * tarball with no compiler, make or Python on PATH, once under each tested Node release (the npm
 * on this machine run by that Node), then the installed `certswap` through install, rollback,
 * status, two racing processes on one store, and the prune unit's command.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { writePairFiles } from '../helpers/pair-files.js';
import { nodeBinDir, TESTED_NODE_RELEASES } from '../helpers/node-releases.js';
import { HIDDEN_TOOLS, installGlobal, noBuildToolsPath, npmEnv, onPath, packed } from '../helpers/package.js';
import { collect, type Result } from '../helpers/proc.js';
import { runTempDir, storeDir, tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);

interface Installed {
  /** The PATH the commands under this Node run with: the prefix's bin, that Node, the tools. */
  path: string;
  /** The directory holding only that Node's `node`. */
  nodeBin: string;
  prefix: string;
  /** The installed package's directory, <prefix>/lib/node_modules/certswap. */
  pkg: string;
}

describe('the installed package (npm install -g, no build tools on PATH)', function () {
  this.timeout(300_000);
  let tools: string;
  /** The install made under the first release, run again under the later ones. */
  let first: Installed | undefined;

  before(async () => {
    tools = await noBuildToolsPath();
  });

  it('hides every build tool from that PATH, and keeps the rest', () => {
    for (const tool of HIDDEN_TOOLS) expect(onPath(tool, tools), `command -v ${tool}`).to.equal(null);
    expect(fs.readdirSync(tools).filter((name) => /gcc|g\+\+|clang|python|^(?:g|c)?make$/.test(name))).to.deep.equal(
      [],
    );
    expect(onPath('node', tools), 'no node but the one under test').to.equal(null);
    for (const tool of ['sh', 'npm', 'tar', 'openssl']) expect(onPath(tool, tools), tool).to.be.a('string');
  });

  for (const version of TESTED_NODE_RELEASES) {
    describe(`under Node ${version}`, () => {
      let inst: Installed;
      /** The installed `certswap` (found on PATH, as a user's shell finds it) with `args`. */
      const certswap = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> =>
        collect(spawn('certswap', args, { env: { ...npmEnv(inst.path), ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));

      before(async function () {
        let nodeBin: string;
        try {
          nodeBin = await nodeBinDir(version);
        } catch (err) {
          // CI has the npm registry: there, a Node that cannot be fetched is a failure, not a skip.
          if (process.env.CI === 'true') throw err;
          console.log(`    Node ${version} skipped: ${(err as Error).message}`);
          this.skip();
        }
        const prefix = path.join(await runTempDir('certswap-prefix-'), 'prefix');
        const PATH = [path.join(prefix, 'bin'), nodeBin, tools].join(':');
        await installGlobal((await packed()).tarball, prefix, PATH);
        inst = { path: PATH, nodeBin, prefix, pkg: path.join(prefix, 'lib', 'node_modules', 'certswap') };
        first ??= inst;
      });

      if (version !== TESTED_NODE_RELEASES[0]) {
        it(`runs the tree installed under Node ${TESTED_NODE_RELEASES[0]} as it is: nothing to rebuild after a Node upgrade`, async function () {
          if (!first || first === inst) this.skip();
          const PATH = [path.join(first.prefix, 'bin'), inst.nodeBin, tools].join(':');
          const dir = await storeDir();
          const pair = await writePairFiles(await tempDir(), 'u');
          const env = npmEnv(PATH);
          expect((await run('node', ['--version'], { env })).stdout.trim()).to.equal(`v${version}`);
          const installed = await collect(
            spawn('certswap', ['install', '--dir', dir, ...pair.args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
          );
          expect(installed.code, installed.stderr).to.equal(0);
          expect(await fs.promises.readFile(path.join(dir, 'current', 'cert.pem'), 'utf8')).to.equal(pair.cert);
        });
      }

      it('puts certswap and certswap-prune in the prefix, run by that Node', async () => {
        for (const bin of ['certswap', 'certswap-prune']) {
          expect(onPath(bin, inst.path), bin).to.equal(path.join(inst.prefix, 'bin', bin));
        }
        const node = await run('node', ['--version'], { env: npmEnv(inst.path) });
        expect(node.stdout.trim()).to.equal(`v${version}`);
        const r = await certswap(['--version']);
        expect([r.code, r.stdout.trim()], r.stderr).to.deep.equal([0, '0.1.0']);
      });

      it("loads the lock's prebuilt N-API binary: nothing was compiled at install", async () => {
        const probe = `const r = require('node:module').createRequire(process.argv[1] + '/');
          r('fs-native-extensions');
          console.log(Object.keys(require.cache).filter((f) => f.endsWith('.node')).join('\\n'));`;
        const { stdout } = await run('node', ['-e', probe, inst.pkg], { env: npmEnv(inst.path) });
        const addon = path.join(inst.pkg, 'node_modules', 'fs-native-extensions', 'prebuilds');
        expect(stdout.trim()).to.equal(
          path.join(addon, `${process.platform}-${process.arch}`, 'fs-native-extensions.node'),
        );
        // No node-gyp or cmake output anywhere in the installed tree: every addon is a prebuilt one.
        const { stdout: found } = await run('find', [
          inst.prefix,
          '-name',
          '*.node',
          '-o',
          '-name',
          '*.o',
          '-o',
          '-path',
          '*/build/Release',
        ]);
        const built = found.split('\n').filter((f) => f !== '' && !f.startsWith(`${addon}/`));
        expect(built).to.deep.equal([]);
      });

      it('installs, rolls back and reports status through the installed command', async () => {
        const dir = await storeDir();
        const files = await tempDir();
        const a = await writePairFiles(files, 'a');
        const b = await writePairFiles(files, 'b');
        for (const [pair, gen] of [[a, 1] as const, [b, 2] as const]) {
          const r = await certswap(['install', '--dir', dir, ...pair.args, '--json']);
          expect(r.code, r.stderr).to.equal(0);
          expect((JSON.parse(r.stdout) as { generation: number }).generation).to.equal(gen);
        }
        const back = await certswap(['rollback', '--dir', dir]);
        expect(back.code, back.stderr).to.equal(0);
        const st = await certswap(['status', '--dir', dir, '--json']);
        expect(st.code, st.stderr).to.equal(0);
        const status = JSON.parse(st.stdout) as {
          current: number;
          generations: { id: number; active: boolean; valid: boolean }[];
        };
        expect(status.current).to.equal(1);
        expect(status.generations.map((g) => [g.id, g.active, g.valid])).to.deep.equal([
          [1, true, true],
          [2, false, true],
        ]);
        expect(await fs.promises.readFile(path.join(dir, 'current', 'cert.pem'), 'utf8')).to.equal(a.cert);
        const human = await certswap(['status', '--dir', dir]);
        expect(human.code, human.stderr).to.equal(0);
      });

      it('serialises two installed processes racing on one store: distinct generations, all valid', async () => {
        const dir = await storeDir();
        const files = await tempDir();
        const gens: number[] = [];
        for (let round = 0; round < 3; round++) {
          const pairs = await Promise.all([writePairFiles(files, `r${round}a`), writePairFiles(files, `r${round}b`)]);
          const results = await Promise.all(pairs.map((p) => certswap(['install', '--dir', dir, ...p.args, '--json'])));
          for (const r of results) {
            expect(r.code, r.stderr).to.equal(0);
            gens.push((JSON.parse(r.stdout) as { generation: number }).generation);
          }
        }
        expect(gens.sort((x, y) => x - y)).to.deep.equal([1, 2, 3, 4, 5, 6]);
        const st = await certswap(['status', '--dir', dir, '--json']);
        const status = JSON.parse(st.stdout) as { generations: { valid: boolean }[] };
        expect(status.generations.every((g) => g.valid)).to.equal(true);
      });

      it("runs the prune unit's ExecStart as systemd would, with the unit's environment", async () => {
        const dir = await storeDir();
        const files = await tempDir();
        for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) {
          const r = await certswap(['install', '--dir', dir, ...(await writePairFiles(files, name)).args]);
          expect(r.code, r.stderr).to.equal(0);
        }
        const unit = fs.readFileSync(path.join(inst.pkg, 'scripts', 'systemd', 'certswap-prune.service'), 'utf8');
        const env = Object.fromEntries(
          [...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]),
        );
        expect(env.CERTSWAP_KEEP).to.equal('3');
        const [command, ...args] = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
        const r = await collect(
          spawn(command!, args, {
            env: { ...npmEnv(inst.path), ...env, CERTSWAP_DIR: dir },
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        );
        expect(r.code, r.stderr).to.equal(0);
        expect((await fs.promises.readdir(path.join(dir, 'generations'))).sort()).to.deep.equal(['3', '4', '5']);
      });
    });
  }
});
