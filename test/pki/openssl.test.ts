/**
 * Cross-checks with openssl: the certificates the tests generate are real (openssl verify accepts
 * them against the CA), and what certswap writes and reports agrees with openssl's own reading.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { issue, makePair, testCa } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import fse from 'fs-extra';

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8' });
}

describe('openssl cross-check', () => {
  it('openssl verifies the generated chain and agrees on key, fingerprint and dates', async () => {
    const root = await testCa();
    const inter = await issue({ ca: true, name: 'intermediate', issuer: root });
    const leaf = await issue({ issuer: inter, alg: 'RSA-2048', name: 'device-rsa' });
    const store = await GenerationStore.open(await storeDir());
    const { info } = await store.install({
      cert: Buffer.from(leaf.certPem + inter.certPem),
      key: Buffer.from(leaf.keyPem),
      ca: Buffer.from(root.certPem),
    });
    const g = store.generationDir(1);
    const cert = path.join(g, 'cert.pem');
    const key = path.join(g, 'key.pem');
    const ca = path.join(g, 'ca.pem');

    const tmp = await tempDir();
    const untrusted = path.join(tmp, 'inter.pem');
    await fse.writeFile(untrusted, inter.certPem);
    expect(openssl('verify', '-CAfile', ca, '-untrusted', untrusted, cert).trim()).to.equal(`${cert}: OK`);
    expect(openssl('pkey', '-in', key, '-pubout')).to.equal(openssl('x509', '-in', cert, '-noout', '-pubkey'));
    expect(openssl('x509', '-in', cert, '-noout', '-fingerprint', '-sha256').trim()).to.equal(
      `sha256 Fingerprint=${info.fingerprint}`,
    );
    expect(openssl('x509', '-in', cert, '-noout', '-serial').trim()).to.equal(`serial=${info.serial}`);
    const end = openssl('x509', '-in', cert, '-noout', '-enddate').trim().replace('notAfter=', '');
    expect(new Date(end).toISOString()).to.equal(info.notAfter);
    // The stored key is unencrypted PKCS#8, as the contract says.
    expect(await fse.readFile(key, 'utf8')).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('openssl sees the mismatch that certswap refuses', async () => {
    const a = await makePair();
    const b = await makePair();
    const tmp = await tempDir();
    await fse.writeFile(path.join(tmp, 'a.pem'), a.cert);
    await fse.writeFile(path.join(tmp, 'b.key'), b.key);
    const certPub = openssl('x509', '-in', path.join(tmp, 'a.pem'), '-noout', '-pubkey');
    const keyPub = openssl('pkey', '-in', path.join(tmp, 'b.key'), '-pubout');
    expect(certPub).to.not.equal(keyPub);
    const store = await GenerationStore.open(await storeDir());
    await store.install(a).then(
      () => undefined,
      (e: unknown) => expect.fail(String(e)),
    );
    await store.install({ cert: a.cert, key: b.key }).then(
      () => expect.fail('a mismatched pair was accepted'),
      (e: { code: string }) => expect(e.code).to.equal('CERTSWAP_KEY_MISMATCH'),
    );
  });
});
