/**
 * certswap import end to end (the built CLI): a certbot lineage, a lego certificate, or a
 * certificate and key file become the active generation through install's path, with the same
 * fingerprint; the source tree is not changed (every entry's bytes, mode, owner, inode, mtime and
 * ctime); a lineage that is torn or disagrees with itself is refused with its code and installs
 * nothing. Hostile sources (links out of the lineage, FIFOs, huge files) are in
 * test/security/import-source.test.ts; real certbot and lego in test/cli/import-acme.test.ts.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import path from 'node:path';
import { certswap } from '../helpers/proc.js';
import { makeChain, writeCertbotLineage, writeLegoCertificate, type Chain } from '../helpers/lineages.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { treeState } from '../helpers/tree-state.js';

interface Imported {
  generation: number;
  previous: number | null;
  fingerprint: string;
  notAfter: string;
  from: string;
  files: string[];
}

const fingerprint = (c: Chain): string => new X509Certificate(c.leaf.certPem).fingerprint256;

/** Runs `certswap import` with `args` on a new store; asserts exit 0 and returns its JSON. */
async function importOk(dir: string, args: string[]): Promise<Imported> {
  const r = await certswap(['import', '--dir', dir, '--json', ...args]);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as Imported;
}

/** Runs `certswap import`, which must fail with exit 1 and `code`; nothing may be installed. */
async function importFails(dir: string, args: string[], code: string): Promise<void> {
  const r = await certswap(['import', '--dir', dir, '--json', ...args]);
  expect([r.code, (JSON.parse(r.stderr) as { error: { code: string } }).error.code], r.stderr).to.deep.equal([1, code]);
  expect(await fse.pathExists(path.join(dir, 'current')), 'current').to.equal(false);
  expect(await fse.readdir(path.join(dir, 'generations')).catch(() => [])).to.deep.equal([]);
}

async function activeFiles(dir: string): Promise<{ cert: string; key: string; link: string }> {
  return {
    link: await fse.readlink(path.join(dir, 'current')),
    cert: await fse.readFile(path.join(dir, 'current', 'cert.pem'), 'utf8'),
    key: await fse.readFile(path.join(dir, 'current', 'key.pem'), 'utf8'),
  };
}

