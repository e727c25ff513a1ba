/**
 * The other formats a generation carries (fullchain.pem, bundle.pem, cert.p12), written while
 * staging and switched by the same rename, cross-checked with openssl: `openssl pkcs12` opens the
 * PKCS#12 with the password and finds the same key, leaf and chain, for every key type certswap
 * accepts; a wrong password is refused by openssl too.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { buildPkcs12 } from '../../src/pki/pkcs12.js';
import { type Alg, issue, testCa } from '../helpers/certs.js';
import { expectCode } from '../helpers/expect-code.js';
import { certswap } from '../helpers/proc.js';
import { storeDir, tempDir } from '../helpers/tmp.js';

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The PEM certificates of openssl's output, without its "Bag Attributes" lines. */
function certsOf(text: string): string {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g) ?? []).join('');
}

/** A leaf issued through an intermediate: cert.pem is then leaf + intermediate. */
async function chainedPair(alg: Alg = 'P-256'): Promise<{ cert: Buffer; key: Buffer; leaf: string; inter: string }> {
  const inter = await issue({ ca: true, name: 'intermediate', issuer: await testCa() });
  const leaf = await issue({ issuer: inter, alg, name: 'device-1' });
  return {
    cert: Buffer.from(leaf.certPem + inter.certPem),
    key: Buffer.from(leaf.keyPem),
    leaf: leaf.certPem,
    inter: inter.certPem,
  };
}

/** What openssl finds in a PKCS#12 file: the key's public half, the leaf, the other certificates. */
function openP12(file: string, passFile: string): { pub: string; leaf: string; chain: string } {
  const pass = `file:${passFile}`;
  const key = openssl('pkcs12', '-in', file, '-passin', pass, '-nocerts', '-nodes');
  return {
    pub: createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string,
    leaf: certsOf(openssl('pkcs12', '-in', file, '-passin', pass, '-nokeys', '-clcerts')),
    chain: certsOf(openssl('pkcs12', '-in', file, '-passin', pass, '-nokeys', '-cacerts')),
  };
}

