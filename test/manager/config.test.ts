import { expect } from 'chai';
import fse from 'fs-extra';
import path from 'node:path';
import { demoConfig, loadConfigFile, parseConfig, parseDuration } from '../../src/manager/config.js';
import { tempDir } from '../helpers/tmp.js';
import { expectCode } from '../helpers/expect-code.js';

describe('agent configuration', () => {
  it('accepts the README\'s example configurations as they are printed', async () => {
    const readme = await fse.readFile(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /^certificates:/m.test(b));
    expect(blocks.length).to.be.greaterThanOrEqual(2);
    const dir = await tempDir();
    for (const [i, text] of blocks.entries()) {
      const file = path.join(dir, `example-${i}.yaml`);
      await fse.writeFile(file, text);
      const c = await loadConfigFile(file);
      expect(c.certificates.length, text).to.be.greaterThan(0);
    }
    const csr = (await loadConfigFile(path.join(dir, `example-${blocks.findIndex((b) => /^ +type: csr/m.test(b))}.yaml`))).certificates[0]!.provisioner;
    expect(csr).to.deep.include({ type: 'csr', keyType: 'P-256', reuseKey: false, issuerCa: '/etc/certswap/fleet-ca.pem' });
  });

  it('reads YAML, resolves paths against the file, and fills in defaults', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'a.yaml');
    await fse.writeFile(file, 'certificates:\n  - name: d\n    dir: s\n    identity: { commonName: d1 }\n    provisioner: { type: command, command: [x, "{cert}"] }\n');
    const c = await loadConfigFile(file);
    const d = c.certificates[0]!;
    expect(d.dir).to.equal(path.join(dir, 's'));
    expect(d).to.deep.include({ keep: 3, usages: ['clientAuth'], renew: { from: 0.7, to: 0.9 } });
    expect(d.provisioner).to.deep.equal({ type: 'command', command: ['x', '{cert}'], timeoutMs: 60_000 });
  });

  it('names the field that is wrong', async () => {
    const base = { name: 'd', dir: 's', identity: { commonName: 'd1' }, provisioner: { type: 'local-ca', caDir: 'ca' } };
    const bad: Array<[unknown, RegExp]> = [
      [{}, /^certificates: expected a non-empty list/],
      [{ certificates: [{ ...base, provisioner: { type: 'acme' } }] }, /certificates\[0\]\.provisioner\.type: expected local-ca, csr or command/],
      [{ certificates: [{ ...base, provisioner: { type: 'local-ca', caDir: 'ca', lifetime: 'soon' } }] }, /provisioner\.lifetime: expected a duration/],
      [{ certificates: [{ ...base, renew: { from: 0.9, to: 0.5 } }] }, /certificates\[0\]\.renew: expected 0 < from <= to < 1/],
      [{ certificates: [{ ...base, usages: ['codeSigning'] }] }, /usages: unknown usage/],
      [{ certificates: [{ ...base, check: {} }] }, /check: expected command and\/or tls/],
      [{ certificates: [{ ...base, check: { tls: { host: 'h', port: 99999 } } }] }, /check\.tls\.port: expected a port number/],
      [{ certificates: [{ ...base, hooks: {} }] }, /hooks: expected command and\/or pidFile/],
      [{ certificates: [base, base] }, /duplicate name/],
    ];
    for (const [raw, msg] of bad) {
      expect(() => parseConfig(raw, '/'), JSON.stringify(raw)).to.throw(msg).with.property('code', 'CERTSWAP_CONFIG_INVALID');
    }
  });

  it('refuses a file that is not YAML, or missing', async () => {
    const dir = await tempDir();
    await fse.writeFile(path.join(dir, 'bad.yaml'), 'certificates: [unclosed');
    await expectCode(loadConfigFile(path.join(dir, 'bad.yaml')), 'CERTSWAP_CONFIG_INVALID', /not valid YAML/);
    await expectCode(loadConfigFile(path.join(dir, 'missing.yaml')), 'ENOENT', /config .*missing\.yaml: no such file/);
  });

  it('parses durations', () => {
    expect(parseDuration('90s', 'x')).to.equal(90_000);
    expect(parseDuration('1.5h', 'x')).to.equal(5_400_000);
    expect(parseDuration(250, 'x')).to.equal(250);
    expect(() => parseDuration('-1s', 'x')).to.throw(/duration/);
  });

  it('the embedded demo default is valid and lives under ./var', () => {
    const c = demoConfig('/srv/demo').certificates[0]!;
    expect(c.dir).to.equal('/srv/demo/var/store');
    expect(c.provisioner).to.include({ type: 'local-ca', caDir: '/srv/demo/var/ca', lifetimeMs: 60_000 });
  });
});
