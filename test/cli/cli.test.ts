/** The CLI end to end, as a child process running the built dist/. */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { makePair, type Pair } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { snapshot } from '../helpers/snapshot.js';
import { certswap } from '../helpers/proc.js';

interface Files {
  cert: string;
  key: string;
  ca: string;
}

async function writePair(p: Pair, name = 'p'): Promise<Files> {
  const dir = await tempDir();
  const f = {
    cert: path.join(dir, `${name}.crt`),
    key: path.join(dir, `${name}.key`),
    ca: path.join(dir, `${name}-ca.pem`),
  };
  await fse.writeFile(f.cert, p.cert);
  await fse.writeFile(f.key, p.key, { mode: 0o600 });
  await fse.writeFile(f.ca, p.ca);
  return f;
}

function json<T>(out: string): T {
  return JSON.parse(out) as T;
}

describe('cli', function () {
  this.timeout(60_000);

  it('status --expiring-within: exit 0 while the active pair outlives the time, else 1 with the reason', async () => {
    const dir = await storeDir();
    let r = await certswap(['status', '--dir', dir, '--expiring-within', '14d']);
    expect([r.code, r.stderr]).to.deep.equal([1, `certswap: ENOENT: no such store directory: ${dir} does not exist\n`]);
    const f = await writePair(await makePair()); // valid for 30 days
    expect((await certswap(['install', '--dir', dir, '--cert', f.cert, '--key', f.key])).code).to.equal(0);
    r = await certswap(['status', '--dir', dir, '--expiring-within', '14d']);
    expect([r.code, r.stderr]).to.deep.equal([0, '']);
    expect(r.stdout).to.match(/^store /);
    r = await certswap(['status', '--dir', dir, '--expiring-within', '40d']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^certswap: CERTSWAP_LIFETIME_TOO_SHORT: generation 1: cert .*expires at .*\n$/);
    expect(r.stderr.split('\n')).to.have.length(2); // one line
    r = await certswap(['status', '--dir', dir, '--expiring-within', '40d', '--json']);
    expect(JSON.parse(r.stderr)).to.have.nested.property('error.code', 'CERTSWAP_LIFETIME_TOO_SHORT');
    await fse.remove(path.join(dir, 'current'));
    r = await certswap(['status', '--dir', dir, '--expiring-within', '1h']);
    expect([r.code, r.stderr]).to.deep.equal([1, `certswap: CERTSWAP_NO_ACTIVE: nothing is active in ${dir}\n`]);
    r = await certswap(['status', '--dir', dir, '--expiring-within', 'soon']);
    expect(r.code).to.equal(2);
  });

  it('runs the scripted rotation: install twice, rollback, refused install, prune, recover, status', async () => {
    const dir = await storeDir();
    const link = (): Promise<string> => fse.readlink(path.join(dir, 'current'));
    const a = await writePair(await makePair(), 'a');
    const b = await writePair(await makePair(), 'b');

    let r = await certswap(['install', '--dir', dir, '--cert', a.cert, '--key', a.key, '--ca', a.ca]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('1\n');
    expect(await link()).to.equal('generations/1');

    r = await certswap(['install', '--dir', dir, '--cert', b.cert, '--key', b.key, '--json']);
    expect(json<{ generation: number; previous: number }>(r.stdout)).to.include({ generation: 2, previous: 1 });
    expect(await link()).to.equal('generations/2');

    r = await certswap(['rollback', '--dir', dir]);
    expect([r.code, r.stdout]).to.deep.equal([0, '1\n']);
    expect(await link()).to.equal('generations/1');

    const before = await snapshot(dir);
    r = await certswap(['install', '--dir', dir, '--cert', a.cert, '--key', b.key]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(/^certswap: CERTSWAP_KEY_MISMATCH: key .*b\.key: does not match/);
    expect(await snapshot(dir)).to.deep.equal(before);

    for (let i = 0; i < 3; i++)
      expect((await certswap(['install', '--dir', dir, '--cert', a.cert, '--key', a.key])).code).to.equal(0);
    r = await certswap(['prune', '--dir', dir, '--keep', '2', '--json']);
    expect(json<{ removed: number[] }>(r.stdout).removed).to.deep.equal([1, 2, 3]);
    expect(await link()).to.equal('generations/5');

    await fse.mkdir(path.join(dir, 'generations', '.staging-1-ab'));
    r = await certswap(['recover', '--dir', dir]);
    expect(r.code, r.stdout).to.equal(0);
    expect(r.stdout)
      .to.match(/removed leftover .*\.staging-1-ab/)
      .and.match(/store is healthy; current: 5/);

    r = await certswap(['status', '--dir', dir, '--json']);
    const s = json<{
      current: number;
      previous: number;
      generations: Array<{ id: number; notAfter: string; fingerprint: string; valid: boolean }>;
    }>(r.stdout);
    expect(s).to.include({ current: 5, previous: 4 });
    expect(s.generations.map((g) => g.id)).to.deep.equal([4, 5]);
    for (const g of s.generations) {
      expect(g.valid).to.equal(true);
      expect(g.fingerprint).to.match(/^[0-9A-F:]{95}$/);
      expect(new Date(g.notAfter).toISOString()).to.equal(g.notAfter);
    }
    expect(await link()).to.equal('generations/5');
  });

  it('stage, activate, verify and status in human form', async () => {
    const dir = await storeDir();
    const a = await writePair(await makePair({ name: 'device-42' }));
    expect((await certswap(['stage', '--dir', dir, '--cert', a.cert, '--key', a.key])).stdout).to.equal('1\n');
    let r = await certswap(['verify', '--dir', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/CERTSWAP_NO_ACTIVE/);
    expect((await certswap(['activate', '--dir', dir, '1'])).stdout).to.equal('1\n');
    r = await certswap(['verify', '--dir', dir, '--expect-name', 'device-42']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^ok: generation 1, CN=device-42, EC P-256, valid until /);
    r = await certswap(['verify', '--dir', dir, '--expect-name', 'device-43', '--json']);
    expect(r.code).to.equal(1);
    expect(json<{ error: { code: string } }>(r.stderr).error.code).to.equal('CERTSWAP_NAME_MISMATCH');
    r = await certswap(['status', '--dir', dir]);
    expect(r.stdout)
      .to.match(/current {2}1/)
      .and.match(/GEN +STATE +NOT AFTER/)
      .and.match(/1 +current +\S+ +EC P-256 +yes +CN=device-42/);
  });

  it('activate --trial, status, commit and rollback of a trial', async () => {
    const dir = await storeDir();
    const a = await writePair(await makePair(), 'a');
    const b = await writePair(await makePair(), 'b');
    await certswap(['install', '--dir', dir, '--cert', a.cert, '--key', a.key]);
    await certswap(['stage', '--dir', dir, '--cert', b.cert, '--key', b.key]);
    let r = await certswap(['activate', '--dir', dir, '--trial', '2']);
    expect([r.code, r.stdout]).to.deep.equal([0, '2\n']);
    r = await certswap(['status', '--dir', dir]);
    expect(r.stdout).to.match(/trial {4}generation 2 on trial since .*; returns to 1 unless committed/);
    r = await certswap(['install', '--dir', dir, '--cert', a.cert, '--key', a.key]);
    expect([r.code, r.stderr]).to.deep.equal([
      1,
      'certswap: CERTSWAP_TRIAL_PENDING: generation 2 is on trial: commit it or roll it back first\n',
    ]);
    expect((await certswap(['rollback', '--dir', dir])).stdout).to.equal('1\n');
    await certswap(['activate', '--dir', dir, '--trial', '2']);
    r = await certswap(['commit', '--dir', dir, '--json']);
    expect(json(r.stdout)).to.deep.equal({ generation: 2 });
    r = await certswap(['commit', '--dir', dir]);
    expect(r.stderr).to.match(/CERTSWAP_NO_TRIAL/);
    expect((await certswap(['agent'])).code).to.equal(2);
    expect((await certswap(['renew', '--config', 'x', '--demo'])).code).to.equal(2);
  });

  it('takes the store from CERTSWAP_DIR', async () => {
    const dir = await storeDir();
    const a = await writePair(await makePair());
    expect((await certswap(['install', '--cert', a.cert, '--key', a.key], { CERTSWAP_DIR: dir })).code).to.equal(0);
    expect(await fse.readlink(path.join(dir, 'current'))).to.equal('generations/1');
  });

  it('--help, --version and usage errors', async () => {
    const help = await certswap(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage: certswap <command>/);
    const { version } = json<{ version: string }>(
      await fse.readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    expect((await certswap(['--version'])).stdout).to.equal(`${version}\n`);
    const dir = await storeDir();
    for (const args of [
      ['frobnicate', '--dir', dir],
      ['install', '--dir', dir],
      ['activate', '--dir', dir],
      ['activate', '--dir', dir, '01'],
      ['activate', '--dir', dir, '../1'],
      ['activate', '--dir', dir, '1e3'],
      ['activate', '--dir', dir, '-1'],
      ['rollback', '--dir', dir, '--to', '1/..'],
      ['rollback', '--dir', dir, '--to', ''],
      ['prune', '--dir', dir, '--keep', 'x'],
      ['status', '--dir', dir, '--bogus'],
      ['status', '--dir', dir, '--keep', '1'],
      ['status'],
    ]) {
      const r = await certswap(args, { CERTSWAP_DIR: '' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(/^certswap: CERTSWAP_USAGE: /);
    }
    const r = await certswap(['activate', '--dir', dir, 'x', '--json']);
    expect(json<{ error: { code: string } }>(r.stderr).error.code).to.equal('CERTSWAP_USAGE');
  });

  it('refuses bad input files with exit 1, naming the file, without hanging', async () => {
    const dir = await storeDir();
    const good = await writePair(await makePair());
    const junk = await tempDir();
    const fifo = path.join(junk, 'fifo.pem');
    execFileSync('mkfifo', [fifo]);
    const sparse = path.join(junk, 'huge.pem');
    await fse.writeFile(sparse, '');
    await fse.truncate(sparse, 1024 ** 3);
    const cases: Array<[string, string, RegExp]> = [
      [path.join(junk, 'missing.pem'), 'ENOENT', /no such file/],
      [junk, 'CERTSWAP_INPUT_NOT_FILE', /is a directory/],
      [fifo, 'CERTSWAP_INPUT_NOT_FILE', /not a regular file/],
      [sparse, 'CERTSWAP_INPUT_TOO_LARGE', /larger than/],
    ];
    for (const [cert, code, msg] of cases) {
      const r = await certswap(['install', '--dir', dir, '--cert', cert, '--key', good.key]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.include(`certswap: ${code}: cert ${cert}`).and.match(msg);
    }
    // Refused before anything was staged: no generation, no leftover, nothing active.
    expect(await fse.readdir(path.join(dir, 'generations')).catch(() => [])).to.deep.equal([]);
    expect(await fse.pathExists(path.join(dir, 'current'))).to.equal(false);
  });

  it('logs one JSON event per operation to stderr, without key material', async () => {
    const dir = await storeDir();
    const p = await makePair();
    const a = await writePair(p);
    const r = await certswap(['install', '--dir', dir, '--cert', a.cert, '--key', a.key, '--log-level', 'info']);
    expect(r.code).to.equal(0);
    const events = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; generation: number; fingerprint: string });
    expect(events.map((e) => e.event)).to.deep.equal(['stage', 'activate']);
    expect(events[1]).to.include({ generation: 1 });
    expect(events[1]!.fingerprint).to.match(/^[0-9A-F:]+$/);
    const body = p.key.toString().split('\n').slice(1, -2).join('');
    for (let i = 0; i + 32 <= body.length; i += 8) expect(r.stderr).to.not.include(body.slice(i, i + 32));
  });
});
