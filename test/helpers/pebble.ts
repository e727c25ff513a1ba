/**
 * A real ACME server for the tests: Debian's `pebble` (Let's Encrypt's test CA, RFC 8555) with
 * `pebble-challtestsrv` as the DNS server pebble resolves every name against.
 *
 * - challtestsrv answers every A query with 127.0.0.1 (and AAAA with nothing), so pebble's
 *   validation of http-01 and tls-alpn-01 reaches the test's listener on 127.0.0.1 at the ports
 *   given as `httpPort` and `tlsPort`; dns-01 TXT records are set and cleared through its
 *   management API (`setTxt`, `clearTxt`, or a hook posting to `challtestsrvUrl`).
 * - pebble serves its ACME API and its management API (roots, certificate status) over TLS with a
 *   certificate made here by a throwaway CA (`tlsCaFile`), on free loopback ports.
 * - Every server is started by this process and stopped by its pid, on every path: `stop()` in an
 *   `after`/`finally`; pebble alone can be stopped and started again (`stopPebble`/`startPebble`)
 *   to play a CA outage. Pebble keeps nothing across a restart: accounts, orders and its issuing
 *   CA are new each time.
 *
 * Environment knobs: PEBBLE_VA_NOSLEEP=1 always (no artificial validation delay), and by default
 * PEBBLE_WFE_NONCEREJECT=0 and PEBBLE_AUTHZREUSE=0, so that a test sees badNonce and reused
 * authorizations only when it asks for them (`nonceReject`, `env`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fse from 'fs-extra';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import { freePort, stopProcess, until, which } from './proc.js';
import { runTempDir } from './tmp.js';

export interface PebbleOptions {
  /** The port pebble's validation connects to for http-01 on 127.0.0.1 (the test's listener). */
  httpPort?: number;
  /** The port pebble's validation connects to for tls-alpn-01 on 127.0.0.1. */
  tlsPort?: number;
  /** External account binding required, with these keys: kid -> base64url HMAC key. */
  eab?: Record<string, string>;
  /** PEBBLE_WFE_NONCEREJECT: the percentage of good nonces refused with badNonce (default 0). */
  nonceReject?: number;
  /** More environment for pebble (PEBBLE_AUTHZREUSE, PEBBLE_CHAIN_LENGTH...). */
  env?: Record<string, string>;
}

/** Whether pebble and challtestsrv are installed; under CI=true a missing one is a failure. */
export function pebbleAvailable(): boolean {
  const ok = which('pebble') !== null && which('pebble-challtestsrv') !== null;
  if (!ok && process.env.CI === 'true') throw new Error('CI=true but pebble or pebble-challtestsrv is not installed');
  return ok;
}

/** Kills `proc` by its pid (SIGKILL if SIGTERM is not enough) and waits for it to be gone. */
const kill = (proc: ChildProcess | null): Promise<void> => stopProcess(proc);

/** A throwaway CA and a certificate for 127.0.0.1 and localhost that pebble serves its APIs with. */
function makeTlsCertificate(dir: string): void {
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'tls-ca.key',
    '-out',
    'tls-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=pebble test TLS CA',
  ]);
  run(['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1']);
  fse.writeFileSync(
    path.join(dir, 'tls.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' +
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n',
  );
  run([
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'tls-ca.pem',
    '-CAkey',
    'tls-ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'tls.ext',
    '-out',
    'tls.pem',
  ]);
}

export class Pebble {
  readonly dir: string;
  /** The PEM file pebble's TLS certificate chains to: the provisioner's `directoryCa`. */
  readonly tlsCaFile: string;
  readonly tlsCa: Buffer;
  private pebble: ChildProcess | null = null;
  private challtestsrv: ChildProcess | null = null;
  /** What pebble printed since its last start. */
  log = '';
  private constructor(
    dir: string,
    readonly port: number,
    readonly managementPort: number,
    readonly dnsPort: number,
    readonly challtestsrvPort: number,
    readonly opts: PebbleOptions,
  ) {
    this.dir = dir;
    this.tlsCaFile = path.join(dir, 'tls-ca.pem');
    this.tlsCa = fse.readFileSync(this.tlsCaFile);
  }

