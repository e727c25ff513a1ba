/**
 * `certswap revoke` (the built CLI) against the real pebble: signed with the generation's own key,
 * accepted by pebble (its management API then reports the certificate Revoked with our reason),
 * a second revocation refused with alreadyRevoked; the active generation only with --force, which
 * marks it so that the agent renews it at once.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import fse from 'fs-extra';
import path from 'node:path';
import { stringify } from 'yaml';
import { checkDue } from '../../src/agent/due.js';
import { ErrorCodes } from '../../src/index.js';
import { captureLog } from '../helpers/fake-clock.js';
import { certswap } from '../helpers/proc.js';
import { withAcmeEnv } from './acme-env.js';

describe('acme: certswap revoke against pebble', function () {
  this.timeout(60_000);
  const env = withAcmeEnv();
  const { log } = captureLog();

  async function serial(dir: string, n: number): Promise<string> {
    return new X509Certificate(await env().gen(dir, n, 'cert.pem')).serialNumber;
  }

  it('revokes a past generation (superseded), signed with its key; a second time is alreadyRevoked', async () => {
    const { m, dir } = env().manager(log);
    await m.start();
    await m.ensureCertificate('device');
    await m.ensureCertificate('device', { force: true });
    const where = ['--directory', env().proxy.directory, '--directory-ca', env().pebble.tlsCaFile];
    const r = await certswap([
      'revoke',
      '--dir',
      dir,
      '--generation',
      '1',
      '--reason',
      'superseded',
      '--json',
      ...where,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.include({
      generation: 1,
      reason: 'superseded',
      active: false,
      signedWith: 'certificate key',
    });
    const status = await env().pebble.certStatus(await serial(dir, 1));
    expect(status).to.deep.include({ Status: 'Revoked', Reason: 4 });
    expect((await env().pebble.certStatus(await serial(dir, 2))).Status).to.equal('Valid');
    // The request was signed with the certificate's key (a JWK in the header), not the account's.
    const jws = env()
      .proxy.bodies.filter((b) => b.includes('"protected"'))
      .at(-1)!;
    const header = JSON.parse(Buffer.from(JSON.parse(jws).protected, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(header).to.have.property('jwk');
    expect(header).to.not.have.property('kid');
    const again = await certswap(['revoke', '--dir', dir, '--generation', '1', ...where]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(new RegExp(`${ErrorCodes.CA_REFUSED}: .*alreadyRevoked`));
    expect((await fse.readdir(path.join(dir, '.acme'))).sort()).to.deep.equal(['account-key.pem']);
  });

  it('an Ed25519 key, which ACME does not sign with, is revoked with the store account key', async () => {
    const { m, dir } = env().manager(log, { keyType: 'Ed25519' });
    await m.start();
    await m.ensureCertificate('device');
    await m.ensureCertificate('device', { force: true });
    const where = ['--directory', env().proxy.directory, '--directory-ca', env().pebble.tlsCaFile];
    const r = await certswap(['revoke', '--dir', dir, '--generation', '1', '--json', ...where]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.include({ generation: 1, reason: 'unspecified', signedWith: 'account key' });
    expect((await env().pebble.certStatus(await serial(dir, 1))).Status).to.equal('Revoked');
  });

  it('the active generation needs --force; then it is marked, due at once, and the agent renews it', async () => {
    const { m, dir } = env().manager(log);
    await m.start();
    await m.ensureCertificate('device');
    const config = path.join(env().base, `revoke-${Date.now()}.yaml`);
    await fse.writeFile(config, stringify(yamlOf(m.config)));
    const refused = await certswap(['revoke', '--dir', dir, '--config', config, '--reason', 'keyCompromise']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(new RegExp(`${ErrorCodes.BAD_ARGUMENT}: .*--force`));
    expect((await env().pebble.certStatus(await serial(dir, 1))).Status).to.equal('Valid');
    const r = await certswap(['revoke', '--dir', dir, '--config', config, '--reason', 'keyCompromise', '--force']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^revoked generation 1 .*keyCompromise.*it was active: renewal is due now/);
    expect(await env().pebble.certStatus(await serial(dir, 1))).to.deep.include({ Status: 'Revoked', Reason: 1 });
    expect(await fse.pathExists(path.join(dir, '.acme', 'revoked-1'))).to.equal(true);
    expect((await checkDue(m.store('device'), m.config.certificates[0]!, new Date())).reason).to.equal('revoked');
    const plan = await certswap(['renew', '--config', config, '--dry-run']);
    expect(plan.stdout).to.match(/device: generation 1, .*due now \(revoked\)/);
    const renewed = await m.ensureCertificate('device');
    expect(renewed.renewed).to.deep.include({ generation: 2, reason: 'revoked' });
    expect((await m.ensureCertificate('device')).renewed, 'generation 2 is not revoked').to.equal(null);
  });
});

/** The configuration as a user writes it, from the parsed one of the test's manager. */
function yamlOf(config: import('../../src/agent/config.js').AgentConfig): unknown {
  const c = config.certificates[0]!;
  const p = c.provisioner as import('../../src/agent/config.js').AcmeProvisionerConfig;
  return {
    certificates: [
      {
        name: c.name,
        dir: c.dir,
        identity: c.identity,
        usages: c.usages,
        provisioner: {
          type: 'acme',
          directory: p.directory,
          directoryCa: p.directoryCa,
          termsAgreed: true,
          http: { port: (p.http as { port: number }).port, address: '127.0.0.1' },
        },
      },
    ],
  };
}
