/**
 * Hostile and broken input, through the CLI as an operator or a provisioning system would feed
 * it: every case exits 1 with a stable code and a message naming the file and the problem, and
 * leaves the store exactly as it was (same current, same generations, no leftovers).
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { issue, makePair, testCa, DAY_MS } from '../helpers/certs.js';
import { storeDir, tempDir } from '../helpers/tmp.js';
import { snapshot } from '../helpers/snapshot.js';
import { certswap } from '../helpers/proc.js';

interface Case {
  name: string;
  cert?: Buffer | string;
  key?: Buffer | string;
  args?: string[];
  code: string;
  /** Which file the message must name. */
  names: 'cert' | 'key';
  problem: RegExp;
}

describe('hostile input corpus (CLI)', function () {
  this.timeout(120_000);

  it('refuses every case with exit 1, a stable code, the file named, and the store unchanged', async () => {
    const good = await makePair({ name: 'device-1' });
    const other = await makePair({ name: 'device-1' });
    const root = await testCa();
    const inter = await issue({ ca: true, name: 'intermediate', issuer: root });
    const chained = await issue({ issuer: inter, name: 'device-1' });
    const strangerCa = await issue({ ca: true, name: 'stranger CA' });
    const stranger = await makePair({ issuer: strangerCa, name: 'device-1' });
    const expired = await makePair({
      notBefore: new Date(Date.now() - 10 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const future = await makePair({ notBefore: new Date(Date.now() + DAY_MS) });
    const weak = await makePair({ alg: 'RSA-1024' });
    const p521 = await makePair({ alg: 'P-521' });
    const encrypted = createPrivateKey(good.key).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    });
    const dir = await tempDir();
    const csrKey = path.join(dir, 'csr.key');
    const csr = execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        csrKey,
        '-subj',
        '/CN=device-1',
      ],
      { encoding: 'utf8' },
    );
    const trust = path.join(dir, 'trust.pem');
    await fse.writeFile(trust, root.certPem);

    const cases: Case[] = [
      { name: 'empty file', cert: '', code: 'CERTSWAP_INPUT_EMPTY', names: 'cert', problem: /empty/ },
      { name: 'whitespace', cert: ' \n\t \n', code: 'CERTSWAP_INPUT_EMPTY', names: 'cert', problem: /empty/ },
      { name: 'random bytes', cert: randomBytes(700), code: 'CERTSWAP_NOT_PEM', names: 'cert', problem: /not PEM/ },
      {
        name: 'DER',
        cert: Buffer.from(new X509Certificate(good.cert).raw),
        code: 'CERTSWAP_NOT_PEM',
        names: 'cert',
        problem: /DER/,
      },
      {
        name: 'junk before PEM',
        cert: `subject=CN=device-1\n${good.cert}`,
        code: 'CERTSWAP_NOT_PEM',
        names: 'cert',
        problem: /before/,
      },
      {
        name: 'junk after PEM',
        cert: `${good.cert}garbage\n`,
        code: 'CERTSWAP_NOT_PEM',
        names: 'cert',
        problem: /after/,
      },
      {
        name: 'two leaf certificates',
        cert: Buffer.concat([good.cert, other.cert]),
        code: 'CERTSWAP_CHAIN_ORDER',
        names: 'cert',
        problem: /did not issue/,
      },
      {
        name: 'chain in the wrong order',
        cert: inter.certPem + chained.certPem,
        key: chained.keyPem,
        code: 'CERTSWAP_CHAIN_ORDER',
        names: 'cert',
        problem: /did not issue/,
      },
      {
        name: 'cert and key swapped',
        cert: good.key,
        key: good.cert,
        code: 'CERTSWAP_BAD_CERT',
        names: 'cert',
        problem: /swapped/,
      },
      {
        name: 'key of another certificate',
        key: other.key,
        code: 'CERTSWAP_KEY_MISMATCH',
        names: 'key',
        problem: /does not match/,
      },
      {
        name: 'encrypted PKCS#8 key',
        key: encrypted,
        code: 'CERTSWAP_KEY_ENCRYPTED',
        names: 'key',
        problem: /encrypted/,
      },
      {
        name: 'a CSR instead of a certificate',
        cert: csr,
        key: await fse.readFile(csrKey),
        code: 'CERTSWAP_BAD_CERT',
        names: 'cert',
        problem: /signing request/,
      },
      {
        name: 'expired',
        cert: expired.cert,
        key: expired.key,
        code: 'CERTSWAP_EXPIRED',
        names: 'cert',
        problem: /expired at/,
      },
      {
        name: 'not yet valid',
        cert: future.cert,
        key: future.key,
        code: 'CERTSWAP_NOT_YET_VALID',
        names: 'cert',
        problem: /not valid before/,
      },
      {
        name: 'signed by another CA',
        cert: stranger.cert,
        key: stranger.key,
        args: ['--trust', trust],
        code: 'CERTSWAP_UNTRUSTED',
        names: 'cert',
        problem: /trusted CA/,
      },
      {
        name: 'wrong expected name',
        args: ['--expect-name', 'device-2'],
        code: 'CERTSWAP_NAME_MISMATCH',
        names: 'cert',
        problem: /device-2/,
      },
      {
        name: 'RSA 1024',
        cert: weak.cert,
        key: weak.key,
        code: 'CERTSWAP_UNSUPPORTED_KEY',
        names: 'key',
        problem: /1024 bits/,
      },
      {
        name: 'unsupported curve',
        cert: p521.cert,
        key: p521.key,
        code: 'CERTSWAP_UNSUPPORTED_KEY',
        names: 'key',
        problem: /curve/,
      },
    ];

    const store = await storeDir();
    const ok = path.join(dir, 'ok');
    await fse.mkdirp(ok);
    await fse.writeFile(path.join(ok, 'c.pem'), good.cert);
    await fse.writeFile(path.join(ok, 'k.pem'), good.key);
    expect(
      (await certswap(['install', '--dir', store, '--cert', path.join(ok, 'c.pem'), '--key', path.join(ok, 'k.pem')]))
        .code,
    ).to.equal(0);
    const before = await snapshot(store);

    for (const [i, c] of cases.entries()) {
      const certFile = path.join(dir, `case${i}.crt`);
      const keyFile = path.join(dir, `case${i}.key`);
      await fse.writeFile(certFile, c.cert ?? good.cert);
      await fse.writeFile(keyFile, c.key ?? good.key);
      const r = await certswap(['install', '--dir', store, '--cert', certFile, '--key', keyFile, ...(c.args ?? [])]);
      expect(r.code, `${c.name}: ${r.stderr}`).to.equal(1);
      const line = r.stderr.trim();
      expect(line.split('\n'), c.name).to.have.length(1);
      expect(line, c.name).to.match(new RegExp(`^certswap: ${c.code}: `));
      expect(line, c.name)
        .to.include(`${c.names} ${c.names === 'cert' ? certFile : keyFile}`)
        .and.match(c.problem);
      expect(await snapshot(store), `${c.name}: store changed`).to.deep.equal(before);
    }
    console.log(`      ${cases.length} hostile inputs refused, store unchanged`);
  });
});
