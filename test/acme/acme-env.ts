/**
 * What the ACME suites share: a pebble (test/helpers/pebble.ts) with the http-01 and tls-alpn-01
 * ports it validates against chosen here, a proxy in front of it (test/helpers/acme-proxy.ts),
 * and a manager built from a configuration as a user writes it.
 */
import fse from 'fs-extra';
import path from 'node:path';
import { CertificateManager } from '../../src/agent/manager.js';
import { parseConfig } from '../../src/agent/config.js';
import type { Log } from '../../src/store/context.js';
import type { Clock } from '../../src/agent/clock.js';
import { AcmeProxy } from '../helpers/acme-proxy.js';
import { Pebble, pebbleAvailable, type PebbleOptions } from '../helpers/pebble.js';
import { freePort } from '../helpers/proc.js';
import { runTempDir } from '../helpers/tmp.js';

export const NAMES = ['device.example.test', 'device-alt.example.test', '127.0.0.1'];

export class AcmeEnv {
  stores: string[] = [];
  private n = 0;
  private constructor(
    readonly base: string,
    readonly pebble: Pebble,
    readonly proxy: AcmeProxy,
    readonly httpPort: number,
    readonly tlsPort: number,
  ) {}

  static async start(opts: PebbleOptions = {}): Promise<AcmeEnv> {
    const httpPort = await freePort();
    const tlsPort = await freePort();
    const work = await runTempDir('certswap-acme-');
    const pebble = await Pebble.start({ httpPort, tlsPort, ...opts });
    const proxy = new AcmeProxy(pebble);
    try {
      await proxy.start();
    } catch (err) {
      await pebble.stop();
      throw err;
    }
    return new AcmeEnv(work, pebble, proxy, httpPort, tlsPort);
  }

  async stop(): Promise<void> {
    await this.proxy.stop().catch(() => undefined);
    await this.pebble.stop();
  }

  /** The provisioner section a user writes for this pebble (through the proxy), plus `extra`. */
  provisioner(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      type: 'acme',
      directory: this.proxy.directory,
      directoryCa: this.pebble.tlsCaFile,
      email: 'ops@example.test',
      termsAgreed: true,
      challenge: 'http-01',
      http: { port: this.httpPort, address: '127.0.0.1' },
      tlsAlpn: { port: this.tlsPort, address: '127.0.0.1' },
      ...extra,
    };
  }

  /** A manager for one certificate `device` in a new store. */
  manager(
    log: Log,
    provisioner: Record<string, unknown> = {},
    cert: Record<string, unknown> = {},
    opts: { clock?: Clock } = {},
  ) {
    const dir = path.join(this.base, `store-${++this.n}`);
    this.stores.push(dir);
    const config = parseConfig(
      {
        certificates: [
          {
            name: 'device',
            dir,
            identity: { commonName: NAMES[0], sans: NAMES },
            usages: ['serverAuth'],
            retry: { initial: '100ms', max: '300ms' },
            provisioner: this.provisioner(provisioner),
            ...cert,
          },
        ],
      },
      this.base,
    );
    return { m: new CertificateManager(config, { log, ...opts }), dir };
  }

  gen(dir: string, n: number, file: string): Promise<Buffer> {
    return fse.readFile(path.join(dir, 'generations', `${n}`, file));
  }
}

/**
 * An AcmeEnv for the enclosing mocha suite: started before its tests (the suite is skipped without
 * pebble, except under CI=true, where that fails), stopped after them.
 */
export function withAcmeEnv(opts: PebbleOptions = {}): () => AcmeEnv {
  let env: AcmeEnv | undefined;
  before(async function () {
    if (!pebbleAvailable()) this.skip();
    env = await AcmeEnv.start(opts);
  });
  after(async () => env?.stop());
  return () => env!;
}
