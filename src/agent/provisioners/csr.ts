/**
 * The `csr` provisioner: the private key is born on the device and never leaves it.
 *
 *   1. Key: a new key pair in memory (EC P-256 by default), or, with `reuseKey`, the active
 *      generation's key. It is never written here: the manager hands it to stage(), which writes
 *      it 0600 into the staging directory that becomes generations/<n>; that is the only place a
 *      key ever reaches a disk. It is never logged and never put in a request.
 *   2. A PKCS#10 CSR (subject, SANs, key usage, EKUs) signed with that key goes to the CA.
 *   3. The answer is checked before anything is staged: a certificate for exactly our public key
 *      and our identity, issued by the CA. A CA (or anything in the middle) answering with a
 *      certificate for another key would otherwise be refused only later, by stage()'s key check,
 *      with a less useful error; for another identity it might not be refused at all.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { describeCertificate } from '../../pki/cert-info.js';
import { describeKey, KEY_TYPES, type KeyType, keyTypeOf } from '../../pki/key-types.js';
import { CertswapError, ErrorCodes } from '../../errors.js';
import type { ExtendedKeyUsage, PairInput } from '../../pki/validate.js';
import { CfsslClient, type CfsslClientOptions } from './cfssl-client.js';
import { createCsr, type SubjectAttributes } from '../../pki/csr.js';
import {
  generateKeyPair,
  keyAlgorithms,
  privateKeyPem,
  publicKeyDer,
  subtle,
  type CryptoKeyPair,
} from '../../pki/keys.js';
import { matchesIdentity, type Provisioner, type ProvisionRequest, typedProvision } from './provisioner.js';

export interface CsrProvisionerOptions {
  keyType: KeyType;
  /** Keep the active generation's key instead of making a new one (default: a new key each time). */
  reuseKey: boolean;
  subject?: SubjectAttributes;
  usages: ExtendedKeyUsage[];
  /** The CA server. */
  cfssl: Omit<CfsslClientOptions, 'authKey' | 'tlsCa'> & { authKey?: Buffer; tlsCa?: Buffer };
  /** The issuing CA's certificate(s), pinned; without it, the CA's /info answer is used. */
  issuerCa?: Buffer;
}

/** The KeyType of the active key, to sign its CSR with; it must be one the provisioners make. */
function reusableKeyType(key: KeyObject): KeyType {
  const t = keyTypeOf(key);
  if (t === null) {
    throw new CertswapError(
      ErrorCodes.UNSUPPORTED_KEY,
      `the active key (${describeKey(key)}) cannot be reused: not one of ${KEY_TYPES.join(', ')}`,
    );
  }
  return t;
}

/** Imports the active generation's key (PEM) as a WebCrypto pair, to sign a CSR with it. */
async function importPair(pem: Buffer): Promise<{ keys: CryptoKeyPair; keyType: KeyType }> {
  const priv = createPrivateKey(pem);
  const keyType = reusableKeyType(priv);
  const alg = keyAlgorithms(keyType).gen as never;
  const privateKey = await subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), alg, true, [
    'sign',
  ]);
  const publicKey = await subtle.importKey(
    'spki',
    createPublicKey(priv).export({ type: 'spki', format: 'der' }),
    alg,
    true,
    ['verify'],
  );
  return { keys: { privateKey, publicKey }, keyType };
}

/**
 * Step 1 of every provisioner that makes its key on the device (csr, acme): a new key pair of
 * `keyType` in memory, or with `reuseKey` the active generation's key (`current`, its PEM, which
 * is then what stage() gets again). Raises CERTSWAP_UNSUPPORTED_KEY for an active key of a type
 * the provisioners do not make.
 */
export async function deviceKey(
  opts: { keyType: KeyType; reuseKey: boolean },
  req: Pick<ProvisionRequest, 'currentKey'>,
): Promise<{ keys: CryptoKeyPair; keyType: KeyType; current: Buffer | null }> {
  const current = (opts.reuseKey ? await req.currentKey?.() : null) ?? null;
  if (current) return { ...(await importPair(current)), current };
  return { keys: await generateKeyPair(opts.keyType), keyType: opts.keyType, current: null };
}

export class CsrProvisioner implements Provisioner {
  readonly type = 'csr';

  constructor(private readonly opts: CsrProvisionerOptions) {}

  provision(req: ProvisionRequest): Promise<PairInput> {
    return typedProvision(this.type, () => this.enrol(req));
  }

  private async enrol(req: ProvisionRequest): Promise<PairInput> {
    // 1. The key.
    const { keys, keyType, current } = await deviceKey(this.opts, req);
    // 2. The CSR, signed with it, to the CA.
    const csr = await createCsr({
      keys,
      keyType,
      identity: req.identity,
      subject: this.opts.subject,
      usages: this.opts.usages,
    });
    const client = new CfsslClient(this.opts.cfssl as CfsslClientOptions, req.clock, req.log);
    const certPem = await client.sign(csr, req.identity.sans.length ? req.identity.sans : [req.identity.commonName]);
    const ca = this.opts.issuerCa ?? Buffer.from(await client.caCertificate());
    // 3. The answer must be a certificate for our key and identity, from the CA.
    await checkAnswer(certPem, keys, req, ca);
    req.log?.info({ event: 'enrolled', keyType, reusedKey: current !== null }, 'the CA signed the CSR');
    return { cert: Buffer.from(certPem), key: current ?? (await privateKeyPem(keys)), ca };
  }
}

/**
 * Refuses (CERTSWAP_CA_BAD_ANSWER) a certificate that is not for `keys`' public key, not for
 * exactly the identity asked for, or not issued by one of the certificates in `ca`.
 */
export async function checkAnswer(
  certPem: string,
  keys: CryptoKeyPair,
  req: Pick<ProvisionRequest, 'identity'>,
  ca: Buffer,
): Promise<void> {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (err) {
    throw new CertswapError(
      ErrorCodes.CA_BAD_ANSWER,
      `the CA answered with an unreadable certificate: ${(err as Error).message}`,
    );
  }
  const info = describeCertificate(leaf, '', 1);
  if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(await publicKeyDer(keys))) {
    throw new CertswapError(
      ErrorCodes.CA_BAD_ANSWER,
      `the CA answered with a certificate for another key (${info.subject}, sha256 ${info.fingerprint}); refused`,
    );
  }
  if (!matchesIdentity(info, req.identity)) {
    throw new CertswapError(
      ErrorCodes.CA_BAD_ANSWER,
      `the CA answered with a certificate for another identity ` +
        `(CN ${JSON.stringify(info.commonName)}, SANs ${info.sans.join(', ') || 'none'}); ` +
        `asked for CN ${JSON.stringify(req.identity.commonName)}, SANs ${req.identity.sans.join(', ') || 'none'}`,
    );
  }
  const issuers = ca
    .toString('latin1')
    .split(/(?=-----BEGIN CERTIFICATE-----)/)
    .filter((p) => p.includes('-----BEGIN CERTIFICATE-----'))
    .map((p) => new X509Certificate(p));
  if (!issuers.some((i) => leaf.checkIssued(i) && leaf.verify(i.publicKey))) {
    throw new CertswapError(
      ErrorCodes.CA_BAD_ANSWER,
      `the certificate the CA answered with was not issued by the expected CA (issuer ${info.issuer})`,
    );
  }
}
