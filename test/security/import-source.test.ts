/**
 * Hostile import sources (certswap reads them as root): a link out of the lineage (to a secret
 * file, a device, another lineage), a link planted in the archive, an archive directory that is a
 * link, a FIFO, a directory, a 1 GiB sparse file. Each is refused with its code before a byte of
 * the target is read, without hanging, leaving the source tree as it was; a secret is never
 * echoed. The rules are docs/import.md's "Hostile sources".
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fse from 'fs-extra';
import path from 'node:path';
import { readImport, type ImportSource } from '../../src/import/source.js';
import { expectCode } from '../helpers/expect-code.js';
import { makeChain, writeCertbotLineage, writeLegoCertificate, type CertbotLineage } from '../helpers/lineages.js';
import { certswap } from '../helpers/proc.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { treeState } from '../helpers/tree-state.js';

const SECRET = 'root:$6$not-a-real-hash-but-a-secret:19000:0:99999:7:::\n';
const NAME = 'device.example';

/** A certbot lineage in <root>/le, and a root-only secret file beside it, outside the lineage. */
async function certbot(): Promise<{ root: string; lineage: CertbotLineage; secret: string }> {
  const root = await tempDir();
  const lineage = await writeCertbotLineage(path.join(root, 'le'), NAME, await makeChain());
  const secret = path.join(root, 'shadow');
  await fse.writeFile(secret, SECRET, { mode: 0o600 });
  return { root, lineage, secret };
}

async function relink(link: string, target: string): Promise<void> {
  await fse.remove(link);
  await fse.symlink(target, link);
}

/** readImport must refuse `source` with `code`, naming no byte of the secret, changing nothing under `root`. */
async function refused(root: string, source: ImportSource, code: string): Promise<void> {
  const before = await treeState(root, 2 ** 20);
  const e = await expectCode(readImport(source), code);
  expect(e.message).not.to.include('not-a-real-hash');
  expect((await treeState(root, 2 ** 20)).entries).to.deep.equal(before.entries);
}

