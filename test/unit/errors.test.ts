/** The registry of error codes: every code registered is raised somewhere, and codes are typed. */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, isErrorCode, toCertswapError } from '../../src/errors.js';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [fs.readFileSync(p, 'utf8')] : [];
  });
}

describe('error codes', () => {
  it('every registered code is used outside the registry, and no code is spelled as a string literal', () => {
    const all = sources(src).filter((t) => !t.includes('export const ErrorCodes = {'));
    const text = all.join('\n');
    for (const key of Object.keys(ErrorCodes))
      expect(text, `ErrorCodes.${key} is never used`).to.match(new RegExp(`ErrorCodes\\.${key}\\b`));
    expect(text.match(/'CERTSWAP_[A-Z_]+'/g) ?? [], 'spell codes as ErrorCodes.X').to.deep.equal([]);
  });

  it('turns a foreign error into a typed one: an errno keeps its code, anything else is CERTSWAP_INTERNAL', () => {
    expect(toCertswapError(Object.assign(new Error('disk'), { code: 'EIO' })).code).to.equal('EIO');
    expect(toCertswapError(Object.assign(new Error('node'), { code: 'ERR_INVALID_ARG_TYPE' })).code).to.equal(
      ErrorCodes.INTERNAL,
    );
    expect(toCertswapError('a string').code).to.equal(ErrorCodes.INTERNAL);
    expect(isErrorCode('CERTSWAP_NOPE')).to.equal(false);
    expect(isErrorCode(ErrorCodes.BUSY)).to.equal(true);
  });
});
