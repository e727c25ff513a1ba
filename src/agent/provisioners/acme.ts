/**
 * The `acme` provisioner: a certificate from an ACME CA (RFC 8555: Let's Encrypt, step-ca, Vault
 * PKI, EJBCA...), the key made on the device. The protocol's JWS, nonces and account handling
 * are acme-client's (src/agent/acme/transport.ts says what is wrapped around it, and why).
 *
 *   1. The account: its key from `.acme/` in the store (made on first use), found or created at
 *      the server (terms agreed, external account binding when configured).
 *   2. The key and the CSR, exactly as the `csr` provisioner makes them (deviceKey, createCsr):
 *      the key stays in memory and reaches a disk only through stage().
 *   3. The order (acme/order.ts): the identity's names as identifiers, the challenge put up and
 *      always taken down, `replaces` when renewing with ARI, the chain downloaded.
 *   4. The answer is checked before anything is staged, as for `csr`: our public key, exactly our
 *      names, issued by the next certificate of the chain. The chain is returned with the leaf.
 */
import { X509Certificate } from 'node:crypto';
import { CertswapError, ErrorCodes } from '../../errors.js';
import { createCsr } from '../../pki/csr.js';
import { privateKeyPem } from '../../pki/keys.js';
import type { PairInput } from '../../pki/validate.js';
import { accountKey, useAccount } from '../acme/account.js';
import { ariCertId } from '../acme/ari.js';
import { responderFor } from '../acme/challenges.js';
import type { AcmeProvisionerConfig } from '../acme/config.js';
import { runOrder } from '../acme/order.js';
import { AcmeTransport } from '../acme/transport.js';
import { checkAnswer, deviceKey } from './csr.js';
import { type Provisioner, type ProvisionRequest, typedProvision } from './provisioner.js';

export interface AcmeProvisionerOptions extends AcmeProvisionerConfig {
  /** The contents of directoryCa, read at start. */
  directoryCaPem?: Buffer;
  /** The EAB HMAC key (base64url), read at start from eab.hmacKeyFile. */
  eabKey?: string;
}

/** The certificates of a PEM chain, in order. */
export function splitChain(pem: string): string[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => `${c}\n`);
}

export class AcmeProvisioner implements Provisioner {
  readonly type = 'acme';

  constructor(private readonly opts: AcmeProvisionerOptions) {}

  provision(req: ProvisionRequest): Promise<PairInput> {
    return typedProvision(this.type, () => this.enrol(req));
  }

  /** A transport signed by the account key of the store at `storeDir`, registered at the server. */
  async account(storeDir: string, req: Pick<ProvisionRequest, 'clock' | 'log'>) {
    const o = this.opts;
    const t = await AcmeTransport.create({
      directory: o.directory,
      directoryCa: o.directoryCaPem,
      signingKey: await accountKey(storeDir, req.log),
      eab: o.eab && o.eabKey ? { kid: o.eab.kid, hmacKey: o.eabKey } : undefined,
    });
    const dir = await t.directory();
    const opts = { email: o.email, termsAgreed: o.termsAgreed, eab: o.eab !== undefined };
    await useAccount(t, dir, opts, () => req.clock.now(), req.log);
    return { t, dir };
  }

  private async enrol(req: ProvisionRequest): Promise<PairInput> {
    if (req.storeDir === undefined) {
      throw new CertswapError(ErrorCodes.INTERNAL, 'the acme provisioner needs the store directory');
    }
    // 1. The account.
    const { t, dir } = await this.account(req.storeDir, req);
    // 2. The key and the CSR.
    const { keys, keyType, current } = await deviceKey(this.opts, req);
    const csrPem = await createCsr({ keys, keyType, identity: req.identity, usages: this.opts.usages });
    const csr = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    // 3. The order; with ARI, naming the certificate it replaces.
    const active = dir.renewalInfo ? await req.currentCert?.() : null;
    const replaces = active ? await ariCertId(new X509Certificate(active)) : undefined;
    const chainPem = await runOrder({
      t,
      dir,
      names: req.identity.sans,
      challenge: this.opts.challenge,
      responder: responderFor(this.opts, req.clock, req.log),
      csr,
      profile: this.opts.profile,
      replaces,
      clock: req.clock,
      log: req.log,
      signal: req.signal,
    });
    // 4. The answer: our key, our names, from the chain's next certificate.
    const [leaf, ...issuers] = splitChain(chainPem);
    if (!leaf || issuers.length === 0) {
      throw new CertswapError(ErrorCodes.CA_BAD_ANSWER, 'the ACME server answered without the chain to its leaf');
    }
    await checkAnswer(leaf, keys, req, Buffer.from(issuers.join('')));
    req.log?.info({ event: 'enrolled', keyType, reusedKey: current !== null, replaces }, 'the ACME CA issued');
    return { cert: Buffer.from([leaf, ...issuers].join('')), key: current ?? (await privateKeyPem(keys)) };
  }
}
