/**
 * A real CloudFlare cfssl CA server (Debian's golang-cfssl) for the enrolment suite and the fleet
 * benchmark's real run: a CA made with `cfssl gencert -initca`, a signing config, and `cfssl
 * serve` on 127.0.0.1, stopped by its process id.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { stopProcess, until } from './proc.js';

/** `cfssl serve` on 127.0.0.1:port with the CA and config.json in `dir`. */
export class CfsslServer {
  proc: ChildProcess | null = null;
  log = '';
  constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    this.log = '';
    const file = (name: string): string => path.join(this.dir, name);
    const args = ['serve', '-address', '127.0.0.1', '-port', `${this.port}`];
    args.push('-ca', file('ca.pem'), '-ca-key', file('ca-key.pem'), '-config', file('config.json'));
    this.proc = spawn(this.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // cfssl logs every request at info level: keep only the tail, a long run would fill memory.
    this.proc.stderr!.on('data', (d) => (this.log = (this.log + d).slice(-20_000)));
    const proc = this.proc;
    await until('cfssl serve to listen', () => {
      if (proc.exitCode !== null) throw new Error(`cfssl serve exited: ${this.log}`);
      return /Now listening/.test(this.log);
    });
  }

  /** Stops the server by its process id (SIGKILL if SIGTERM is not enough) and waits for it. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    await stopProcess(proc);
  }
}

export interface CfsslCa {
  /** The CA certificate (PEM). */
  cert: string;
  /** The HMAC key of the `fleet` auth key, hex, as cfssl's config and certswap's authKeyFile hold it. */
  authKey: string;
}

/**
 * Makes a P-256 CA in `dir` (ca.pem, ca-key.pem 0600) and writes config.json with `signing` (its
 * profiles may name the auth key `fleet`, whose key is returned).
 */
export async function makeCfsslCa(bin: string, dir: string, signing: object): Promise<CfsslCa> {
  const init = spawnSync(bin, ['gencert', '-initca', '-'], {
    input: JSON.stringify({ CN: 'certswap test fleet CA', key: { algo: 'ecdsa', size: 256 } }),
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`cfssl gencert -initca failed: ${init.stderr}`);
  const made = JSON.parse(init.stdout) as { cert: string; key: string };
  await fs.writeFile(path.join(dir, 'ca.pem'), made.cert);
  await fs.writeFile(path.join(dir, 'ca-key.pem'), made.key, { mode: 0o600 });
  const authKey = randomBytes(16).toString('hex');
  const config = { signing, auth_keys: { fleet: { type: 'standard', key: authKey } } };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return { cert: made.cert, authKey };
}

/**
 * Forwards the agent's requests to cfssl and records their bodies. With `replaceCertificate` set,
 * a signing answer's certificate is swapped for that one. While the CA is down, connections are
 * cut, as a network failure would.
 */
export class RecordingProxy {
  readonly bodies: string[] = [];
  /** When each body arrived (ms since the epoch), in the same order. */
  readonly times: number[] = [];
  replaceCertificate: string | null = null;
  server!: http.Server;
  port = 0;

  constructor(readonly upstream: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.bodies.push(body.toString('utf8'));
        this.times.push(Date.now());
        const up = http.request(
          { host: '127.0.0.1', port: this.upstream, path: req.url, method: req.method, headers: req.headers },
          (ur) => {
            const parts: Buffer[] = [];
            ur.on('data', (d: Buffer) => parts.push(d));
            ur.on('end', () => {
              let text = Buffer.concat(parts).toString('utf8');
              if (this.replaceCertificate && /sign$/.test(req.url ?? '')) {
                const a = JSON.parse(text) as { result: { certificate: string } };
                a.result.certificate = this.replaceCertificate;
                text = JSON.stringify(a);
              }
              res.writeHead(ur.statusCode!, { 'content-type': 'application/json' });
              res.end(text);
            });
          },
        );
        up.on('error', () => res.socket?.destroy());
        up.end(body);
      });
    });
    this.server.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
