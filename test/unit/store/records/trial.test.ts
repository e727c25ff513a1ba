/** The trial record is parsed with exact types: anything else is corrupt, never "no trial". */
import { expect } from 'chai';
import { ErrorCodes, isCertswapError } from '../../../../src/errors.js';
import { parseTrial } from '../../../../src/store/records/trial.js';
import { parseMeta } from '../../../../src/store/records/meta.js';

describe('trial and summary records', () => {
  it('takes exactly {generation, returnTo, startedAt} with numbers as numbers', () => {
    expect(parseTrial('{"generation":2,"returnTo":1,"startedAt":"t"}', '.trial')).to.deep.equal({
      generation: 2,
      returnTo: 1,
      startedAt: 't',
    });
    expect(parseTrial('{"generation":1,"returnTo":null,"startedAt":"t"}\n', '.trial').returnTo).to.equal(null);
    for (const text of [
      '',
      'null',
      '[]',
      '{"generation":"2","returnTo":1,"startedAt":"t"}',
      '{"generation":2,"returnTo":"1","startedAt":"t"}',
      '{"generation":2,"returnTo":1}',
      '{"generation":2,"returnTo":1,"startedAt":"t","extra":1}',
      '{"generation":0,"returnTo":1,"startedAt":"t"}',
      '{"generation":2.5,"returnTo":1,"startedAt":"t"}',
      '{"generation":9007199254740992,"returnTo":1,"startedAt":"t"}',
      '{"generation":2,"returnTo":1,"startedAt":3}',
      '{"__proto__":{"generation":2},"returnTo":1,"startedAt":"t"}',
    ]) {
      let err: unknown;
      try {
        parseTrial(text, '.trial');
      } catch (e) {
        err = e;
      }
      expect(isCertswapError(err, ErrorCodes.CORRUPT_STORE), text).to.equal(true);
    }
  });

  it('takes a summary field by field, or not at all', () => {
    const good = {
      subject: 'CN=d',
      commonName: 'd',
      sans: ['DNS:d'],
      issuer: 'CN=ca',
      serial: '01',
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2026-02-01T00:00:00.000Z',
      fingerprint: 'AA:BB',
      keyType: 'EC P-256',
      chainLength: 1,
      stagedAt: '2026-01-01T00:00:00.000Z',
      sha256: { cert: 'a'.repeat(64), key: 'b'.repeat(64) },
    };
    expect(parseMeta(JSON.stringify(good))).to.deep.equal(good);
    // Fields it does not know are dropped: a summary cannot pose as another generation.
    expect(parseMeta(JSON.stringify({ ...good, id: 9, active: true }))).to.deep.equal(good);
    for (const bad of [{ subject: 'x'.repeat(5000) }, { sans: 'DNS:d' }, { chainLength: '1' }, { notAfter: 5 }]) {
      expect(parseMeta(JSON.stringify({ ...good, ...bad })), JSON.stringify(bad).slice(0, 40)).to.equal(null);
    }
    expect(parseMeta('not json')).to.equal(null);
    // Digests that are not SHA-256 hex are ignored (the pair is then validated in full).
    expect(parseMeta(JSON.stringify({ ...good, sha256: { cert: 'x', key: 'y' } }))?.sha256).to.equal(undefined);
  });
});
