/**
 * checkLayoutFile on the fstat of an opened store file: a second name is a planted hard link
 * (CERTSWAP_UNSAFE_STORE), but no name at all is a file removed since it was opened (prune racing
 * a reader), which must read as ENOENT so that readActive resolves `current` again.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { checkLayoutFile } from '../../../src/store/store-path.js';
import { tempDir } from '../../helpers/tmp.js';

describe('store-path: checkLayoutFile', () => {
  it('one name passes; a second name is UNSAFE_STORE; a file unlinked after its open is ENOENT', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'cert.pem');
    await fse.writeFile(file, 'x', { mode: 0o644 });
    const fh = await fse.promises.open(file, 'r');
    try {
      expect(() => checkLayoutFile(fse.statSync(file), file)).not.to.throw();
      await fse.link(file, path.join(dir, 'planted'));
      expect(() => checkLayoutFile(fse.statSync(file), file))
        .to.throw()
        .with.property('code', 'CERTSWAP_UNSAFE_STORE');
      await fse.unlink(path.join(dir, 'planted'));
      await fse.unlink(file);
      const st = await fh.stat();
      expect(st.nlink).to.equal(0);
      expect(() => checkLayoutFile(st, file))
        .to.throw()
        .with.property('code', 'ENOENT');
    } finally {
      await fh.close();
    }
  });
});
