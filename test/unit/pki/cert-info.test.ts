/** Validity dates: the one rule (notBefore - skew, notAfter, no grace). */
import { expect } from 'chai';
import { validityProblem } from '../../../src/pki/cert-info.js';
import { ErrorCodes } from '../../../src/errors.js';

describe('validity dates', () => {
  it('validity dates: not yet valid before notBefore - skew, expired after notAfter, no grace', () => {
    const nb = 1_000_000;
    const na = 2_000_000;
    expect(validityProblem(nb, na, nb - 1000, 1000)).to.equal(null);
    expect(validityProblem(nb, na, nb - 1001, 1000)).to.equal(ErrorCodes.NOT_YET_VALID);
    expect(validityProblem(nb, na, na, 0)).to.equal(null);
    expect(validityProblem(nb, na, na + 1, 60_000)).to.equal(ErrorCodes.EXPIRED);
  });
});