describe('formats: fullchain.pem, bundle.pem, cert.p12', function () {
  this.timeout(60_000);

  for (const alg of ['P-256', 'P-384', 'RSA-2048', 'Ed25519'] as const) {
    it(`openssl pkcs12 opens the PKCS#12 of a ${alg} pair with its password: same key, leaf and chain`, async () => {
      const p = await chainedPair(alg);
      const tmp = await tempDir();
      const file = path.join(tmp, 'cert.p12');
      const passFile = path.join(tmp, 'pass');
      await fse.writeFile(passFile, 'correct horse battery staple\n');
      const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
      await fse.writeFile(
        file,
        buildPkcs12(p.key.toString(), [der(p.leaf), der(p.inter)], Buffer.from('correct horse battery staple')),
      );
      const found = openP12(file, passFile);
      expect(found.pub).to.equal(createPublicKey(p.key).export({ type: 'spki', format: 'pem' }));
      expect(found.leaf).to.equal(p.leaf);
      expect(found.chain).to.equal(p.inter);
      await fse.writeFile(passFile, 'wrong\n');
      const r = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', `file:${passFile}`, '-noout']);
      expect(r.status).to.not.equal(0);
    });
  }

  it('stage writes the formats into the generation; modes and group follow the key; status names them', async () => {
    const dir = await storeDir();
    const store = await GenerationStore.open(dir);
    const tmp = await tempDir();
    const passFile = path.join(tmp, 'pass');
    await fse.writeFile(passFile, 's3cret\n');
    const p = await chainedPair();
    const { generation } = await store.stage(p, {
      formats: ['fullchain', 'bundle', 'pkcs12'],
      pkcs12Password: Buffer.from('s3cret'),
      access: { keyMode: 0o600, certMode: 0o640 },
    });
    await store.activate(generation);
    const cur = path.join(dir, 'current');
    const key = await fse.readFile(path.join(cur, 'key.pem'), 'utf8');
    expect(await fse.readFile(path.join(cur, 'fullchain.pem'), 'utf8')).to.equal(p.leaf + p.inter);
    expect(await fse.readFile(path.join(cur, 'bundle.pem'), 'utf8')).to.equal(key + p.leaf + p.inter);
    const mode = (f: string): string => (fse.statSync(path.join(cur, f)).mode & 0o777).toString(8);
    expect(['cert.pem', 'key.pem', 'fullchain.pem', 'bundle.pem', 'cert.p12'].map(mode)).to.deep.equal([
      '640',
      '600',
      '640',
      '600',
      '600',
    ]);
    const found = openP12(path.join(cur, 'cert.p12'), passFile);
    expect(found.leaf).to.equal(p.leaf);
    expect(found.pub).to.equal(createPublicKey(key).export({ type: 'spki', format: 'pem' }));
    // openssl reads the bundle's key and its leaf as a matching pair, as HAProxy does.
    const bundle = path.join(cur, 'bundle.pem');
    expect(openssl('pkey', '-in', bundle, '-pubout')).to.equal(openssl('x509', '-in', bundle, '-noout', '-pubkey'));

    const st = await store.status();
    expect(st.generations[0]!.files).to.deep.equal(['fullchain.pem', 'bundle.pem', 'cert.p12']);
    const human = await certswap(['status', '--dir', dir]);
    expect(human.stdout).to.include('formats  fullchain.pem bundle.pem cert.p12');
  });

  it('activate and rollback refuse a generation whose other formats changed since staging', async () => {
    const dir = await storeDir();
    const store = await GenerationStore.open(dir);
    const opts = { formats: ['bundle', 'pkcs12'] as const, pkcs12Password: Buffer.from('pw') };
    for (let i = 0; i < 3; i++) await store.install(await chainedPair(), { ...opts, formats: [...opts.formats] });
    const g = (n: number, f: string): string => path.join(dir, 'generations', String(n), f);
    // Damaged, and missing: each refused by name, the active generation unchanged (I3).
    await fse.appendFile(g(2, 'bundle.pem'), '\n');
    await expectCode(store.rollback(), ErrorCodes.INCOMPLETE_GENERATION, /generation 2: bundle.pem differs/);
    await fse.remove(g(1, 'cert.p12'));
    await expectCode(store.activate(1), ErrorCodes.INCOMPLETE_GENERATION, /generation 1: cert.p12 is missing/);
    expect((await store.status()).current).to.equal(3);
    // recover does not repoint to such a generation either: it is not usable.
    await fse.remove(g(3, 'key.pem'));
    const r = await store.recover();
    expect(r.problems.map((p) => p.code)).to.deep.equal([ErrorCodes.NO_VALID_GENERATION]);
  });

  it('through the CLI: --format, --pkcs12-password-file; refusals before anything is staged', async () => {
    const dir = await storeDir();
    const tmp = await tempDir();
    const p = await chainedPair();
    await fse.writeFile(path.join(tmp, 'c'), p.cert);
    await fse.writeFile(path.join(tmp, 'k'), p.key);
    await fse.writeFile(path.join(tmp, 'pass'), 'pa ss\r\n');
    const install = ['install', '--dir', dir, '--cert', `${tmp}/c`, '--key', `${tmp}/k`];
    const ok = await certswap([
      ...install,
      '--format',
      'bundle',
      '--format',
      'pkcs12',
      '--pkcs12-password-file',
      `${tmp}/pass`,
    ]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect((await fse.readdir(path.join(dir, 'generations', '1'))).sort()).to.deep.equal([
      '.meta.json',
      'bundle.pem',
      'cert.p12',
      'cert.pem',
      'key.pem',
    ]);
    // The CRLF that ended the line is not part of the password.
    await fse.writeFile(path.join(tmp, 'pass-plain'), 'pa ss');
    expect(openP12(path.join(dir, 'current', 'cert.p12'), path.join(tmp, 'pass-plain')).leaf).to.equal(p.leaf);

    expect((await certswap([...install, '--format', 'pkcs12'])).code).to.equal(2);
    expect((await certswap([...install, '--format', 'der'])).code).to.equal(2);
    await fse.writeFile(path.join(tmp, 'bad-pass'), 'pässwörd\n');
    const bad = await certswap([
      ...install,
      '--format',
      'pkcs12',
      '--pkcs12-password-file',
      `${tmp}/bad-pass`,
      '--json',
    ]);
    expect([bad.code, JSON.parse(bad.stderr).error.code]).to.deep.equal([1, ErrorCodes.BAD_ARGUMENT]);
    expect(await fse.readdir(path.join(dir, 'generations'))).to.deep.equal(['1']);
    await expectCode((await GenerationStore.open(dir)).stage(p, { formats: ['pkcs12'] }), ErrorCodes.BAD_ARGUMENT);
  });
});
