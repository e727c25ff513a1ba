/**
 * Answering ACME challenges (RFC 8555 §8.3-8.4, RFC 8737): every responder keeps what it has put
 * up (a listener, a webroot file, a DNS record) and takes all of it down in `close()`, which the
 * order flow calls in a `finally`: a listener is closed, a token file removed and a TXT record
 * cleared on every path, success, failure or timeout.
 *
 * - http-01 standalone: an HTTP server on the configured address and port answering
 *   /.well-known/acme-challenge/<token> with the key authorization, and 404 to anything else.
 * - http-01 webroot (webroot.ts): the key authorization written to
 *   <webroot>/.well-known/acme-challenge/<token> for the web server already there, through
 *   descriptors held from their check on; the directories made for it are removed again.
 * - tls-alpn-01 standalone: a TLS server offering only ALPN "acme-tls/1", answering each name's
 *   SNI with a self-signed certificate carrying the acmeIdentifier extension (made with
 *   acme-client, with a throwaway key that lives in memory only).
 * - dns-01: the configured hook, `set` for each record and `clear` for it afterwards, then a wait
 *   for DNS to propagate.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import type { Log } from '../../store/context.js';
import type { Clock } from '../clock.js';
import { runCommand } from '../exec.js';
import type { AcmeProvisionerConfig, Listen } from './config.js';
import { loadAcme } from './transport.js';
import { Http01Webroot } from './webroot.js';

export interface Challenge {
  /** The identifier being validated: a DNS name or an IP address. */
  name: string;
  token: string;
  /** `token.thumbprint`. */
  keyAuthorization: string;
}

export interface Responder {
  /** Puts the answer to `c` up. */
  present(c: Challenge): Promise<void>;
  /** After every challenge is up, before the server is asked to validate (dns-01: propagation, ended by `signal`). */
  ready(signal?: AbortSignal): Promise<void>;
  /** Takes everything down; never throws (what could not be undone is logged). */
  close(): Promise<void>;
}

/** How long a dns-01 hook may run. */
const DNS_HOOK_TIMEOUT_MS = 60_000;

/** The token as a file name: base64url only (RFC 8555 §8.3), never a path. */
function tokenName(token: string): string {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(token)) {
    throw new CertswapError(ErrorCodes.CA_BAD_ANSWER, `the ACME server sent a malformed challenge token`);
  }
  return token;
}

function listenOn(server: net.Server, l: Listen, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error): void =>
      reject(
        new CertswapError(
          ErrorCodes.PROVISION_FAILED,
          `${what}: cannot listen on ${l.address}:${l.port}: ${errnoCode(err) ?? err.message}`,
          { cause: err },
        ),
      );
    server.once('error', failed);
    server.listen(l.port, l.address, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections would hold close() open.
    (server as http.Server).closeAllConnections?.();
  });
}

/** A listener opened lazily at the first challenge and closed by close(). */
abstract class Standalone implements Responder {
  private server: net.Server | null = null;
  constructor(
    private readonly listen: Listen,
    private readonly what: string,
  ) {}
  protected abstract make(): net.Server;
  protected abstract add(c: Challenge): Promise<void>;
  async present(c: Challenge): Promise<void> {
    await this.add(c);
    if (this.server) return;
    const server = this.make();
    this.server = server;
    await listenOn(server, this.listen, this.what);
  }
  async ready(): Promise<void> {}
  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s?.listening) await closeServer(s);
  }
}

class Http01Standalone extends Standalone {
  private readonly answers = new Map<string, string>();
  constructor(l: Listen) {
    super(l, 'http-01');
  }
  protected make(): net.Server {
    return http.createServer((req, res) => {
      const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
      const answer = m ? this.answers.get(m[1]!) : undefined;
      if (req.method !== 'GET' || answer === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(answer);
    });
  }
  protected async add(c: Challenge): Promise<void> {
    this.answers.set(tokenName(c.token), c.keyAuthorization);
  }
}

class TlsAlpn01Standalone extends Standalone {
  private readonly contexts = new Map<string, tls.SecureContext>();
  private last: tls.SecureContext | null = null;
  constructor(l: Listen) {
    super(l, 'tls-alpn-01');
  }
  protected make(): net.Server {
    return tls.createServer({
      ALPNProtocols: ['acme-tls/1'],
      SNICallback: (name, cb) => cb(null, this.contexts.get(name.toLowerCase()) ?? this.last ?? undefined),
    });
  }
  protected async add(c: Challenge): Promise<void> {
    const { crypto } = await loadAcme();
    // A throwaway key for the validation certificate only; it never leaves this process.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const [, cert] = await crypto.createAlpnCertificate(
      { identifier: { type: 'dns', value: c.name } } as never,
      c.keyAuthorization,
      keyPem,
    );
    const ctx = tls.createSecureContext({ key: keyPem, cert });
    this.contexts.set(sniName(c.name), ctx);
    this.last = ctx;
  }
}

/** The SNI a validator sends for an identifier: the name, or for an IP its reverse name (RFC 8738 §6). */
function sniName(name: string): string {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(name);
  if (v4) return `${v4.slice(1).reverse().join('.')}.in-addr.arpa`;
  return name.toLowerCase();
}

class Dns01Hook implements Responder {
  private readonly records: Array<{ name: string; value: string }> = [];
  constructor(
    private readonly hook: string[],
    private readonly waitMs: number,
    private readonly clock: Clock,
    private readonly log?: Log,
  ) {}
  private async run(action: 'set' | 'clear', name: string, value: string): Promise<void> {
    const argv = this.hook.map((a) =>
      a.replaceAll('{action}', action).replaceAll('{name}', name).replaceAll('{value}', value),
    );
    const r = await runCommand(argv, { timeoutMs: DNS_HOOK_TIMEOUT_MS });
    if (r.code !== 0) {
      const how = r.timedOut ? `timed out after ${DNS_HOOK_TIMEOUT_MS} ms` : `exited ${r.code ?? r.signal}`;
      throw new CertswapError(
        ErrorCodes.PROVISION_FAILED,
        `dns-01 hook ${action} ${name} ${how}${r.stderr ? `: ${r.stderr.trim()}` : ''}`,
      );
    }
  }
  async present(c: Challenge): Promise<void> {
    const name = `_acme-challenge.${c.name.replace(/^\*\./, '')}`;
    const value = createHash('sha256').update(c.keyAuthorization).digest('base64url');
    // Recorded first: a hook that failed half way may have set it, and clearing is harmless.
    this.records.push({ name, value });
    await this.run('set', name, value);
  }
  async ready(signal?: AbortSignal): Promise<void> {
    if (this.records.length && this.waitMs > 0) await this.clock.sleep(this.waitMs, signal);
  }
  async close(): Promise<void> {
    for (const r of this.records.splice(0)) {
      await this.run('clear', r.name, r.value).catch((err: Error) =>
        this.log?.warn({ event: 'acme-dns-clear-failed', name: r.name }, err.message),
      );
    }
  }
}

/** The responder for the configured challenge type. */
export function responderFor(p: AcmeProvisionerConfig, clock: Clock, log?: Log): Responder {
  switch (p.challenge) {
    case 'http-01':
      return 'webroot' in p.http ? new Http01Webroot(p.http.webroot, tokenName) : new Http01Standalone(p.http);
    case 'tls-alpn-01':
      return new TlsAlpn01Standalone(p.tlsAlpn);
    case 'dns-01':
      return new Dns01Hook(p.dns!.hook, p.dns!.waitMs, clock, log);
  }
}
