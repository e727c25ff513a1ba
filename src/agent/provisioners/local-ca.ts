/**
 * The `local-ca` provisioner: a CA kept in a directory of its own on the device, created on first
 * use, that issues a leaf with a fresh key each time. Right for a demo or a lab; a fleet should
 * have its CA elsewhere (the key would otherwise live on every device).
 */
import path from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import { fsyncDir, makeDir, replaceFile } from '../../io/durable.js';
import { readInputFile } from '../../io/input.js';
import { DIR_MODE, KEY_MODE, PUBLIC_FILE_MODE } from '../../store/layout.js';
import { EKU_OIDS, type ExtendedKeyUsage } from '../../pki/eku.js';
import type { Provisioner, ProvisionRequest } from './provisioner.js';
import {
  escapeDnValue,
  generateKeyPair,
  isIpAddress,
  loadX509,
  pemEncode,
  privateKeyPem,
  subtle,
  type CryptoKey,
  type CryptoKeyPair,
} from '../../pki/keys.js';
import type { KeyType } from '../../pki/key-types.js';

export interface LocalCaOptions {
  caDir: string;
  lifetimeMs: number;
  keyType: KeyType;
  usages: ExtendedKeyUsage[];
}

type X509 = typeof import('@peculiar/x509');
const CA_LIFETIME_MS = 10 * 365 * 86_400_000;
/**
 * Leaves start a little in the past, so that a verifier whose clock is behind still accepts them:
 * a minute, or a tenth of the lifetime if that is shorter (the renewal point is a fraction of
 * notBefore..notAfter, so a long backdate would pull a short-lived certificate's renewal forward).
 */
function backdate(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 10);
}

const CA_SIGN = { name: 'ECDSA', hash: 'SHA-256' };
const CA_KEY = { name: 'ECDSA', namedCurve: 'P-256' };

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive, as RFC 5280 requires
  return b.toString('hex');
}

interface Ca {
  certPem: string;
  cert: InstanceType<X509['X509Certificate']>;
  key: CryptoKey;
}

export class LocalCaProvisioner implements Provisioner {
  readonly type = 'local-ca';
  private ca: Promise<Ca> | undefined;

  constructor(private readonly opts: LocalCaOptions) {}

  get caCertPath(): string {
    return path.join(this.opts.caDir, 'ca.pem');
  }

  get caKeyPath(): string {
    return path.join(this.opts.caDir, 'ca-key.pem');
  }

  /** Loads the CA, creating it (key 0600, directory 0700) on first use. */
  private loadCa(now: Date): Promise<Ca> {
    this.ca ??= this.openOrCreateCa(now).catch((err: unknown) => {
      this.ca = undefined;
      throw err;
    });
    return this.ca;
  }

  private async openOrCreateCa(now: Date): Promise<Ca> {
    const lib = await loadX509();
    try {
      const certPem = (await readInputFile(this.caCertPath, 'ca')).toString();
      const keyPem = (await readInputFile(this.caKeyPath, 'key')).toString();
      const der = Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      const key = await subtle.importKey('pkcs8', der, CA_KEY, false, ['sign']);
      return { certPem, cert: new lib.X509Certificate(certPem), key };
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    // The CA's directory must outlive a power cut with the files in it: its parent is fsynced.
    const made = await makeDir(this.opts.caDir, DIR_MODE).then(
      () => true,
      (err: unknown) => {
        if (errnoCode(err) !== 'EEXIST') throw err;
        return false;
      },
    );
    if (made) await fsyncDir(path.dirname(this.opts.caDir));
    const keys = (await subtle.generateKey(CA_KEY, true, ['sign', 'verify'])) as CryptoKeyPair;
    const name = 'CN=certswap local CA';
    const cert = await lib.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: name,
      issuer: name,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + CA_LIFETIME_MS),
      signingAlgorithm: CA_SIGN,
      publicKey: keys.publicKey as never,
      signingKey: keys.privateKey as never,
      extensions: [
        new lib.BasicConstraintsExtension(true, 0, true),
        new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
        await lib.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
      ],
    });
    const certPem = `${cert.toString('pem')}\n`;
    // Through the durable module (a temporary file with its final mode from the start, fsynced,
    // renamed into place, the directory fsynced), so the fault-injection and crash suites see
    // these writes too. The key goes first: a CA certificate without its key would be unusable
    // after a crash, while a key without its certificate is replaced by a new CA at the next start.
    const keyPem = pemEncode('PRIVATE KEY', await subtle.exportKey('pkcs8', keys.privateKey));
    await replaceFile(this.caKeyPath, Buffer.from(keyPem), KEY_MODE);
    await replaceFile(this.caCertPath, Buffer.from(certPem), PUBLIC_FILE_MODE);
    return { certPem, cert, key: keys.privateKey };
  }

  async provision(req: ProvisionRequest): Promise<{ cert: Buffer; key: Buffer; ca: Buffer }> {
    try {
      const lib = await loadX509();
      const now = req.clock.now();
      const ca = await this.loadCa(now);
      const keys = await generateKeyPair(this.opts.keyType);
      const usage =
        lib.KeyUsageFlags.digitalSignature |
        (this.opts.keyType.startsWith('RSA') ? lib.KeyUsageFlags.keyEncipherment : 0);
      const leaf = await lib.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${escapeDnValue(req.identity.commonName)}`,
        issuer: ca.cert.subject,
        notBefore: new Date(now.getTime() - backdate(this.opts.lifetimeMs)),
        notAfter: new Date(now.getTime() + this.opts.lifetimeMs),
        signingAlgorithm: CA_SIGN,
        publicKey: keys.publicKey as never,
        signingKey: ca.key as never,
        extensions: [
          new lib.BasicConstraintsExtension(false, undefined, true),
          new lib.KeyUsagesExtension(usage, true),
          new lib.ExtendedKeyUsageExtension(this.opts.usages.map((u) => EKU_OIDS[u])),
          new lib.SubjectAlternativeNameExtension(
            req.identity.sans.map((value) => ({
              type: isIpAddress(value) ? ('ip' as const) : ('dns' as const),
              value,
            })),
          ),
          await lib.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
          await lib.AuthorityKeyIdentifierExtension.create(ca.cert),
        ],
      });
      // The new key goes straight to stage(), which writes it (0600) into the staging generation:
      // it is never written anywhere else.
      return {
        cert: Buffer.from(`${leaf.toString('pem')}\n`),
        key: await privateKeyPem(keys),
        ca: Buffer.from(ca.certPem),
      };
    } catch (err) {
      if (err instanceof CertswapError && err.code === ErrorCodes.PROVISION_FAILED) throw err;
      throw new CertswapError(ErrorCodes.PROVISION_FAILED, `local-ca: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** For tests and status: the CA certificate this provisioner issues from. */
export function describeCa(certPem: string): string {
  return new X509Certificate(certPem).subject;
}
