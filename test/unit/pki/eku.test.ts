/** Extended key usages: the one list of names and OIDs. */
import { expect } from 'chai';
import { EKU_OIDS, EXTENDED_KEY_USAGES, isExtendedKeyUsage } from '../../../src/pki/eku.js';

describe('extended key usages', () => {
  it('extended key usages: the two names certswap takes, and their OIDs', () => {
    expect(EXTENDED_KEY_USAGES).to.have.members(['clientAuth', 'serverAuth']);
    expect(EKU_OIDS.serverAuth).to.equal('1.3.6.1.5.5.7.3.1');
    expect(EKU_OIDS.clientAuth).to.equal('1.3.6.1.5.5.7.3.2');
    for (const bad of ['codeSigning', 'toString', '__proto__', '', 1, null])
      expect(isExtendedKeyUsage(bad), String(bad)).to.equal(false);
  });
});
