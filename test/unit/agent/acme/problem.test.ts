/** ACME answers as typed errors, and Retry-After as a time. */
import { expect } from 'chai';
import { answerError, retryAfter } from '../../../../src/agent/acme/problem.js';
import { ErrorCodes } from '../../../../src/errors.js';

describe('acme problem documents', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const problem = (type: string) => ({ type: `urn:ietf:params:acme:error:${type}`, detail: `${type} detail` });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfter({ 'retry-after': '120' }, now)?.toISOString()).to.equal('2030-01-01T00:02:00.000Z');
    expect(retryAfter({ 'retry-after': 'Tue, 01 Jan 2030 01:00:00 GMT' }, now)?.toISOString()).to.equal(
      '2030-01-01T01:00:00.000Z',
    );
    expect(retryAfter({ 'retry-after': 'Tue, 01 Jan 2029 01:00:00 GMT' }, now)?.toISOString()).to.equal(
      now.toISOString(),
    );
    expect(retryAfter({}, now)).to.equal(null);
    expect(retryAfter({ 'retry-after': 'later' }, now)).to.equal(null);
  });

  it('bounds an absurd Retry-After to a day ahead, and never before now', () => {
    const day = '2030-01-02T00:00:00.000Z';
    expect(retryAfter({ 'retry-after': '99999999999999999999' }, now)?.toISOString()).to.equal(day);
    expect(retryAfter({ 'retry-after': '315360000' }, now)?.toISOString(), 'ten years').to.equal(day);
    expect(retryAfter({ 'retry-after': 'Sat, 01 Jan 2050 00:00:00 GMT' }, now)?.toISOString()).to.equal(day);
    expect(retryAfter({ 'retry-after': '-5' }, now)?.toISOString() ?? null).to.be.oneOf([now.toISOString(), null]);
    const limited = answerError(
      { status: 429, headers: { 'retry-after': '99999999999999999999' }, data: problem('rateLimited') },
      'newOrder',
      now,
    );
    expect(limited.code).to.equal(ErrorCodes.ACME_RATE_LIMITED);
    expect(limited.retryAt).to.equal(day);
  });

  it('gives rateLimited without Retry-After a time to retry all the same (an hour on)', () => {
    const limited = answerError({ status: 429, headers: {}, data: problem('rateLimited') }, 'newOrder', now);
    expect(limited.code).to.equal(ErrorCodes.ACME_RATE_LIMITED);
    expect(limited.retryAt).to.equal('2030-01-01T01:00:00.000Z');
  });

  it('maps rateLimited (with its retry time), 5xx and the rest to their codes', () => {
    const limited = answerError(
      { status: 429, headers: { 'retry-after': '60' }, data: problem('rateLimited') },
      'newOrder',
      now,
    );
    expect(limited.code).to.equal(ErrorCodes.ACME_RATE_LIMITED);
    expect(limited.retryAt).to.equal('2030-01-01T00:01:00.000Z');
    expect(limited.message).to.include('rateLimited detail');
    expect(answerError({ status: 503, headers: {}, data: problem('serverInternal') }, 'x', now).code).to.equal(
      ErrorCodes.CA_UNAVAILABLE,
    );
    const refused = answerError({ status: 403, headers: {}, data: problem('unauthorized') }, 'newAccount', now);
    expect(refused.code).to.equal(ErrorCodes.CA_REFUSED);
    expect(refused.message).to.equal('newAccount: HTTP 403 unauthorized: unauthorized detail');
  });
});
