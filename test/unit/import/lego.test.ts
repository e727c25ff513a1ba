/** How lego names a certificate's files (its sanitizedDomain), and names that are no file name. */
import { expect } from 'chai';
import { ErrorCodes } from '../../../src/errors.js';
import { legoFileName } from '../../../src/import/lego.js';

describe('import/lego: legoFileName', () => {
  it("spells a name as lego does: * as _, Unicode as its ASCII form; lego's own spelling is kept", () => {
    expect(legoFileName('www.example.com')).to.equal('www.example.com');
    expect(legoFileName('*.example.com')).to.equal('_.example.com');
    expect(legoFileName('_.example.com')).to.equal('_.example.com');
    expect(legoFileName('bücher.example')).to.equal('xn--bcher-kva.example');
    expect(legoFileName('xn--bcher-kva.example')).to.equal('xn--bcher-kva.example');
  });

  it('refuses a name that is not one file name: empty, . and .., a slash, a NUL', () => {
    for (const name of ['', '.', '..', '../www.example.com', 'a/b', 'a\0b']) {
      expect(() => legoFileName(name), JSON.stringify(name))
        .to.throw()
        .with.property('code', ErrorCodes.BAD_ARGUMENT);
    }
  });
});
