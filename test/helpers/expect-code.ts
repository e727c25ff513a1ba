import { expect } from 'chai';

/** Awaits `p`, which must reject with an error carrying `code` (and a message matching `mention`). */
export async function expectCode(
  p: Promise<unknown>,
  code: string,
  mention?: RegExp,
): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code: string };
    expect(e.code, `${e.message}`).to.equal(code);
    if (mention) expect(e.message).to.match(mention);
    return e;
  }
  return expect.fail(`expected a rejection with ${code}`);
}
