/** The summary recorded at staging is read field by field, with exact types, or not at all. */
import { expect } from 'chai';
import { parseMeta } from '../../../../src/store/records/meta.js';

function minimal(): Record<string, unknown> {
  return {
    subject: 'CN=d',
    commonName: 'd',
    sans: [],
    issuer: 'CN=ca',
    serial: '01',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-02-01T00:00:00.000Z',
    fingerprint: 'AA:BB',
    keyType: 'EC P-256',
    chainLength: 1,
  };
}

describe('summary record (.meta.json)', () => {
  it('takes a summary field by field, or not at all', () => {
    const good = {
      ...minimal(),
      sans: ['DNS:d'],
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

  it('takes the other formats and their digests only by the names of the layout', () => {
    const base = JSON.parse(JSON.stringify({ ...minimal(), sha256: { cert: 'a'.repeat(64), key: 'b'.repeat(64) } }));
    const files = { 'bundle.pem': 'c'.repeat(64), 'cert.p12': 'd'.repeat(64) };
    const withFiles = { ...base, files: ['bundle.pem', 'cert.p12'], sha256: { ...base.sha256, files } };
    expect(parseMeta(JSON.stringify(withFiles))).to.deep.equal(withFiles);
    // A name outside the layout (a path above all) is not taken: neither the list nor the digests.
    const planted = {
      ...base,
      files: ['../key.pem'],
      sha256: { ...base.sha256, files: { '../key.pem': 'c'.repeat(64) } },
    };
    expect(parseMeta(JSON.stringify(planted))).to.deep.equal(base);
  });
});
