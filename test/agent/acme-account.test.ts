/**
 * The ACME account key in the store (`.acme/account-key.pem`): made once (0600 in a 0700
 * directory) and reused, and refused, never used, when `.acme/` or the key is not what certswap
 * wrote: a link, a hard link, readable or writable by others, not a key.
 */
import { expect } from 'chai';
import { createPrivateKey } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import { accountKey } from '../../src/agent/acme/account.js';
import { isMarkedRevoked, markRevoked } from '../../src/agent/acme/revoked.js';
import { ErrorCodes } from '../../src/index.js';
import { expectCode } from '../helpers/expect-code.js';
import { tempDir } from '../helpers/tmp.js';

async function store(): Promise<string> {
  const dir = path.join(await tempDir(), 'store');
  await fse.mkdir(dir, { mode: 0o700 });
  return dir;
}

describe('acme account key in the store', () => {
  it('is made once, 0600 in a 0700 .acme/, an EC P-256 key, then reused as it is', async () => {
    const dir = await store();
    const first = await accountKey(dir);
    expect(createPrivateKey(first).asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
    expect((await fse.lstat(path.join(dir, '.acme'))).mode & 0o7777).to.equal(0o700);
    expect((await fse.lstat(path.join(dir, '.acme', 'account-key.pem'))).mode & 0o7777).to.equal(0o600);
    expect((await accountKey(dir)).equals(first)).to.equal(true);
    // A temporary file of an interrupted write is removed by the next writer (a pid above any
    // pid_max: its writer is dead); one whose writer runs (this process: a write in flight, of a
    // revocation mark say) is left for its rename.
    const live = `.revoked-7.tmp-${process.pid}-abcd`;
    await fse.writeFile(path.join(dir, '.acme', '.account-key.pem.tmp-4194305-abcd'), 'partial');
    await fse.writeFile(path.join(dir, '.acme', live), 'in flight');
    await accountKey(dir);
    expect((await fse.readdir(path.join(dir, '.acme'))).sort()).to.deep.equal([live, 'account-key.pem']);
  });

  it('is made once when two enrolments ask at the same time: both get the key the store holds', async () => {
    const dir = await store();
    const keys = await Promise.all([accountKey(dir), accountKey(dir), accountKey(dir)]);
    const stored = await fse.readFile(path.join(dir, '.acme', 'account-key.pem'));
    for (const k of keys) expect(k.equals(stored), 'the key in the store').to.equal(true);
  });

  it('refuses a .acme that is a link, and a key that is a link, a hard link, open to others, or no key', async () => {
    const linked = await store();
    const elsewhere = await tempDir();
    await fse.symlink(elsewhere, path.join(linked, '.acme'));
    await expectCode(accountKey(linked), ErrorCodes.UNSAFE_STORE, /symbolic link/);
    expect(await fse.readdir(elsewhere)).to.deep.equal([]);

    const cases: Array<[string, (file: string) => Promise<void>, string, RegExp?]> = [
      ['a link', async (f) => fse.symlink(path.join(elsewhere, 'k.pem'), f), 'ELOOP'],
      ['a hard link', async (f) => fse.link(path.join(elsewhere, 'k.pem'), f), ErrorCodes.UNSAFE_STORE, /2 names/],
      ['readable by others', async (f) => fse.chmod(f, 0o644), ErrorCodes.UNSAFE_STORE, /readable by others/],
      ['not a key', async (f) => fse.writeFile(f, 'not a key\n', { mode: 0o600 }), ErrorCodes.CORRUPT_STORE],
    ];
    await fse.writeFile(path.join(elsewhere, 'k.pem'), 'x', { mode: 0o600 });
    for (const [what, plant, code, mention] of cases) {
      const dir = await store();
      await accountKey(dir);
      const file = path.join(dir, '.acme', 'account-key.pem');
      if (what !== 'readable by others') await fse.remove(file);
      await plant(file);
      const err = await expectCode(accountKey(dir), code, mention);
      expect(err.message, what).to.not.include('PRIVATE KEY');
    }
  });

  it('marks a revoked generation durably, and refuses a mark planted as a link', async () => {
    const dir = await store();
    expect(await isMarkedRevoked(dir, 3)).to.equal(false);
    await markRevoked(dir, 3, new Date('2030-01-01T00:00:00Z'));
    expect(await isMarkedRevoked(dir, 3)).to.equal(true);
    expect(await isMarkedRevoked(dir, 4)).to.equal(false);
    expect((await fse.lstat(path.join(dir, '.acme', 'revoked-3'))).mode & 0o7777).to.equal(0o600);
    await fse.symlink('/etc/hostname', path.join(dir, '.acme', 'revoked-4'));
    await expectCode(isMarkedRevoked(dir, 4), ErrorCodes.UNSAFE_STORE);
  });
});
