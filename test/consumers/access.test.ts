/**
 * Consumers that run as other users, with real users and groups (useradd, groupadd): the key 0640
 * and the directories on the way to `current` 0710, group-owned by the consumer's group, set while
 * staging; a member of the group reads the pair through `current` across rotations, another user
 * gets EACCES; an unknown user or group is refused before anything is staged. Needs root.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import { GenerationStore } from '../../src/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { makePair } from '../helpers/certs.js';
import { CLI, certswap, collect } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import {
  addGroup,
  addUser,
  isRoot,
  removeGroup,
  removeUser,
  spawnWithGroups,
  type Group,
  type User,
} from '../helpers/users.js';

/** Reads each file as the process's user; prints {file: sha256 or the errno code}. */
const READER = `
const fs = require('fs'), crypto = require('crypto');
const out = {};
for (const f of process.argv.slice(1)) {
  try { out[f] = crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex'); }
  catch (e) { out[f] = e.code; }
}
process.stdout.write(JSON.stringify(out));
`;

async function readAs(user: User, files: string[]): Promise<Record<string, string>> {
  const r = await collect(await spawnWithGroups(user, process.execPath, ['-e', READER, ...files]));
  if (r.code !== 0) throw new Error(`reader as ${user.name} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A store path whose parents any user may pass through (a temporary directory is 0700). */
async function openBase(): Promise<string> {
  const base = await tempDir();
  await fse.chmod(base, 0o755);
  return base;
}

function owners(dir: string, rels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of rels) {
    const st = fse.statSync(path.join(dir, rel));
    out[rel] = `${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
  }
  return out;
}

describe('consumers that run as other users (owner, group, modes)', function () {
  this.timeout(60_000);
  let group: Group;
  let member: User;
  let outsider: User;

  before(function () {
    if (!isRoot()) {
      if (process.env.CI) throw new Error('these tests make users and groups: run them as root');
      this.skip();
    }
    group = addGroup('csw-ssl-');
    member = addUser('csw-reader-', [group.name]);
    outsider = addUser('csw-other-');
  });
  after(() => {
    if (member) removeUser(member);
    if (outsider) removeUser(outsider);
    if (group) removeGroup(group);
  });

  for (const umask of ['000', '077']) {
    it(`install --group: key 0640, directories 0710, owned root:group, with umask ${umask}`, async () => {
      const base = await openBase();
      const dir = path.join(base, 'store');
      const p = await makePair();
      await fse.writeFile(path.join(base, 'c'), p.cert);
      await fse.writeFile(path.join(base, 'k'), p.key);
      await fse.writeFile(path.join(base, 'a'), p.ca);
      const args = ['install', '--dir', dir, '--cert', `${base}/c`, '--key', `${base}/k`, '--ca', `${base}/a`];
      const r = spawnSync(
        'sh',
        ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, CLI, ...args, '--group', group.name],
        { encoding: 'utf8' },
      );
      expect(r.status, r.stderr).to.equal(0);
      const g = group.gid;
      expect(owners(dir, ['.', 'generations', 'generations/1'])).to.deep.equal({
        '.': `0710 0:${g}`,
        generations: `0710 0:${g}`,
        'generations/1': `0710 0:${g}`,
      });
      expect(
        owners(
          dir,
          ['cert.pem', 'key.pem', 'ca.pem', '.meta.json'].map((f) => `generations/1/${f}`),
        ),
      ).to.deep.equal({
        'generations/1/cert.pem': `0644 0:${g}`,
        'generations/1/key.pem': `0640 0:${g}`,
        'generations/1/ca.pem': `0644 0:${g}`,
        'generations/1/.meta.json': `0644 0:${g}`,
      });
      // The store's own files stay root's alone.
      expect(owners(dir, ['.history', '.lock'])).to.deep.equal({ '.history': '0600 0:0', '.lock': '0600 0:0' });
      // And the store's checks still accept it: status and verify work.
      const v = await certswap(['verify', '--dir', dir]);
      expect(v.code, v.stderr).to.equal(0);
    });
  }

  it('a member of the group reads the pair through current across rotations; another user gets EACCES', async () => {
    const dir = path.join(await openBase(), 'store');
    const store = await GenerationStore.open(dir);
    const current = ['cert.pem', 'key.pem', 'ca.pem'].map((f) => path.join(dir, 'current', f));
    for (let i = 1; i <= 6; i++) {
      const p = await makePair();
      // The last rotation keeps the certificate from anyone outside the group too.
      const access = i === 6 ? { group: group.name, certMode: 0o640 } : { group: group.name };
      const r = await store.install(p, { access });
      expect(r.generation).to.equal(i);
      const seen = await readAs(member, current);
      expect(seen, `rotation ${i}`).to.deep.equal({
        [current[0]!]: sha256(p.cert),
        [current[1]!]: sha256(Buffer.from(p.key.toString().replace(/\r?\n?$/, '\n'))),
        [current[2]!]: sha256(p.ca),
      });
      // The directories are closed to everyone else: not even the certificate is reachable.
      expect(Object.values(await readAs(outsider, current))).to.deep.equal(['EACCES', 'EACCES', 'EACCES']);
    }
    expect(owners(dir, ['generations/6/cert.pem'])).to.deep.equal({
      'generations/6/cert.pem': `0640 0:${group.gid}`,
    });
    // Earlier generations keep their own modes: a rollback is still one rename.
    await store.rollback();
    expect(await readAs(member, [current[1]!]))
      .to.have.property(current[1]!)
      .that.matches(/^[0-9a-f]{64}$/);
  });

  it('a later install without access closes the way to every generation, the older ones included', async () => {
    const dir = path.join(await openBase(), 'store');
    const store = await GenerationStore.open(dir);
    await store.install(await makePair(), { access: { group: group.name } });
    const oldKey = path.join(dir, 'generations/1/key.pem');
    expect(await readAs(member, [oldKey]))
      .to.have.property(oldKey)
      .that.matches(/^[0-9a-f]{64}$/);
    // No access given: the group must lose the way in, not keep reading generation 1's key (which
    // stays a rollback target and may still be valid) through the directories it was given.
    await store.install(await makePair());
    expect(owners(dir, ['.', 'generations', 'generations/2'])).to.deep.equal({
      '.': '0700 0:0',
      generations: '0700 0:0',
      'generations/2': '0700 0:0',
    });
    const files = [oldKey, path.join(dir, 'current/key.pem')];
    expect(Object.values(await readAs(member, files))).to.deep.equal(['EACCES', 'EACCES']);
  });

  it('an unknown user or group, an owner other than root, a key mode open to others: refused before staging', async () => {
    const base = await openBase();
    const dir = path.join(base, 'store');
    const p = await makePair();
    await fse.writeFile(path.join(base, 'c'), p.cert);
    await fse.writeFile(path.join(base, 'k'), p.key);
    const install = ['install', '--dir', dir, '--cert', `${base}/c`, '--key', `${base}/k`];
    const cases: Array<[string[], string]> = [
      [['--group', 'csw-no-such-group'], ErrorCodes.UNKNOWN_GROUP],
      [['--owner', 'csw-no-such-user'], ErrorCodes.UNKNOWN_USER],
      [['--group', '4000000000'], ErrorCodes.UNKNOWN_GROUP],
      [['--owner', outsider.name], ErrorCodes.BAD_ARGUMENT],
      [['--group', group.name, '--key-mode', '0644'], ErrorCodes.BAD_ARGUMENT],
      [['--group', group.name, '--cert-mode', '0664'], ErrorCodes.BAD_ARGUMENT],
    ];
    for (const [extra, code] of cases) {
      const r = await certswap([...install, ...extra, '--json']);
      expect([r.code, JSON.parse(r.stderr).error.code], extra.join(' ')).to.deep.equal([1, code]);
    }
    // Nothing was staged: not even generations/ exists, and the store is still 0700.
    expect(await fse.readdir(dir)).to.not.include('generations');
    expect(owners(dir, ['.'])).to.deep.equal({ '.': '0700 0:0' });
    // A bad mode's spelling is a usage error.
    expect((await certswap([...install, '--key-mode', 'rw-r-----'])).code).to.equal(2);
  });
});
