/** Where new pairs come from. Every provisioner returns the bytes stage() takes. */
import type { PairInput } from '../validate.js';
import type { Clock } from './clock.js';

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
}

export interface Provisioner {
  readonly type: string;
  /** A new certificate and key for the identity. Raises CERTSWAP_PROVISION_FAILED. */
  provision(req: ProvisionRequest): Promise<PairInput>;
}
