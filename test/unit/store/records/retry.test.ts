/** The agent's retry record is parsed with exact types: anything else is corrupt, never a plan. */
import { expect } from 'chai';
import { ErrorCodes, isCertswapError } from '../../../../src/errors.js';
import { parseRetry } from '../../../../src/store/records/retry.js';

const ok = {
  attempt: 3,
  failingSince: '2030-01-01T00:00:00.000Z',
  draw: 0.25,
  next: '2030-01-01T06:00:00.000Z',
  code: 'CERTSWAP_CA_UNAVAILABLE',
  generation: 4,
};

describe('retry record', () => {
  it('takes exactly {attempt, failingSince, draw, next, code, generation}', () => {
    expect(parseRetry(`${JSON.stringify(ok)}\n`, '.retry')).to.deep.equal(ok);
    expect(parseRetry(JSON.stringify({ ...ok, generation: null }), '.retry').generation).to.equal(null);
  });

  it('refuses anything else as CERTSWAP_CORRUPT_STORE', () => {
    const bad: unknown[] = [
      '',
      'null',
      '[]',
      { ...ok, attempt: 0 },
      { ...ok, attempt: 1.5 },
      { ...ok, attempt: '3' },
      { ...ok, draw: 1 },
      { ...ok, draw: -0.1 },
      { ...ok, next: 'soon' },
      { ...ok, failingSince: 5 },
      { ...ok, code: 'not a code' },
      { ...ok, code: 'X'.repeat(65) },
      { ...ok, generation: 0 },
      { ...ok, generation: 2 ** 53 },
      { ...ok, extra: 1 },
      Object.fromEntries(Object.entries(ok).filter(([k]) => k !== 'draw')),
    ];
    for (const v of bad) {
      let err: unknown;
      try {
        parseRetry(typeof v === 'string' ? v : JSON.stringify(v), '.retry');
      } catch (e) {
        err = e;
      }
      expect(isCertswapError(err) && err.code, JSON.stringify(v)).to.equal(ErrorCodes.CORRUPT_STORE);
    }
  });
});
