/**
 * Where `certswap revoke` finds the ACME CA of a store: the acme provisioner of the agent's
 * configuration for that store (the certificate named by --name, or the one whose `dir` is
 * --dir), or --directory URL [--directory-ca FILE].
 */
import path from 'node:path';
import { CertswapError, ErrorCodes } from '../../errors.js';
import { readInputFile } from '../../io/input.js';
import { loadConfigFile } from '../config.js';

export async function revokeTarget(
  a: { dir: string } & ({ config: string; name?: string } | { directory: string; directoryCa?: string }),
): Promise<{ directory: string; directoryCa?: Buffer }> {
  if ('directory' in a) {
    return {
      directory: a.directory,
      ...(a.directoryCa && { directoryCa: await readInputFile(a.directoryCa, 'trust') }),
    };
  }
  const config = await loadConfigFile(a.config);
  const dir = path.resolve(a.dir);
  const c = config.certificates.find((x) => (a.name !== undefined ? x.name === a.name : x.dir === dir));
  if (!c || c.dir !== dir) {
    throw new CertswapError(
      ErrorCodes.BAD_ARGUMENT,
      a.name !== undefined
        ? `${a.config}: no certificate named ${JSON.stringify(a.name)} with dir ${dir}`
        : `${a.config}: no certificate has dir ${dir}`,
    );
  }
  if (c.provisioner.type !== 'acme') {
    throw new CertswapError(ErrorCodes.BAD_ARGUMENT, `${a.config}: ${c.name} does not use the acme provisioner`);
  }
  const p = c.provisioner;
  return { directory: p.directory, ...(p.directoryCa && { directoryCa: await readInputFile(p.directoryCa, 'trust') }) };
}
