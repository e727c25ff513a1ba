/** Builds the provisioner a certificate's configuration names, reading the files it refers to. */
import { CertswapError, ErrorCodes } from '../../errors.js';
import { readInputFile } from '../../io/input.js';
import type { AcmeProvisionerConfig, CsrProvisionerConfig, ProvisionerConfig } from '../config.js';
import { CommandProvisioner } from './command.js';
import { CsrProvisioner } from './csr.js';
import { LocalCaProvisioner } from './local-ca.js';
import { AcmeProvisioner } from './acme.js';
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

/** The EAB HMAC key: base64url as the CA hands it out (a secret: never quoted in an error). */
async function readEabKey(file: string): Promise<string> {
  const text = (await readInputFile(file, 'config')).toString('latin1').trim();
  if (!/^[A-Za-z0-9_-]{16,}={0,2}$/.test(text)) {
    throw new CertswapError(ErrorCodes.CONFIG_INVALID, `${file}: expected a base64url HMAC key (from the CA)`, {
      path: file,
    });
  }
  return text;
}

async function acme(p: AcmeProvisionerConfig): Promise<AcmeProvisioner> {
  return new AcmeProvisioner({
    ...p,
    directoryCaPem: p.directoryCa ? await readInputFile(p.directoryCa, 'trust') : undefined,
    eabKey: p.eab ? await readEabKey(p.eab.hmacKeyFile) : undefined,
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
    case 'acme':
      return acme(p);
  }
}