describe('cli: import', function () {
  this.timeout(60_000);

  it('--from certbot: the lineage becomes the active generation, leaf then chain; the source is unchanged', async () => {
    const chain = await makeChain();
    const config = await tempDir();
    await writeCertbotLineage(config, 'device.example', await makeChain('old.example'), 1);
    const lineage = await writeCertbotLineage(config, 'device.example', chain, 2);
    const before = await treeState(config);
    const dir = await storeDir();

    const r = await importOk(dir, ['--from', 'certbot', lineage.live]);
    expect(r).to.deep.include({ generation: 1, previous: null, fingerprint: fingerprint(chain), from: 'certbot' });
    // The files of renewal 2, by their real names: what was imported can be told afterwards.
    expect(r.files).to.deep.equal(
      ['cert', 'chain', 'fullchain', 'privkey'].map((f) => path.join(lineage.archive, `${f}2.pem`)),
    );
    const active = await activeFiles(dir);
    expect(active.link).to.equal('generations/1');
    expect(active.cert).to.equal(chain.leaf.certPem + chain.intermediate.certPem);
    // The key is the lineage's key (re-encoded as PKCS#8, as install stores every key).
    expect(new X509Certificate(active.cert).checkPrivateKey(createPrivateKey(active.key))).to.equal(true);
    expect(createPrivateKey(active.key).export({ format: 'der', type: 'pkcs8' })).to.deep.equal(
      createPrivateKey(chain.leaf.keyPem).export({ format: 'der', type: 'pkcs8' }),
    );
    expect((await treeState(config)).entries).to.deep.equal(before.entries);

    const s = await certswap(['status', '--dir', dir, '--json']);
    const status = JSON.parse(s.stdout) as {
      current: number;
      generations: Array<{ fingerprint: string; chainLength: number }>;
    };
    expect(status.current).to.equal(1);
    expect(status.generations[0]).to.deep.include({ fingerprint: fingerprint(chain), chainLength: 2 });
  });

  it('--from certbot through a link to the config directory, with --ca, and with --trial as install --trial', async () => {
    const chain = await makeChain();
    const root = await tempDir();
    const lineage = await writeCertbotLineage(path.join(root, 'real-letsencrypt'), 'device.example', chain);
    await fse.symlink('real-letsencrypt', path.join(root, 'letsencrypt'));
    const dir = await storeDir();
    const ca = path.join(root, 'peers.pem');
    await fse.writeFile(ca, chain.root.certPem);
    const first = await importOk(dir, [
      '--from',
      'certbot',
      path.join(root, 'letsencrypt', 'live', 'device.example'),
      '--ca',
      ca,
    ]);
    expect(first.generation).to.equal(1);
    expect(first.files.at(-1)).to.equal(ca);
    expect(await fse.readFile(path.join(dir, 'current', 'ca.pem'), 'utf8')).to.equal(chain.root.certPem);
    const again = await importOk(dir, [
      '--from',
      'certbot',
      lineage.live,
      '--trial',
      '--expect-name',
      'device.example',
    ]);
    expect(again).to.deep.include({ generation: 2, previous: 1 });
    const s = JSON.parse((await certswap(['status', '--dir', dir, '--json'])).stdout) as {
      trial: { generation: number; returnTo: number };
    };
    expect(s.trial).to.deep.include({ generation: 2, returnTo: 1 });
    expect((await certswap(['commit', '--dir', dir])).code).to.equal(0);
  });

  it('--from certbot refuses a torn lineage (links to two renewals) and a fullchain.pem that is not cert + chain', async () => {
    // certbot repoints its four links one at a time (cert, privkey, chain, fullchain): one that died
    // after the first two leaves this; the second lineage has only its key left behind, which only
    // the renewal numbers tell (the chain files agree with each other).
    for (const stale of [['chain', 'fullchain'], ['privkey']]) {
      const config = await tempDir();
      const lineage = await writeCertbotLineage(config, 'device.example', await makeChain(), 1);
      await writeCertbotLineage(config, 'device.example', await makeChain(), 2);
      for (const f of stale) {
        await fse.remove(path.join(lineage.live, `${f}.pem`));
        await fse.symlink(`../../archive/device.example/${f}1.pem`, path.join(lineage.live, `${f}.pem`));
      }
      await importFails(await storeDir(), ['--from', 'certbot', lineage.live], 'CERTSWAP_BAD_LINEAGE');
    }

    const other = await makeChain();
    const edited = await writeCertbotLineage(await tempDir(), 'device.example', await makeChain(), 1);
    await fse.writeFile(path.join(edited.archive, 'fullchain1.pem'), other.leaf.certPem + other.intermediate.certPem);
    await importFails(await storeDir(), ['--from', 'certbot', edited.live], 'CERTSWAP_BAD_LINEAGE');
  });

  it("--from certbot checks the chain order with install's validation, and names a missing lineage or file", async () => {
    const chain = await makeChain();
    const wrongCa = await makeChain();
    const bad = await writeCertbotLineage(
      await tempDir(),
      'device.example',
      { ...chain, intermediate: wrongCa.root },
      1,
    );
    await importFails(await storeDir(), ['--from', 'certbot', bad.live], 'CERTSWAP_CHAIN_ORDER');

    const config = await tempDir();
    await importFails(await storeDir(), ['--from', 'certbot', path.join(config, 'live', 'nothing')], 'ENOENT');
    const lineage = await writeCertbotLineage(config, 'device.example', chain);
    await fse.remove(path.join(lineage.live, 'privkey.pem'));
    await importFails(await storeDir(), ['--from', 'certbot', lineage.live], 'ENOENT');
    // Not a lineage: a directory that is not inside live/.
    await importFails(await storeDir(), ['--from', 'certbot', lineage.archive], 'CERTSWAP_BAD_LINEAGE');
  });

  it('--from lego: bundled and --no-bundle certificates, a wildcard name; the source is unchanged', async () => {
    for (const bundle of [true, false]) {
      const chain = await makeChain();
      const root = await tempDir();
      const certificates = await writeLegoCertificate(root, 'device.example', chain, bundle);
      const before = await treeState(root);
      const dir = await storeDir();
      const r = await importOk(dir, ['--from', 'lego', certificates, 'device.example']);
      expect(r).to.deep.include({ generation: 1, fingerprint: fingerprint(chain), from: 'lego' });
      expect(r.files).to.deep.equal(
        ['crt', 'key', 'issuer.crt'].map((e) => path.join(certificates, `device.example.${e}`)),
      );
      expect((await activeFiles(dir)).cert, `bundle ${bundle}`).to.equal(
        chain.leaf.certPem + chain.intermediate.certPem,
      );
      expect((await treeState(root)).entries).to.deep.equal(before.entries);
    }
    const wild = await makeChain('*.example.org');
    const certificates = await writeLegoCertificate(await tempDir(), '_.example.org', wild);
    const r = await importOk(await storeDir(), ['--from', 'lego', certificates, '*.example.org']);
    expect(r.fingerprint).to.equal(fingerprint(wild));
  });

  it('--from lego refuses a chain that is not NAME.issuer.crt, a name that is not a file name, a missing file', async () => {
    const certificates = await writeLegoCertificate(await tempDir(), 'device.example', await makeChain());
    await fse.writeFile(path.join(certificates, 'device.example.issuer.crt'), (await makeChain()).root.certPem);
    await importFails(await storeDir(), ['--from', 'lego', certificates, 'device.example'], 'CERTSWAP_BAD_LINEAGE');
    await importFails(
      await storeDir(),
      ['--from', 'lego', certificates, '../certificates/device.example'],
      'CERTSWAP_BAD_ARGUMENT',
    );
    await importFails(await storeDir(), ['--from', 'lego', certificates, 'other.example'], 'ENOENT');
  });

  it('--from lego read while lego renews (it rewrites its files in place): refused by validation', async () => {
    const root = await tempDir();
    const certificates = await writeLegoCertificate(root, 'device.example', await makeChain());
    const crt = path.join(certificates, 'device.example.crt');
    const renewed = await makeChain();
    // The new certificate written, the new key not yet.
    await fse.writeFile(crt, renewed.leaf.certPem + renewed.intermediate.certPem);
    await importFails(await storeDir(), ['--from', 'lego', certificates, 'device.example'], 'CERTSWAP_KEY_MISMATCH');
    // The certificate cut short mid-write.
    await fse.writeFile(crt, renewed.leaf.certPem.slice(0, 300));
    await importFails(await storeDir(), ['--from', 'lego', certificates, 'device.example'], 'CERTSWAP_NOT_PEM');
  });

  it("--cert/--key/--ca: install's files, imported the same way", async () => {
    const chain = await makeChain();
    const src = await tempDir();
    const f = { cert: path.join(src, 'c.pem'), key: path.join(src, 'k.pem'), ca: path.join(src, 'ca.pem') };
    await fse.writeFile(f.cert, chain.leaf.certPem + chain.intermediate.certPem);
    await fse.writeFile(f.key, chain.leaf.keyPem, { mode: 0o600 });
    await fse.writeFile(f.ca, chain.root.certPem);
    const before = await treeState(src);
    const dir = await storeDir();
    const r = await importOk(dir, ['--cert', f.cert, '--key', f.key, '--ca', f.ca]);
    expect(r).to.deep.include({ generation: 1, fingerprint: fingerprint(chain), from: 'files' });
    expect(r.files).to.deep.equal([f.cert, f.key, f.ca]);
    expect(await fse.readFile(path.join(dir, 'current', 'ca.pem'), 'utf8')).to.equal(chain.root.certPem);
    expect((await treeState(src)).entries).to.deep.equal(before.entries);
    // The key of another pair: install's KEY_MISMATCH.
    await fse.writeFile(f.key, (await makeChain()).leaf.keyPem);
    await importFails(await storeDir(), ['--cert', f.cert, '--key', f.key], 'CERTSWAP_KEY_MISMATCH');
  });

  it("--from certbot with install's output options: the key's mode and the other formats", async () => {
    const chain = await makeChain();
    const lineage = await writeCertbotLineage(await tempDir(), 'device.example', chain, 1);
    const dir = await storeDir();
    await importOk(dir, [
      '--from',
      'certbot',
      lineage.live,
      '--key-mode',
      '0400',
      '--format',
      'fullchain',
      '--format',
      'bundle',
    ]);
    expect((await fse.stat(path.join(dir, 'current', 'key.pem'))).mode & 0o777).to.equal(0o400);
    const bundle = await fse.readFile(path.join(dir, 'current', 'bundle.pem'), 'utf8');
    expect(bundle).to.include(chain.leaf.keyPem.trim()).and.include(chain.leaf.certPem.trim());
    expect(await fse.readFile(path.join(dir, 'current', 'fullchain.pem'), 'utf8')).to.equal(
      chain.leaf.certPem + chain.intermediate.certPem,
    );
  });

  it('usage errors: no source, two sources, an unknown client, a wrong number of arguments', async () => {
    const dir = await storeDir();
    for (const args of [
      [],
      ['--from', 'certbot'],
      ['--from', 'certbot', 'a', 'b'],
      ['--from', 'lego', 'a'],
      ['--from', 'acme.sh', 'a'],
      ['--from', 'certbot', 'a', '--cert', 'c', '--key', 'k'],
      ['--cert', 'c'],
      ['--cert', 'c', '--key', 'k', 'extra'],
    ]) {
      const r = await certswap(['import', '--dir', dir, ...args]);
      expect([r.code, r.stderr.split(':')[1]], args.join(' ')).to.deep.equal([2, ' CERTSWAP_USAGE']);
    }
    expect(await fse.pathExists(dir)).to.equal(false);
  });
});