  /** Starts challtestsrv and pebble on free loopback ports; stop() them in a `finally`. */
  static async start(opts: PebbleOptions = {}): Promise<Pebble> {
    const dir = await runTempDir('certswap-pebble-');
    makeTlsCertificate(dir);
    const p = new Pebble(dir, await freePort(), await freePort(), await freePort(), await freePort(), opts);
    try {
      await p.startChalltestsrv();
      await p.startPebble();
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  /** The ACME directory URL. */
  get directory(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  /** challtestsrv's management API (POST /set-txt, /clear-txt). */
  get challtestsrvUrl(): string {
    return `http://127.0.0.1:${this.challtestsrvPort}`;
  }

  private async startChalltestsrv(): Promise<void> {
    const proc = spawn(
      'pebble-challtestsrv',
      [
        '-dns01',
        `127.0.0.1:${this.dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${this.challtestsrvPort}`,
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.challtestsrv = proc;
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await until(
      'challtestsrv to listen',
      async () => {
        if (proc.exitCode !== null) throw new Error(`pebble-challtestsrv exited: ${out}`);
        return (await this.challtestsrvPost('/clear-txt', { host: 'probe.invalid.' }).catch(() => 0)) === 200;
      },
      20_000,
    );
  }

  /** Starts pebble (again, after stopPebble): a new CA, no accounts, no orders. */
  async startPebble(): Promise<void> {
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${this.port}`,
        managementListenAddress: `127.0.0.1:${this.managementPort}`,
        certificate: path.join(this.dir, 'tls.pem'),
        privateKey: path.join(this.dir, 'tls.key'),
        httpPort: this.opts.httpPort ?? 5002,
        tlsPort: this.opts.tlsPort ?? 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: this.opts.eab !== undefined,
        externalAccountMACKeys: this.opts.eab ?? {},
      },
    };
    const file = path.join(this.dir, 'pebble-config.json');
    await fse.writeFile(file, JSON.stringify(config, null, 2));
    this.log = '';
    const proc = spawn('pebble', ['-config', file, '-dnsserver', `127.0.0.1:${this.dnsPort}`], {
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: String(this.opts.nonceReject ?? 0),
        PEBBLE_AUTHZREUSE: '0',
        ...this.opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pebble = proc;
    proc.stdout!.on('data', (d) => (this.log += d));
    proc.stderr!.on('data', (d) => (this.log += d));
    await until(
      'pebble to listen',
      async () => {
        if (proc.exitCode !== null) throw new Error(`pebble exited: ${this.log}`);
        return (await this.get(this.directory).catch(() => null)) !== null;
      },
      20_000,
    );
  }

  /** Stops pebble alone (challtestsrv stays): a CA outage. */
  async stopPebble(): Promise<void> {
    const proc = this.pebble;
    this.pebble = null;
    await kill(proc);
  }

  /** Stops both servers, by pid; safe to call more than once. */
  async stop(): Promise<void> {
    const [a, b] = [this.pebble, this.challtestsrv];
    this.pebble = null;
    this.challtestsrv = null;
    await Promise.all([kill(a), kill(b)]);
  }

  /** GET over pebble's TLS (ACME or management API); rejects on a status other than 200. */
  get(url: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = https.get(url, { ca: this.tlsCa, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${url}: ${res.statusCode}`)),
        );
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
      req.on('error', reject);
    });
  }

  /** The root of the CA pebble issues from now (new at each start). */
  async root(): Promise<Buffer> {
    return this.get(`https://127.0.0.1:${this.managementPort}/roots/0`);
  }

  /** The intermediate pebble issues leaves with now. */
  async intermediate(): Promise<Buffer> {
    return this.get(`https://127.0.0.1:${this.managementPort}/intermediates/0`);
  }

  /** Pebble's record of a certificate: { Status: 'Valid' | 'Revoked', Reason?, ... }. */
  async certStatus(serialHex: string): Promise<{ Status: string; Reason?: number }> {
    const serial = serialHex.toLowerCase().replace(/^0+/, '');
    return JSON.parse(
      (await this.get(`https://127.0.0.1:${this.managementPort}/cert-status-by-serial/${serial}`)).toString(),
    );
  }

  private challtestsrvPost(route: string, body: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.challtestsrvUrl}${route}`, { method: 'POST', timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error(`POST ${route}: timed out`)));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  /** Sets a TXT record ("_acme-challenge.example.test."; the trailing dot is added if missing). */
  async setTxt(host: string, value: string): Promise<void> {
    const status = await this.challtestsrvPost('/set-txt', { host: host.endsWith('.') ? host : `${host}.`, value });
    if (status !== 200) throw new Error(`set-txt: ${status}`);
  }

  async clearTxt(host: string): Promise<void> {
    const status = await this.challtestsrvPost('/clear-txt', { host: host.endsWith('.') ? host : `${host}.` });
    if (status !== 200) throw new Error(`clear-txt: ${status}`);
  }

  /**
   * A dns-01 hook for the provisioner's `dns.hook`: a shell script (in the suite's directory)
   * that sets or clears the TXT record through challtestsrv's management API, and appends each
   * call to `calls.log` beside it (so a test can check the record was cleared).
   */
  async dnsHook(): Promise<{ argv: string[]; calls: string }> {
    const script = path.join(this.dir, 'dns-hook.sh');
    const calls = path.join(this.dir, 'dns-calls.log');
    await fse.writeFile(
      script,
      [
        '#!/bin/sh',
        '# $1 = set|clear, $2 = the record name, $3 = its value',
        'set -e',
        `echo "$1 $2" >> '${calls}'`,
        'case "$1" in',
        `  set) body="{\\"host\\":\\"$2.\\",\\"value\\":\\"$3\\"}"; route=set-txt ;;`,
        `  clear) body="{\\"host\\":\\"$2.\\"}"; route=clear-txt ;;`,
        '  *) exit 2 ;;',
        'esac',
        `exec '${process.execPath}' -e 'fetch(process.argv[1], {method: "POST", body: process.argv[2]})` +
          `.then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "${this.challtestsrvUrl}/$route" "$body"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    return { argv: [script, '{action}', '{name}', '{value}'], calls };
  }
}
