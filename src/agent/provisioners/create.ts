/** Builds the provisioner a certificate's configuration names, reading the files it refers to. */
import { CertswapError, ErrorCodes } from '../../errors.js';
import { readInputFile } from '../../io/input.js';
import type { CsrProvisionerConfig, ProvisionerConfig } from '../config.js';
import { CommandProvisioner } from './command.js';
import { CsrProvisioner } from './csr.js';
import { LocalCaProvisioner } from './local-ca.js';
import type { Provisioner } from './provisioner.js';

/** The shared HMAC key, from a file holding it in hex (cfssl's auth_keys format). */
async function readAuthKey(file: string): Promise<Buffer> {
  const hex = (await readInputFile(file, 'config')).toString('latin1').trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length < 32) {
    // The file's content is a secret: say what is wrong with it, never what it holds.
    throw new CertswapError(
      ErrorCodes.CONFIG_INVALID,
      `${file}: expected a hex key of at least 16 bytes (as in cfssl's auth_keys)`,
      { path: file },
    );
  }
  return Buffer.from(hex, 'hex');
}

async function csr(p: CsrProvisionerConfig): Promise<CsrProvisioner> {
  const { authKeyFile, tlsCa, ...cfssl } = p.cfssl;
  return new CsrProvisioner({
    keyType: p.keyType,
    reuseKey: p.reuseKey,
    subject: p.subject,
    usages: p.usages,
    issuerCa: p.issuerCa ? await readInputFile(p.issuerCa, 'ca') : undefined,
    cfssl: {
      ...cfssl,
      authKey: authKeyFile ? await readAuthKey(authKeyFile) : undefined,
      tlsCa: tlsCa ? await readInputFile(tlsCa, 'trust') : undefined,
    },
  });
}

export async function createProvisioner(p: ProvisionerConfig): Promise<Provisioner> {
  switch (p.type) {
    case 'local-ca':
      return new LocalCaProvisioner(p);
    case 'command':
      return new CommandProvisioner(p);
    case 'csr':
      return csr(p);
  }
}
