/**
 * The `command` provisioner: an outside program (step ca certificate, an openssl script, a
 * vendor tool) writes a certificate and key to paths it is given. `{cert}`, `{key}`, `{ca}` and
 * `{cn}` in its arguments are replaced; the same paths are in CERTSWAP_CERT_PATH,
 * CERTSWAP_KEY_PATH, CERTSWAP_CA_PATH. The paths are inside the store's private work directory,
 * never in a shared /tmp.
 */
import path from 'node:path';
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import { readInputFile } from '../../io/input.js';
import type { PairInput } from '../../pki/validate.js';
import { describeFailure, runCommand } from '../exec.js';
import type { Provisioner, ProvisionRequest } from './provisioner.js';

export interface CommandProvisionerOptions {
  command: string[];
  timeoutMs: number;
}

export class CommandProvisioner implements Provisioner {
  readonly type = 'command';

  constructor(private readonly opts: CommandProvisionerOptions) {}

  async provision(req: ProvisionRequest): Promise<PairInput> {
    const files = {
      cert: path.join(req.workDir, 'cert.pem'),
      key: path.join(req.workDir, 'key.pem'),
      ca: path.join(req.workDir, 'ca.pem'),
    };
    const fill = (arg: string): string =>
      arg.replace(/\{(cert|key|ca|cn)\}/g, (_, k: string) =>
        k === 'cn' ? req.identity.commonName : files[k as 'cert' | 'key' | 'ca'],
      );
    const argv = this.opts.command.map(fill);
    const r = await runCommand(argv, {
      timeoutMs: this.opts.timeoutMs,
      cwd: req.workDir,
      env: {
        CERTSWAP_CERT_PATH: files.cert,
        CERTSWAP_KEY_PATH: files.key,
        CERTSWAP_CA_PATH: files.ca,
        CERTSWAP_COMMON_NAME: req.identity.commonName,
        CERTSWAP_SANS: req.identity.sans.join(','),
      },
    });
    const failure = describeFailure(r, this.opts.timeoutMs);
    if (failure) throw new CertswapError(ErrorCodes.PROVISION_FAILED, `command ${argv[0]}: ${failure}`);
    const read = async (file: string, role: 'cert' | 'key' | 'ca'): Promise<Buffer | undefined> => {
      try {
        return await readInputFile(file, role, { noFollow: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return undefined;
        throw err;
      }
    };
    const cert = await read(files.cert, 'cert');
    const key = await read(files.key, 'key');
    if (!cert || !key) {
      throw new CertswapError(
        ErrorCodes.PROVISION_FAILED,
        `command ${argv[0]} exited 0 but wrote no ${!cert ? 'certificate' : 'key'} (${!cert ? files.cert : files.key})`,
      );
    }
    const ca = await read(files.ca, 'ca');
    const out: PairInput = { cert, key, certPath: files.cert, keyPath: files.key };
    if (ca) {
      out.ca = ca;
      out.caPath = files.ca;
    }
    return out;
  }
}
