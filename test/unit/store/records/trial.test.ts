/** The trial record is parsed with exact types: anything else is corrupt, never "no trial". */
import { expect } from 'chai';
import { ErrorCodes, isCertswapError } from '../../../../src/errors.js';
import { parseTrial } from '../../../../src/store/records/trial.js';

describe('trial record', () => {
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
});
