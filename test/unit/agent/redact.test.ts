/** The streaming private-key redactor: whole blocks, split blocks, many blocks, broken blocks. */
import { expect } from 'chai';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import { PrivateKeyRedactor, REDACTED, redactPrivateKeys } from '../../../src/agent/redact.js';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
const ed = generateKeyPairSync('ed25519');

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
}

/** One key in every PEM form the redactor must catch, keyed by label. */
const KEYS: Record<string, string> = {
  'PRIVATE KEY': ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  'EC PRIVATE KEY': ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string,
  'RSA PRIVATE KEY': rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  'ENCRYPTED PRIVATE KEY': ec.privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    cipher: 'aes-256-cbc',
    passphrase: 'x',
  }) as string,
  'OPENSSH PRIVATE KEY': pem('OPENSSH PRIVATE KEY', Buffer.from('openssh-key-v1\0'.repeat(12))),
};

/** Every base64 line of the keys' bodies: none of them may survive. */
function secretLines(pems: string[]): string[] {
  return pems.flatMap((p) => p.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----')));
}

function expectNoSecrets(out: string, pems: string[]): void {
  for (const line of secretLines(pems)) expect(out, 'key material survived').to.not.include(line);
  expect(out).to.not.match(/PRIVATE KEY/);
}

/** Feeds `chunks` one by one and returns everything the redactor gave back. */
function stream(chunks: string[]): string {
  const r = new PrivateKeyRedactor();
  return chunks.map((c) => r.push(c)).join('') + r.end();
}

const cert = pem('CERTIFICATE', Buffer.from('not really a certificate'));
const sample = `starting\n${KEYS['EC PRIVATE KEY']}between\n${KEYS['RSA PRIVATE KEY']}${cert}done\n`;
const expected = `starting\n${REDACTED}\nbetween\n${REDACTED}\n${cert}done\n`;

describe('private key redaction', () => {
  it('replaces each kind of private key block, and leaves certificates and the text around alone', () => {
    for (const [label, pem] of Object.entries(KEYS)) {
      expect(pem, label).to.include(`-----BEGIN ${label}-----`);
      const out = redactPrivateKeys(`before ${pem} after`);
      expect(out, label).to.equal(`before ${REDACTED}\n after`);
    }
    expect(redactPrivateKeys(sample)).to.equal(expected);
    const pub = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    expect(redactPrivateKeys(pub)).to.equal(pub);
  });

  it('gives the same result however the stream is split: at every offset, and one character at a time', () => {
    for (let i = 0; i <= sample.length; i++) {
      expect(stream([sample.slice(0, i), sample.slice(i)]), `split at ${i}`).to.equal(expected);
    }
    expect(stream([...sample])).to.equal(expected);
  });

  it('gives the same result for any partition into chunks (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(sample.length), { maxLength: 12 }), (cuts) => {
        const at = [0, ...[...new Set(cuts)].sort((a, b) => a - b), sample.length];
        const chunks = at.slice(1).map((end, i) => sample.slice(at[i], end));
        expect(stream(chunks)).to.equal(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('redacts many blocks in one stream', () => {
    const pems = Object.values(KEYS);
    const text = Array.from({ length: 500 }, (_, i) => `line ${i}\n${pems[i % pems.length]}`).join('');
    const out = stream(text.match(/[\s\S]{1,777}/g)!);
    expect(out.split(REDACTED).length - 1).to.equal(500);
    expect(out).to.include('line 0\n').and.include('line 499\n');
    expectNoSecrets(out, pems);
  });

  it('hides everything after a BEGIN whose END never comes, and an END of another kind does not end it', () => {
    const pem = KEYS['PRIVATE KEY']!;
    const cut = pem.slice(0, pem.indexOf('-----END'));
    expect(stream(['a\n', cut.slice(0, 40), cut.slice(40), 'trailing words'])).to.equal(`a\n${REDACTED}`);
    const mixed = `x ${cut}-----END CERTIFICATE-----\nstill secret`;
    expect(redactPrivateKeys(mixed)).to.equal(`x ${REDACTED}`);
    // A BEGIN cut off at the very end of the stream is not a key: kept as it is.
    expect(redactPrivateKeys('tail -----BEGIN PRIV')).to.equal('tail -----BEGIN PRIV');
  });

  it('finds a key printed on one line with literal \\n escapes (JSON)', () => {
    const pem = KEYS['RSA PRIVATE KEY']!;
    const json = JSON.stringify({ error: 'bad request', key: pem, code: 3 });
    expect(json).to.not.include('\n');
    const out = stream(json.match(/[\s\S]{1,33}/g)!);
    expect(out).to.equal(`{"error":"bad request","key":"${REDACTED}\\n","code":3}`);
    expectNoSecrets(out.replace(/\\n/g, '\n'), [pem]);
  });

  it('holds back a bounded amount however long a line is, inside a block or not', () => {
    const r = new PrivateKeyRedactor();
    const line = 'x'.repeat(1_000_000);
    const out = r.push(line);
    expect(out.length + r.held).to.equal(line.length);
    expect(r.held).to.be.at.most(80);
    expect(r.push(`-----BEGIN PRIVATE KEY-----${'A'.repeat(1_000_000)}`)).to.equal('x'.repeat(80) + REDACTED);
    expect(r.held).to.be.at.most(80);
    expect(r.push('A'.repeat(500_000))).to.equal('');
    expect(r.held).to.be.at.most(80);
    expect(r.push('-----END PRIVATE KEY-----ok')).to.equal('');
    expect(r.end()).to.equal('ok');
  });
});
