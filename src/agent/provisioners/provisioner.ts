/** Where new pairs come from. Every provisioner returns the bytes stage() takes. */
import type { CertInfo } from '../../pki/cert-info.js';
import type { Log } from '../../store/context.js';
import type { PairInput } from '../../pki/validate.js';
import type { Clock } from '../clock.js';
import { isIpAddress } from '../../pki/keys.js';
import { CertswapError, ErrorCodes, isCertswapError } from '../../errors.js';

export interface Identity {
  commonName: string;
  /** DNS names and IP addresses. */
  sans: string[];
}

export interface ProvisionRequest {
  identity: Identity;
  /** A private 0700 directory inside the store, removed afterwards: the only place a provisioner may write. */
  workDir: string;
  clock: Clock;
  log?: Log;
  /** The active generation's private key, for a provisioner configured to keep the key. */
  currentKey?: () => Promise<Buffer | null>;
  /** The active generation's certificate chain (acme: the certificate a renewal `replaces`). */
  currentCert?: () => Promise<Buffer | null>;
  /** The store's directory, for a provisioner that keeps state there (acme: `.acme/`). */
  storeDir?: string;
  /**
   * Aborted when the agent stops (SIGTERM): a provisioner that waits (acme: polls, the dns-01
   * wait) ends its waits, takes down what it put up and fails, rather than outlast the service
   * manager's stop timeout and be killed with a webroot token or a DNS record still up.
   */
  signal?: AbortSignal;
}

export interface Provisioner {
  readonly type: string;
  /** A new certificate and key for the identity. Raises CERTSWAP_PROVISION_FAILED. */
  provision(req: ProvisionRequest): Promise<PairInput>;
}

/** Whether a certificate's subject CN and SANs are exactly the identity's. */
export function matchesIdentity(info: Pick<CertInfo, 'commonName' | 'sans'>, identity: Identity): boolean {
  const want = new Set(identity.sans.map((s) => (isIpAddress(s) ? `IP:${s}` : `DNS:${s}`)));
  return (
    info.commonName === identity.commonName && info.sans.length === want.size && info.sans.every((s) => want.has(s))
  );
}

/** Runs a provisioner's enrolment: anything untyped it raises becomes CERTSWAP_PROVISION_FAILED. */
export async function typedProvision<T>(type: string, enrol: () => Promise<T>): Promise<T> {
  try {
    return await enrol();
  } catch (err) {
    if (isCertswapError(err)) throw err;
    throw new CertswapError(ErrorCodes.PROVISION_FAILED, `${type}: ${(err as Error).message}`, { cause: err });
  }
}
