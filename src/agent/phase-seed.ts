/**
 * What a device's target phase (schedule.ts) is derived from: everything that tells this device
 * from another and stays the same across restarts, renewals, new keys and agent upgrades.
 *
 * - The identity: the common name and the SANs (sorted, so that their order in the configuration
 *   does not matter). A fleet that names its devices in the SANs and gives them all one CN spreads
 *   as well as one that names them in the CN.
 * - The machine ID (/etc/machine-id, machine-id(5)), when there is a valid one: a fleet whose
 *   devices share their whole identity (a role certificate on every device) still spreads. It is
 *   set at the first boot and kept across reboots. Where it is absent (many containers), shared (an
 *   image cloned without resetting it) or not a regular file (a link is not followed: every read
 *   of a file not ours is O_NOFOLLOW), the identity alone decides, as before.
 *
 * Not the store directory: every device of a fleet usually has the same one, and moving it would
 * move the phase. The machine ID is never logged nor sent anywhere: machine-id(5) asks that it be
 * used only through a keyed hash with an application's own key, which targetPhase() is.
 * A change of any of these moves the target phase: the renewal still falls inside the window,
 * and the device walks to its new phase as a newly enrolled one does.
 */
import { fsOps } from '../io/fs.js';
import type { Identity } from './provisioners/provisioner.js';

export const MACHINE_ID_FILE = '/etc/machine-id';

let cached: string | null | undefined;

/** The machine ID (32 lower-case hex digits), or null when there is no valid one. Read once. */
export function machineId(file = MACHINE_ID_FILE): string | null {
  if (file === MACHINE_ID_FILE && cached !== undefined) return cached;
  let id: string | null = null;
  try {
    const text = fsOps.readSmallSync(file, 64)?.toString('ascii').trim() ?? '';
    // "uninitialized" (machine-id(5): first boot not complete) and anything else malformed do not count.
    id = /^[0-9a-f]{32}$/.test(text) ? text : null;
  } catch {
    id = null;
  }
  if (file === MACHINE_ID_FILE) cached = id;
  return id;
}

/** The seed of the target phase of a certificate with `identity` on this machine (see the module comment). */
export function phaseSeedOf(identity: Identity, machine: string | null = machineId()): string {
  return JSON.stringify([identity.commonName, [...identity.sans].sort(), machine]);
}
