/**
 * The tarball `npm pack` makes: what a user needs and nothing else, the MIT text at its root, the
 * Node releases package.json admits equal to the ones tested, and systemd units that start the
 * commands where `npm install -g` puts them.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TESTED_NODE_RELEASES } from '../helpers/node-releases.js';
import { npmEnv, packed } from '../helpers/package.js';
import { which } from '../helpers/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  bin: Record<string, string>;
  os: string[];
  cpu: string[];
  libc: string[];
};
const require = createRequire(import.meta.url);

/** Every file a user needs: the library, the CLI, the commands' scripts, the units, the docs. */
const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^docs\/[\w-]+\.md$/,
  /^docs\/LICENSE$/,
  /^scripts\/certswap-prune$/,
  /^scripts\/systemd\/certswap-[a-z]+\.(?:service|timer)$/,
  /^dist\/(?!cli\/)[\w/-]+\.(?:js|d\.ts)$/,
  /^dist\/cli\/certswap\.cjs(?:\.map)?$/,
];

/** systemd's PATH for a service's ExecStart (systemd.exec(5), split /usr or not). */
const SYSTEMD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

describe('the packed tarball', function () {
  this.timeout(120_000);

  before(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'certswap.cjs'))) {
      throw new Error('dist/ is not built: run npm run build first');
    }
    await packed();
  });

  it('holds the library, the CLI, its scripts, the units, README, docs and LICENSE, and nothing else', async () => {
    const { files, extracted } = await packed();
    const names = files.map((f) => f.path);
    expect(names.filter((n) => !SHIPPED.some((re) => re.test(n)))).to.deep.equal([]);
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/certswap.cjs',
      'scripts/certswap-prune',
      'scripts/systemd/certswap-agent.service',
    ]) {
      expect(names, needed).to.include(needed);
    }
    // Every module the library imports is there (the CLI's unbundled copy is left out; nothing needs it).
    const missing: string[] = [];
    for (const js of names.filter((n) => /^dist\/.*\.js$/.test(n))) {
      const text = fs.readFileSync(path.join(extracted, 'package', js), 'utf8');
      for (const m of text.matchAll(/(?:from |import\()'(\.[^']+)'/g)) {
        const target = path.posix.join(path.posix.dirname(js), m[1]!);
        if (!names.includes(target)) missing.push(`${js} -> ${target}`);
      }
    }
    expect(missing).to.deep.equal([]);
    for (const bin of Object.values(manifest.bin)) {
      const entry = files.find((f) => f.path === path.posix.normalize(bin));
      expect(entry, bin).to.not.equal(undefined);
      expect(entry!.mode & 0o111, `${bin} is executable`).to.equal(0o111);
    }
  });

  it('has the MIT text of docs/LICENSE at its root, and packing leaves no LICENSE in the checkout', async () => {
    const { extracted } = await packed();
    const license = fs.readFileSync(path.join(extracted, 'package', 'LICENSE'), 'utf8');
    expect(license).to.equal(fs.readFileSync(path.join(ROOT, 'docs', 'LICENSE'), 'utf8'));
    expect(license).to.match(/^MIT License\n/);
    expect(license).to.include('Permission is hereby granted, free of charge, to any person obtaining a copy');
    expect(license).to.include('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    expect(fs.existsSync(path.join(ROOT, 'LICENSE')), 'postpack removed the copy').to.equal(false);
  });

  it('needs no install script and no build of its own or of its dependencies', async () => {
    const { extracted } = await packed();
    const pkg = JSON.parse(fs.readFileSync(path.join(extracted, 'package', 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      dependencies: Record<string, string>;
    };
    const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'];
    expect(Object.keys(pkg.scripts ?? {}).filter((s) => installScripts.includes(s))).to.deep.equal([]);
    expect(Object.keys(pkg.dependencies)).to.not.include('fs-ext');
    // No dependency in the lock file runs a script at install (esbuild, a devDependency, is not installed).
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }>;
    };
    const scripted = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript && !p.dev);
    expect(scripted.map(([name]) => name)).to.deep.equal([]);
  });

  it("admits in package.json's engines exactly the Node lines it is tested under", () => {
    const ranges = manifest.engines.node.split('||').map((r) => r.trim());
    const floors = ranges.map((r) => {
      const m = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(r);
      expect(m, `${r} is a ^MAJOR.MINOR.PATCH range`).to.not.equal(null);
      return m!.slice(1).map(Number) as [number, number, number];
    });
    const tested = TESTED_NODE_RELEASES.map((v) => v.split('.').map(Number) as [number, number, number]);
    expect(floors.map((f) => f[0])).to.deep.equal(tested.map((t) => t[0]));
    for (const [i, t] of tested.entries()) {
      const f = floors[i]!;
      expect(t[1] > f[1] || (t[1] === f[1] && t[2] >= f[2]), `${t.join('.')} satisfies ${ranges[i]}`).to.equal(true);
    }
  });

  it("declares the platforms the lock's addon has a Linux binary for, so npm refuses the others at install", () => {
    const prebuilds = path.join(path.dirname(require.resolve('fs-native-extensions/package.json')), 'prebuilds');
    const linux = fs
      .readdirSync(prebuilds)
      .filter((d) => d.startsWith('linux-'))
      .map((d) => d.slice('linux-'.length));
    // A "-musl" directory would be a binary for musl (Alpine); without one, glibc only.
    expect({ os: manifest.os, cpu: [...manifest.cpu].sort(), libc: manifest.libc }).to.deep.equal({
      os: ['linux'],
      cpu: linux.filter((a) => !a.endsWith('-musl')).sort(),
      libc: linux.some((a) => a.endsWith('-musl')) ? ['glibc', 'musl'] : ['glibc'],
    });
  });

  it("has systemd units that systemd's own checker accepts (syntax, and every command executable)", async function () {
    const checker = which('systemd-analyze');
    if (!checker) {
      if (process.env.CI === 'true') throw new Error('systemd-analyze is missing (.ci/run installs systemd)');
      console.log('    systemd-analyze is not installed: unit check skipped');
      this.skip();
    }
    const { extracted } = await packed();
    const units = path.join(extracted, 'package', 'scripts', 'systemd');
    // From inside the directory: each timer finds its service beside it.
    const r = spawnSync(checker, ['verify', '--man=no', ...fs.readdirSync(units).map((u) => `./${u}`)], {
      cwd: units,
      encoding: 'utf8',
    });
    expect([r.status, r.stderr]).to.deep.equal([0, '']);
  });

  it('has systemd units whose ExecStart finds the commands where npm install -g puts them', async () => {
    const { extracted } = await packed();
    const units = path.join(extracted, 'package', 'scripts', 'systemd');
    const services = fs.readdirSync(units).filter((f) => f.endsWith('.service'));
    expect(services.length).to.be.at.least(3);
    for (const unit of services) {
      const execStart = fs
        .readFileSync(path.join(units, unit), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('ExecStart='));
      expect(execStart, unit).to.have.length(1);
      // `env NAME`: systemd's PATH is searched, so the unit is right wherever the prefix is on it.
      const [env, command] = execStart[0]!.slice('ExecStart='.length).split(/\s+/);
      expect(env, unit).to.equal('/usr/bin/env');
      expect(Object.keys(manifest.bin), unit).to.include(command);
    }
    // Where a default `npm install -g` on this machine puts the commands: on systemd's PATH.
    const prefix = execFileSync('npm', ['prefix', '-g'], { env: npmEnv(process.env.PATH ?? ''), encoding: 'utf8' });
    expect(SYSTEMD_PATH).to.include(path.join(prefix.trim(), 'bin'));
  });
});
