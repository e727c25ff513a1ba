/**
 * What `/healthz` answers: unhealthy while any certificate has no valid active pair (expired, not
 * yet valid, damaged, or none at all: every consumer of it is failing or about to), or while its
 * renewals have failed without a break for longer than `metrics.unhealthyAfter` (the CA or the
 * network has been gone long enough that a person should look before the pair expires).
 */
import { ErrorCodes } from '../errors.js';
import type { StoreStatus } from '../store/ops/status.js';

export interface CertificateHealth {
  name: string;
  healthy: boolean;
  /** Why not, in a few words; absent when healthy. */
  problem?: string;
}

export interface Health {
  healthy: boolean;
  certificates: CertificateHealth[];
}

/**
 * The health of one certificate from its store's status at `nowMs` and the start of its current
 * failure streak (null when its last look succeeded).
 */
export function certificateHealth(
  name: string,
  s: StoreStatus,
  failingSinceMs: number | null,
  nowMs: number,
  unhealthyAfterMs: number,
): CertificateHealth {
  const active = s.generations.find((g) => g.active);
  if (!active) return { name, healthy: false, problem: 'no active generation' };
  // status checks the recorded dates against its own clock; the expiry is checked here again
  // against `nowMs`, so that a pair that expired since the status was read is not reported fine.
  const expired = active.notAfter !== undefined && Date.parse(active.notAfter) <= nowMs;
  if (!active.valid || expired) {
    const why = expired ? ErrorCodes.EXPIRED : (active.problem ?? 'invalid');
    return { name, healthy: false, problem: `active generation ${active.id} is not valid (${why})` };
  }
  if (failingSinceMs !== null && nowMs - failingSinceMs > unhealthyAfterMs) {
    const since = new Date(failingSinceMs).toISOString();
    return { name, healthy: false, problem: `renewals failing since ${since}` };
  }
  return { name, healthy: true };
}

export function overallHealth(certificates: CertificateHealth[]): Health {
  return { healthy: certificates.every((c) => c.healthy), certificates };
}
