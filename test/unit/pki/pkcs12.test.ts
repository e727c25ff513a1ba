import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { ErrorCodes } from '../../../src/errors.js';
import { buildPkcs12, checkPassword, checkPkcs12 } from '../../../src/pki/pkcs12.js';
import { makePair } from '../../helpers/certs.js';

describe('pkcs12', () => {
  it('takes printable ASCII passwords of 1 to 1024 characters, nothing else', () => {
    expect(() => checkPassword(Buffer.from('correct horse ~!'))).to.not.throw();
    for (const bad of ['', 'tab\there', 'p\u00e4ss', 'x'.repeat(1025), 'line\n'])
      expect(() => checkPassword(Buffer.from(bad)), JSON.stringify(bad))
        .to.throw()
        .with.property('code', ErrorCodes.BAD_ARGUMENT);
  });

  it('reads back what it builds; another password, another key, a flipped byte or a shorter chain is refused', async () => {
    const p = await makePair();
    const other = await makePair();
    const chain = [new X509Certificate(p.cert).raw, new X509Certificate(p.ca).raw];
    const pw = Buffer.from('pw');
    const p12 = buildPkcs12(p.key.toString(), chain, pw);
    checkPkcs12(p12, pw, p.key.toString(), chain);
    const refused = (f: () => void, why: RegExp): void => {
      expect(f).to.throw(why).with.property('code', ErrorCodes.READBACK_MISMATCH);
    };
    refused(() => checkPkcs12(p12, Buffer.from('pW'), p.key.toString(), chain), /MAC does not verify/);
    refused(() => checkPkcs12(p12, pw, other.key.toString(), chain), /not the pair/);
    refused(() => checkPkcs12(p12, pw, p.key.toString(), chain.slice(0, 1)), /not the chain/);
    const flipped = Buffer.from(p12);
    flipped[flipped.length - 200]! ^= 1;
    refused(() => checkPkcs12(flipped, pw, p.key.toString(), chain), /cert\.p12/);
    refused(() => checkPkcs12(p12.subarray(0, 50), pw, p.key.toString(), chain), /malformed DER/);
    // Salted: two files for the same pair differ, and both open.
    const again = buildPkcs12(p.key.toString(), chain, pw);
    expect(again.equals(p12)).to.equal(false);
    checkPkcs12(again, pw, p.key.toString(), chain);
  });
});
