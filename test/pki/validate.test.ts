import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { validatePair, ErrorCodes, isCertswapError } from '../../src/index.js';
import { issue, makePair, testCa, DAY_MS } from '../helpers/certs.js';

function refuses(fn: () => unknown, code: string, mention?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isCertswapError(err), String(err)).to.equal(true);
    expect((err as { code: string }).code).to.equal(code);
    if (mention) expect((err as Error).message).to.match(mention);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('validate', () => {
  it('accepts a matching EC pair and returns canonical PEM and a summary', async () => {
    const p = await makePair({ name: 'device-7', sans: ['device-7', 'device-7.example'] });
    const v = validatePair({ cert: p.cert, key: p.key, ca: p.ca });
    expect(v.certPem).to.match(/^-----BEGIN CERTIFICATE-----\n/);
    expect(v.keyPem).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(v.caPem).to.equal(p.ca.toString());
    expect(v.info.commonName).to.equal('device-7');
    expect(v.info.sans).to.deep.equal(['DNS:device-7', 'DNS:device-7.example']);
    expect(v.info.keyType).to.equal('EC P-256');
    expect(v.info.fingerprint).to.equal(new X509Certificate(p.cert).fingerprint256);
    expect(v.info.chainLength).to.equal(1);
  });

  for (const alg of ['P-384', 'RSA-2048', 'Ed25519'] as const) {
    it(`accepts ${alg}`, async () => {
      const p = await makePair({ alg });
      expect(validatePair({ cert: p.cert, key: p.key }).info.keyType).to.match(/P-384|RSA 2048|Ed25519/);
    });
  }

  it('accepts PKCS#1 and SEC1 keys and re-encodes them as PKCS#8', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const ec = await makePair();
    const sec1 = createPrivateKey(ec.key).export({ type: 'sec1', format: 'pem' }) as string;
    expect(validatePair({ cert: ec.cert, key: Buffer.from(sec1) }).keyPem).to.equal(ec.key.toString());
    const rsa = await makePair({ alg: 'RSA-2048' });
    const pkcs1 = createPrivateKey(rsa.key).export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(validatePair({ cert: rsa.cert, key: Buffer.from(pkcs1) }).keyPem).to.match(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('accepts a chain in order, leaf first', async () => {
    const root = await testCa();
    const inter = await issue({ ca: true, name: 'intermediate', issuer: root });
    const leaf = await issue({ issuer: inter });
    const v = validatePair(
      { cert: Buffer.from(leaf.certPem + inter.certPem), key: Buffer.from(leaf.keyPem) },
      { trust: Buffer.from(root.certPem) },
    );
    expect(v.info.chainLength).to.equal(2);
  });

  it('refuses a chain in the wrong order', async () => {
    const root = await testCa();
    const inter = await issue({ ca: true, name: 'intermediate', issuer: root });
    const leaf = await issue({ issuer: inter });
    refuses(
      () => validatePair({ cert: Buffer.from(inter.certPem + leaf.certPem), key: Buffer.from(leaf.keyPem) }),
      ErrorCodes.CHAIN_ORDER,
    );
  });

  it('refuses two leaf certificates', async () => {
    const a = await makePair();
    const b = await makePair();
    refuses(() => validatePair({ cert: Buffer.concat([a.cert, b.cert]), key: a.key }), ErrorCodes.CHAIN_ORDER);
  });

  it('refuses a key of another certificate', async () => {
    const a = await makePair();
    const b = await makePair();
    refuses(
      () => validatePair({ cert: a.cert, key: b.key, certPath: '/in/c.pem', keyPath: '/in/k.pem' }),
      ErrorCodes.KEY_MISMATCH,
      /\/in\/k\.pem/,
    );
  });

  it('refuses certificate and key swapped', async () => {
    const a = await makePair();
    refuses(() => validatePair({ cert: a.key, key: a.cert }), ErrorCodes.BAD_CERT, /swapped/);
    refuses(() => validatePair({ cert: a.cert, key: a.cert }), ErrorCodes.BAD_KEY, /swapped/);
  });

  it('refuses expired, not yet valid, and too short a remaining lifetime', async () => {
    const expired = await makePair({
      notBefore: new Date(Date.now() - 10 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    refuses(() => validatePair(expired), ErrorCodes.EXPIRED, /expired at/);
    const future = await makePair({ notBefore: new Date(Date.now() + DAY_MS) });
    refuses(() => validatePair(future), ErrorCodes.NOT_YET_VALID);
    const soon = await makePair({ notBefore: new Date(Date.now() + 60_000) });
    expect(() => validatePair(soon)).not.to.throw(); // within the default 5 minute skew
    refuses(() => validatePair(soon, { clockSkewMs: 0 }), ErrorCodes.NOT_YET_VALID);
    const short = await makePair({ notAfter: new Date(Date.now() + DAY_MS) });
    refuses(() => validatePair(short, { minRemainingMs: 2 * DAY_MS }), ErrorCodes.LIFETIME_TOO_SHORT);
    expect(() => validatePair(expired, { ignoreDates: true })).not.to.throw();
  });

  it('checks the expected name against CN and SANs exactly', async () => {
    const p = await makePair({ name: 'device-1', sans: ['device-1.fleet.example'] });
    expect(() => validatePair(p, { expectName: 'device-1' })).not.to.throw();
    expect(() => validatePair(p, { expectName: 'device-1.fleet.example' })).not.to.throw();
    refuses(() => validatePair(p, { expectName: 'device-2' }), ErrorCodes.NAME_MISMATCH, /device-2/);
  });

  it('checks extended key usage', async () => {
    const client = await makePair({ eku: ['1.3.6.1.5.5.7.3.2'] });
    expect(() => validatePair(client, { requireEku: ['clientAuth'] })).not.to.throw();
    refuses(() => validatePair(client, { requireEku: ['serverAuth'] }), ErrorCodes.EKU_MISSING);
    const any = await makePair();
    expect(() => validatePair(any, { requireEku: ['serverAuth'] })).not.to.throw();
  });

  it('refuses a chain that does not lead to the trusted bundle', async () => {
    const other = await issue({ ca: true, name: 'other CA' });
    const p = await makePair({ issuer: other });
    const ca = await testCa();
    refuses(() => validatePair(p, { trust: Buffer.from(ca.certPem) }), ErrorCodes.UNTRUSTED);
    expect(() => validatePair(p, { trust: Buffer.from(ca.certPem + other.certPem) })).not.to.throw();
  });

  it('refuses weak and unsupported keys', async () => {
    const weak = await makePair({ alg: 'RSA-1024' });
    refuses(() => validatePair(weak), ErrorCodes.UNSUPPORTED_KEY, /1024/);
    const p521 = await makePair({ alg: 'P-521' });
    refuses(() => validatePair(p521), ErrorCodes.UNSUPPORTED_KEY, /curve/);
  });

  it('refuses encrypted keys', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const p = await makePair();
    const enc = createPrivateKey(p.key).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    }) as string;
    refuses(() => validatePair({ cert: p.cert, key: Buffer.from(enc) }), ErrorCodes.KEY_ENCRYPTED);
    const legacy = createPrivateKey(p.key).export({
      type: 'sec1',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    }) as string;
    refuses(() => validatePair({ cert: p.cert, key: Buffer.from(legacy) }), ErrorCodes.KEY_ENCRYPTED);
  });

  it('refuses empty, whitespace, oversized, DER, random bytes and junk around PEM', async () => {
    const p = await makePair();
    refuses(() => validatePair({ cert: Buffer.alloc(0), key: p.key }), ErrorCodes.INPUT_EMPTY);
    refuses(() => validatePair({ cert: Buffer.from(' \n\t\n'), key: p.key }), ErrorCodes.INPUT_EMPTY);
    refuses(() => validatePair({ cert: Buffer.alloc(1024 * 1024 + 1, 0x41), key: p.key }), ErrorCodes.INPUT_TOO_LARGE);
    refuses(
      () => validatePair({ cert: Buffer.from(new X509Certificate(p.cert).raw), key: p.key }),
      ErrorCodes.NOT_PEM,
      /DER/,
    );
    refuses(
      () => validatePair({ cert: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x99]), key: p.key }),
      ErrorCodes.NOT_PEM,
    );
    refuses(() => validatePair({ cert: Buffer.from(`junk\n${p.cert}`), key: p.key }), ErrorCodes.NOT_PEM, /before/);
    refuses(() => validatePair({ cert: Buffer.from(`${p.cert}trailer\n`), key: p.key }), ErrorCodes.NOT_PEM, /after/);
    const lines = p.cert.toString().split('\n');
    lines[2] = `!!!!${lines[2]!.slice(4)}`;
    refuses(() => validatePair({ cert: Buffer.from(lines.join('\n')), key: p.key }), ErrorCodes.NOT_PEM, /base64/);
    refuses(
      () =>
        validatePair({
          cert: p.cert,
          key: Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
        }),
      ErrorCodes.BAD_KEY,
    );
  });

  it('refuses a CSR given as the certificate', async () => {
    const p = await makePair();
    const csr = Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMIIBAA==\n-----END CERTIFICATE REQUEST-----\n');
    refuses(() => validatePair({ cert: csr, key: p.key }), ErrorCodes.BAD_CERT, /signing request/);
  });

  it('refuses a chain longer than the limit', async () => {
    const p = await makePair();
    refuses(
      () => validatePair({ cert: Buffer.from(p.cert.toString().repeat(9)), key: p.key }),
      ErrorCodes.CHAIN_TOO_LONG,
    );
  });
});
