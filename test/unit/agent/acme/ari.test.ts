/** ARI's due time (RFC 9773): a moment drawn in the CA's window, kept while the window stays, re-asked per Retry-After. */
import { expect } from 'chai';
import { ariDue } from '../../../../src/agent/acme/ari.js';
import { captureLog } from '../../../helpers/fake-clock.js';

describe('ariDue', () => {
  const window = (start: string, end: string) => ({ suggestedWindow: { start, end } });

  it('draws the moment inside the window, keeps it for the same window, and asks again per Retry-After', async () => {
    let asked = 0;
    let answer = window('2030-01-02T00:00:00Z', '2030-01-03T00:00:00Z');
    const get = async () => {
      asked++;
      return { status: 200, headers: { 'retry-after': '3600' }, data: answer };
    };
    const q = { renewalInfo: 'https://ca.test/ri/', get, certId: 'unit-1', random: () => 0.25 };
    const now = new Date('2030-01-01T00:00:00Z');
    const a = (await ariDue({ ...q, now }))!;
    expect(a.at.toISOString()).to.equal('2030-01-02T06:00:00.000Z');
    expect(a.recheckAt.toISOString()).to.equal('2030-01-01T01:00:00.000Z');
    await ariDue({ ...q, now: new Date('2030-01-01T00:59:00Z'), random: () => 0.9 });
    expect(asked, 'cached until Retry-After').to.equal(1);
    const b = (await ariDue({ ...q, now: new Date('2030-01-01T01:00:00Z'), random: () => 0.9 }))!;
    expect(asked).to.equal(2);
    expect(b.at.toISOString(), 'the same window keeps its moment').to.equal(a.at.toISOString());
    answer = window('2030-01-01T02:00:00Z', '2030-01-01T03:00:00Z');
    const c = (await ariDue({ ...q, now: new Date('2030-01-01T02:00:00Z'), random: () => 0.5 }))!;
    expect(c.at.toISOString(), 'a moved window draws again').to.equal('2030-01-01T02:30:00.000Z');
  });

  it('bounds Retry-After to [1 min, 1 day], defaults to 6 h, and gives null for an unusable answer', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const data = window('2030-01-02T00:00:00Z', '2030-01-03T00:00:00Z');
    const ask = async (headers: Record<string, string>, id: string, status = 200, body: unknown = data) =>
      ariDue({
        renewalInfo: 'https://ca.test/ri',
        get: async () => ({ status, headers, data: body }),
        certId: id,
        now,
        random: () => 0,
      });
    expect((await ask({ 'retry-after': '1' }, 'b1'))!.recheckAt.getTime() - now.getTime()).to.equal(60_000);
    expect((await ask({ 'retry-after': '999999' }, 'b2'))!.recheckAt.getTime() - now.getTime()).to.equal(86_400_000);
    expect((await ask({}, 'b3'))!.recheckAt.getTime() - now.getTime()).to.equal(6 * 3_600_000);
    expect(await ask({}, 'b4', 404)).to.equal(null);
    expect(await ask({}, 'b5', 200, window('2030-01-03T00:00:00Z', '2030-01-02T00:00:00Z'))).to.equal(null);
    expect(await ask({}, 'b6', 200, { suggestedWindow: { start: 'soon' } })).to.equal(null);
  });

  it("cuts the window at the certificate's notAfter, and gives null for a window that opens after it", async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2030-01-10T00:00:00Z');
    const ask = (id: string, start: string, end: string) =>
      ariDue({
        renewalInfo: 'https://ca.test/ri',
        get: async () => ({ status: 200, headers: {}, data: window(start, end) }),
        certId: id,
        now,
        random: () => 0.5,
        notAfter,
      });
    const cut = (await ask('n1', '2030-01-08T00:00:00Z', '2031-01-08T00:00:00Z'))!;
    expect(cut.at.toISOString(), 'drawn in [start, notAfter)').to.equal('2030-01-09T00:00:00.000Z');
    expect(await ask('n2', '2030-01-10T00:00:00Z', '2031-01-01T00:00:00Z'), 'opens at expiry').to.equal(null);
    const inside = (await ask('n3', '2030-01-02T00:00:00Z', '2030-01-04T00:00:00Z'))!;
    expect(inside.at.toISOString(), 'a window inside the life is kept').to.equal('2030-01-03T00:00:00.000Z');
  });

  it('reads an HTTP-date Retry-After, and logs a new window with its explanationURL', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { events, log } = captureLog();
    const data = {
      ...window('2030-01-02T00:00:00Z', '2030-01-03T00:00:00Z'),
      explanationURL: 'https://ca.test/incident/42',
    };
    const a = (await ariDue({
      renewalInfo: 'https://ca.test/ri',
      get: async () => ({ status: 200, headers: { 'retry-after': 'Tue, 01 Jan 2030 02:00:00 GMT' }, data }),
      certId: 'h1',
      now,
      random: () => 0,
      log,
    }))!;
    expect(a.recheckAt.toISOString(), 'the date the CA gave').to.equal('2030-01-01T02:00:00.000Z');
    expect(a.explanationURL).to.equal('https://ca.test/incident/42');
    const logged = events.filter((e) => e.event === 'ari-window');
    expect(logged.map((e) => e.explanationURL)).to.deep.equal(['https://ca.test/incident/42']);
  });
});