describe('security: hostile import sources', function () {
  this.timeout(60_000);

  describe('certbot', () => {
    it('refuses a live link that leaves archive/NAME: a secret file, a device, another lineage, the wrong file', async () => {
      const { root, lineage, secret } = await certbot();
      const other = await writeCertbotLineage(path.join(root, 'le'), 'other.example', await makeChain('other.example'));
      const cases: Array<[string, string]> = [
        ['privkey.pem', '../../../shadow'],
        ['privkey.pem', secret],
        ['cert.pem', '/dev/zero'],
        ['privkey.pem', `../../archive/other.example/privkey1.pem`],
        ['privkey.pem', `../../archive/${NAME}/../other.example/privkey1.pem`],
        ['cert.pem', `../../archive/${NAME}/privkey1.pem`],
        ['cert.pem', `../../archive/${NAME}/cert01.pem`],
        ['cert.pem', `../../archive/${NAME}/sub/cert1.pem`],
      ];
      for (const [file, target] of cases) {
        const link = path.join(lineage.live, file);
        const was = await fse.readlink(link);
        await relink(link, target);
        await refused(root, { from: 'certbot', live: lineage.live }, 'CERTSWAP_BAD_LINEAGE');
        await relink(link, was);
      }
      // Put back as it was, the lineage imports: each refusal above was the link's doing.
      expect((await readImport({ from: 'certbot', live: lineage.live })).files).to.have.length(4);
      expect((await readImport({ from: 'certbot', live: other.live })).files).to.have.length(4);
    });

    it('refuses a link planted in the archive (ELOOP) and an archive directory that is a link', async () => {
      const { root, lineage, secret } = await certbot();
      const planted = path.join(lineage.archive, 'privkey1.pem');
      await fse.remove(planted);
      await fse.symlink(secret, planted);
      await refused(root, { from: 'certbot', live: lineage.live }, 'ELOOP');

      // archive/NAME as a link to a directory holding the secret under an archive name.
      const elsewhere = await writeCertbotLineage(path.join(root, 'elsewhere'), NAME, await makeChain());
      await fse.copy(secret, path.join(elsewhere.archive, 'privkey1.pem'));
      await fse.remove(lineage.archive);
      await fse.symlink(elsewhere.archive, lineage.archive);
      await refused(root, { from: 'certbot', live: lineage.live }, 'CERTSWAP_BAD_LINEAGE');
      // archive itself a link.
      await fse.remove(path.join(lineage.config, 'archive'));
      await fse.symlink(path.join(elsewhere.config, 'archive'), path.join(lineage.config, 'archive'));
      await refused(root, { from: 'certbot', live: lineage.live }, 'CERTSWAP_BAD_LINEAGE');
    });

    it('refuses a lineage whose directories someone besides their owner can write (a swap between check and read)', async () => {
      const { root, lineage } = await certbot();
      for (const [dir, mode] of [
        [lineage.archive, 0o777],
        [path.dirname(lineage.archive), 0o730],
        [lineage.live, 0o757],
        [path.dirname(lineage.live), 0o720],
        [lineage.config, 0o775],
      ] as const) {
        const was = (await fse.stat(dir)).mode & 0o7777;
        await fse.chmod(dir, mode);
        await refused(root, { from: 'certbot', live: lineage.live }, 'CERTSWAP_BAD_LINEAGE');
        await fse.chmod(dir, was);
      }
      expect((await readImport({ from: 'certbot', live: lineage.live })).files).to.have.length(4);
    });

    it('refuses a FIFO (without waiting for a writer), a directory and a 1 GiB sparse file', async () => {
      const { root, lineage } = await certbot();
      const fifo = path.join(lineage.archive, 'privkey1.pem');
      await fse.remove(fifo);
      execFileSync('mkfifo', ['-m', '600', fifo]);
      await refused(root, { from: 'certbot', live: lineage.live }, 'CERTSWAP_INPUT_NOT_FILE');
      // A lineage copied without its links (regular files in live/NAME) imports where it is; with
      // a FIFO among its files, it is refused the same way.
      const copy = await writeCertbotLineage(path.join(root, 'copy'), NAME, await makeChain());
      for (const f of ['cert', 'chain', 'fullchain', 'privkey']) {
        await fse.remove(path.join(copy.live, `${f}.pem`));
        await fse.copy(path.join(copy.archive, `${f}1.pem`), path.join(copy.live, `${f}.pem`));
      }
      expect((await readImport({ from: 'certbot', live: copy.live })).files[3]).to.equal(
        path.join(copy.live, 'privkey.pem'),
      );
      await fse.remove(path.join(copy.live, 'privkey.pem'));
      execFileSync('mkfifo', ['-m', '600', path.join(copy.live, 'privkey.pem')]);
      await refused(root, { from: 'certbot', live: copy.live }, 'CERTSWAP_INPUT_NOT_FILE');

      const other = await certbot();
      const huge = path.join(other.lineage.archive, 'fullchain1.pem');
      await fse.truncate(huge, 1024 ** 3);
      await refused(other.root, { from: 'certbot', live: other.lineage.live }, 'CERTSWAP_INPUT_TOO_LARGE');
      await fse.remove(huge);
      await fse.mkdir(huge);
      await refused(other.root, { from: 'certbot', live: other.lineage.live }, 'CERTSWAP_INPUT_NOT_FILE');
    });

    it('the CLI: a link to the secret is refused with exit 1, the secret in no output, nothing installed', async () => {
      const { lineage } = await certbot();
      await relink(path.join(lineage.live, 'privkey.pem'), '../../../shadow');
      const dir = await storeDir();
      const r = await certswap(['import', '--dir', dir, '--from', 'certbot', lineage.live, '--log-level', 'debug']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^certswap: CERTSWAP_BAD_LINEAGE: /m);
      expect(r.stdout + r.stderr).not.to.include('not-a-real-hash');
      expect(await fse.pathExists(path.join(dir, 'current'))).to.equal(false);
    });
  });

  describe('lego', () => {
    it('refuses a certificates directory that someone besides its owner can write', async () => {
      const root = await tempDir();
      const certificates = await writeLegoCertificate(root, NAME, await makeChain());
      await fse.chmod(certificates, 0o770);
      await refused(root, { from: 'lego', certificates, name: NAME }, 'CERTSWAP_BAD_LINEAGE');
      await fse.chmod(certificates, 0o700);
      expect((await readImport({ from: 'lego', certificates, name: NAME })).files).to.have.length(3);
    });

    it('refuses a link in place of a file, a FIFO, a directory and a 1 GiB sparse file', async () => {
      for (const [file, make, code] of [
        ['key', (p: string, secret: string) => fse.symlink(secret, p), 'ELOOP'],
        ['crt', (p: string) => fse.symlink(`${path.basename(p, '.crt')}.issuer.crt`, p), 'ELOOP'],
        ['crt', (p: string) => execFileSync('mkfifo', [p]), 'CERTSWAP_INPUT_NOT_FILE'],
        ['issuer.crt', (p: string) => execFileSync('mkfifo', [p]), 'CERTSWAP_INPUT_NOT_FILE'],
        ['key', (p: string) => fse.mkdir(p), 'CERTSWAP_INPUT_NOT_FILE'],
        [
          'issuer.crt',
          (p: string) => fse.writeFile(p, '').then(() => fse.truncate(p, 1024 ** 3)),
          'CERTSWAP_INPUT_TOO_LARGE',
        ],
      ] as const) {
        const root = await tempDir();
        const secret = path.join(root, 'shadow');
        await fse.writeFile(secret, SECRET, { mode: 0o600 });
        const certificates = await writeLegoCertificate(root, NAME, await makeChain());
        const p = path.join(certificates, `${NAME}.${file}`);
        await fse.remove(p);
        await make(p, secret);
        await refused(root, { from: 'lego', certificates, name: NAME }, code);
      }
    });
  });
});
