import { expect } from 'chai';
import { children, integer, octets, oid, read, seq, TAG, tlv } from '../../../src/pki/der.js';

describe('der', () => {
  it('encodes OIDs, integers and lengths as DER', () => {
    expect(oid('1.2.840.113549.1.7.1').toString('hex')).to.equal('06092a864886f70d010701');
    expect(oid('2.16.840.1.101.3.4.2.1').toString('hex')).to.equal('0609608648016503040201');
    expect(integer(3).toString('hex')).to.equal('020103');
    expect(integer(0).toString('hex')).to.equal('020100');
    expect(integer(128).toString('hex')).to.equal('02020080');
    expect(integer(2048).toString('hex')).to.equal('02020800');
    expect(octets(Buffer.alloc(200)).subarray(0, 3).toString('hex')).to.equal('0481c8');
    expect(octets(Buffer.alloc(300)).subarray(0, 4).toString('hex')).to.equal('0482012c');
  });

  it('reads back what it writes, element by element', () => {
    const encoded = seq(integer(3), octets(Buffer.from('abc')), tlv(TAG.NULL));
    const [a, b, c] = children(read(encoded), TAG.SEQUENCE);
    expect([a!.tag, b!.tag, c!.tag]).to.deep.equal([TAG.INTEGER, TAG.OCTET_STRING, TAG.NULL]);
    expect(b!.content.toString()).to.equal('abc');
    expect(Buffer.concat([a!.encoded, b!.encoded, c!.encoded]).equals(read(encoded).content)).to.equal(true);
  });

  it('refuses what is malformed: truncated, overlong, the wrong tag', () => {
    expect(() => read(Buffer.from([0x30]))).to.throw(/truncated/);
    expect(() => read(Buffer.from([0x30, 0x05, 0x01]))).to.throw(/runs past/);
    expect(() => read(Buffer.from([0x30, 0x80]))).to.throw(/bad length/);
    expect(() => read(Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1]))).to.throw(/bad length/);
    expect(() => children(read(octets(Buffer.from('x'))), TAG.SEQUENCE)).to.throw(/tag 0x4/);
  });
});
