/** The rollback record's format: parsing, formatting, and which generation a rollback returns to. */
import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorCodes, isCertswapError } from '../../../../src/errors.js';
import {
  HISTORY_LIMIT,
  formatHistory,
  parseHistory,
  rollbackTargetOf,
  type Activation,
} from '../../../../src/store/records/history.js';

const activation = fc.record({
  activated: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  outgoing: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { nil: null }),
});

describe('history records', () => {
  it('parses what it formats, keeping the newest HISTORY_LIMIT lines', () => {
    fc.assert(
      fc.property(fc.array(activation, { maxLength: 40 }), (entries: Activation[]) => {
        expect(parseHistory(formatHistory(entries), '.history')).to.deep.equal(entries.slice(0, HISTORY_LIMIT));
      }),
    );
  });

  it('refuses every line that is not "<n> <n|->" with canonical numbers, as CERTSWAP_CORRUPT_STORE', () => {
    for (const line of [
      '2',
      '2 1 0',
      '02 1',
      '2 01',
      '-1 2',
      '2 +1',
      '2  1',
      ' 2 1',
      '2 1 ',
      '1e3 1',
      '9007199254740992 1',
      'x -',
      '2\t1',
    ]) {
      let err: unknown;
      try {
        parseHistory(`${line}\n`, '.history');
      } catch (e) {
        err = e;
      }
      expect(isCertswapError(err, ErrorCodes.CORRUPT_STORE), JSON.stringify(line)).to.equal(true);
    }
    expect(parseHistory('3 2\n2 -\n\n', '.history')).to.deep.equal([
      { activated: 3, outgoing: 2 },
      { activated: 2, outgoing: null },
    ]);
  });

  it('returns the outgoing generation of the newest line that activated the active one', () => {
    const h: Activation[] = [
      { activated: 4, outgoing: 3 },
      { activated: 3, outgoing: 2 },
      { activated: 4, outgoing: 1 },
      { activated: 2, outgoing: null },
    ];
    expect(rollbackTargetOf(h, 4)).to.equal(3);
    expect(rollbackTargetOf(h, 3)).to.equal(2);
    expect(rollbackTargetOf(h, 2)).to.equal(null);
    expect(rollbackTargetOf(h, 9)).to.equal(null);
    expect(rollbackTargetOf(h, null)).to.equal(null);
    expect(rollbackTargetOf([{ activated: 5, outgoing: 5 }], 5)).to.equal(null);
  });
});
