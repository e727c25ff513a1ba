/**
 * When an acme certificate is due by the CA's word: ARI (RFC 9773) when the directory offers
 * renewalInfo, else null and the local window rules. The CA being unreachable never delays a
 * renewal: it is logged and the local window is used.
 */
import { X509Certificate } from 'node:crypto';
import { readInputFile } from '../../io/input.js';
import type { Log } from '../../store/context.js';
import type { AcmeProvisionerConfig } from './config.js';
import { ariCertId, ariDue, type AriDue } from './ari.js';
import { AcmeTransport } from './transport.js';

/** How long a directory's renewalInfo URL (or its absence) is trusted before the directory is read again. */
const DIRECTORY_TTL_MS = 3_600_000;
const directories = new Map<string, { renewalInfo: string | null; until: number }>();

export async function acmeDue(
  p: AcmeProvisionerConfig,
  cert: Buffer,
  now: Date,
  opts: { log?: Log; random?: () => number } = {},
): Promise<AriDue | null> {
  try {
    const t = await AcmeTransport.create({
      directory: p.directory,
      directoryCa: p.directoryCa ? await readInputFile(p.directoryCa, 'trust') : undefined,
    });
    let known = directories.get(p.directory);
    if (!known || known.until <= now.getTime()) {
      known = { renewalInfo: (await t.directory()).renewalInfo ?? null, until: now.getTime() + DIRECTORY_TTL_MS };
      directories.set(p.directory, known);
    }
    if (known.renewalInfo === null) return null;
    const x509 = new X509Certificate(cert);
    const certId = await ariCertId(x509);
    if (certId === undefined) return null;
    return await ariDue({
      notAfter: new Date(x509.validTo),
      renewalInfo: known.renewalInfo,
      get: (url) => t.get(url),
      certId,
      now,
      random: opts.random ?? Math.random,
      log: opts.log,
    });
  } catch (err) {
    opts.log?.warn(
      { event: 'ari-unavailable', code: (err as { code?: string }).code },
      `ACME renewal information unavailable, the local window applies: ${(err as Error).message}`,
    );
    return null;
  }
}
