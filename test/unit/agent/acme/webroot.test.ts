/**
 * The http-01 webroot responder against the webroot's owner renaming in their tree while root
 * works in it: a link swapped in for a directory after its check is never written through,
 * chmodded through or removed through. The swaps happen at the exact system call through the
 * file system seam (fsOps), so each race is taken every time.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { responderFor } from '../../../../src/agent/acme/challenges.js';
import type { AcmeProvisionerConfig } from '../../../../src/agent/acme/config.js';
import { systemClock } from '../../../../src/agent/clock.js';
import { ErrorCodes } from '../../../../src/errors.js';
import { fsOps } from '../../../../src/io/fs.js';
import { expectCode } from '../../../helpers/expect-code.js';
import { tempDir } from '../../../helpers/tmp.js';

describe('http-01 webroot', () => {
  const token = 'abcdefghijklmnopqrstuvwxyz012345';
  const challenge = { name: 'device.test', token, keyAuthorization: `${token}.thumb` };
  const webrootResponder = (webroot: string) =>
    responderFor({ challenge: 'http-01', http: { webroot } } as AcmeProvisionerConfig, systemClock);
  const real = { open: fsOps.open, mkdir: fsOps.mkdir };
  afterEach(() => Object.assign(fsOps, real));

  it('writes the token in the directory it checked, not through a link swapped in since', async () => {
    const webroot = await tempDir();
    const elsewhere = await tempDir();
    const aside = path.join(webroot, 'moved-away');
    const challengeDir = path.join(webroot, '.well-known', 'acme-challenge');
    fsOps.open = async (p, flags, mode) => {
      if (p.endsWith(`/${token}`) && (flags & fs.constants.O_CREAT) !== 0) {
        // The webroot's owner, between root's check of acme-challenge and the token's creation.
        await fs.rename(challengeDir, aside);
        await fs.symlink(elsewhere, challengeDir);
      }
      return real.open(p, flags, mode);
    };
    const r = webrootResponder(webroot);
    try {
      await r.present(challenge);
      expect(await fs.readdir(elsewhere), 'nothing created where the link points').to.deep.equal([]);
      expect(await fs.readFile(path.join(aside, token), 'utf8')).to.equal(challenge.keyAuthorization);
    } finally {
      await r.close();
    }
    expect(await fs.readdir(aside), 'the token removed from where it was written').to.deep.equal([]);
  });

  it('refuses a link swapped in for a directory it just made: no chmod through it', async () => {
    const webroot = await tempDir();
    const victim = await tempDir();
    await fs.chmod(victim, 0o700);
    fsOps.mkdir = async (p, mode) => {
      await real.mkdir(p, mode);
      if (p.endsWith('/.well-known')) {
        // The webroot's owner, right after root's mkdir.
        await fs.rename(p, path.join(webroot, 'moved-away'));
        await fs.symlink(victim, p);
      }
    };
    const r = webrootResponder(webroot);
    try {
      await expectCode(r.present(challenge), ErrorCodes.PROVISION_FAILED, /not a directory \(a link\?\)/);
    } finally {
      await r.close();
    }
    expect((await fs.stat(victim)).mode & 0o777, 'the link target keeps its mode').to.equal(0o700);
    expect(await fs.readdir(victim)).to.deep.equal([]);
  });

  it('removes the token and the directories it made, and leaves a directory that was there', async () => {
    const webroot = await tempDir();
    const r = webrootResponder(webroot);
    await r.present(challenge);
    const dir = path.join(webroot, '.well-known', 'acme-challenge');
    expect((await fs.stat(dir)).mode & 0o777).to.equal(0o755);
    expect((await fs.stat(path.join(dir, token))).mode & 0o777).to.equal(0o644);
    await r.close();
    expect(await fs.readdir(webroot)).to.deep.equal([]);
    await fs.mkdir(path.join(webroot, '.well-known'));
    const again = webrootResponder(webroot);
    await again.present(challenge);
    await again.close();
    expect(await fs.readdir(path.join(webroot, '.well-known'))).to.deep.equal([]);
  });
});
