/**
 * A small HTTPS proxy in front of the real pebble, for what pebble 2.4 lacks or what a test must
 * see. Everything is passed through unchanged (the Host header too, so pebble's own URLs in its
 * answers name the proxy and the client keeps talking through it), except:
 *
 * - ARI (RFC 9773): pebble 2.4 has no renewalInfo. With `ariDirectory` set, the proxy adds
 *   `renewalInfo` to the directory and answers GET renewalInfo/<certID> itself with the window and
 *   Retry-After the test chose in `ari` (404 while it chose none), recording each certID asked. With `rejectReplaces`, an order naming the
 *   certificate it `replaces` is refused (400 malformed), as a server that does not accept the
 *   field would; pebble itself ignores the unknown field.
 * - `profiles` adds profiles to the directory's meta (pebble 2.4 has none, and ignores the
 *   `profile` field of an order); `holdAuthorizations` shows every authorization as still pending
 *   with a Retry-After, as a slow CA would, to see the polls wait as asked and give up in time.
 *   `authorizationFor` shows every authorization as one for another name, as a hostile CA would.
 * - Every request body is recorded (the JWS payloads decoded), for the search for private keys.
 * - `onRequest` sees each signed request's path and decoded payload before it is forwarded (a
 *   test stops pebble at the moment it chooses).
 */
import fse from 'fs-extra';
import https from 'node:https';
import path from 'node:path';
import type { Pebble } from './pebble.js';
import { closeServer, listenLoopback } from './servers.js';

export interface AriAnswer {
  start: Date;
  end: Date;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
}

export class AcmeProxy {
  /** Raw request bodies and decoded JWS payloads, in order. */
  readonly bodies: string[] = [];
  /** The newOrder payloads seen (decoded). */
  readonly orders: Array<Record<string, unknown>> = [];
  /** The certIDs renewalInfo was asked for. */
  readonly ariAsked: string[] = [];
  /** Whether the directory offers renewalInfo. */
  ariDirectory = false;
  /** The answer to renewalInfo; 404 while null. */
  ari: AriAnswer | null = null;
  rejectReplaces = false;
  /** Answers the next request whose path starts with `path` with this problem instead of pebble. */
  problemOnce: { path: string; status: number; type: string; retryAfter?: number } | null = null;
  /** Profiles added to the directory's meta (pebble 2.4 has none); the newOrder payloads show what is sent. */
  profiles: Record<string, string> | null = null;
  /** With a number: every authorization pebble returns is shown as still pending, with that Retry-After (s). */
  holdAuthorizations: number | null = null;
  /** Authorization answers rewritten to pending. */
  held = 0;
  /** With a name: every authorization pebble returns is shown as one for that name (a hostile CA). */
  authorizationFor: string | null = null;
  /** badNonce answers pebble gave (PEBBLE_WFE_NONCEREJECT). */
  badNonces = 0;
  onRequest: ((path: string, payload: Record<string, unknown> | null) => Promise<void> | void) | null = null;
  private server!: https.Server;
  port = 0;

  constructor(readonly pebble: Pebble) {}

  get directory(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  async start(): Promise<void> {
    const dir = this.pebble.dir;
    this.server = https.createServer(
      { cert: await fse.readFile(path.join(dir, 'tls.pem')), key: await fse.readFile(path.join(dir, 'tls.key')) },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => {
          void this.handle(req, res, Buffer.concat(chunks)).catch(() => res.socket?.destroy());
        });
      },
    );
    this.port = await listenLoopback(this.server);
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(
    req: import('node:http').IncomingMessage,
    res: import('node:http').ServerResponse,
    body: Buffer,
  ) {
    const url = req.url ?? '/';
    let payload: Record<string, unknown> | null = null;
    if (body.length) {
      this.bodies.push(body.toString('utf8'));
      try {
        const jws = JSON.parse(body.toString('utf8')) as { payload?: string };
        if (jws.payload) {
          const text = Buffer.from(jws.payload, 'base64url').toString('utf8');
          this.bodies.push(text);
          payload = JSON.parse(text) as Record<string, unknown>;
        }
      } catch {
        // Not a JWS: recorded as it is.
      }
    }
    if (this.ariDirectory && url.startsWith('/renewal-info/') && req.method === 'GET') {
      this.ariAsked.push(url.slice('/renewal-info/'.length));
      if (!this.ari) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        ...(this.ari.retryAfter !== undefined && { 'retry-after': String(this.ari.retryAfter) }),
      });
      res.end(
        JSON.stringify({ suggestedWindow: { start: this.ari.start.toISOString(), end: this.ari.end.toISOString() } }),
      );
      return;
    }
    if (url.includes('order-plz') || url.includes('new-order')) {
      if (payload) this.orders.push(payload);
      if (this.rejectReplaces && payload && 'replaces' in payload) {
        res.writeHead(400, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'replaces is not supported' }));
        return;
      }
    }
    const p = this.problemOnce;
    if (p && url.startsWith(p.path)) {
      this.problemOnce = null;
      res.writeHead(p.status, {
        'content-type': 'application/problem+json',
        ...(p.retryAfter !== undefined && { 'retry-after': String(p.retryAfter) }),
      });
      res.end(JSON.stringify({ type: `urn:ietf:params:acme:error:${p.type}`, detail: `${p.type} (test proxy)` }));
      return;
    }
    await this.onRequest?.(url, payload);
    const up = https.request(
      {
        host: '127.0.0.1',
        port: this.pebble.port,
        path: url,
        method: req.method,
        headers: req.headers,
        ca: this.pebble.tlsCa,
      },
      (ur) => {
        const parts: Buffer[] = [];
        ur.on('data', (d: Buffer) => parts.push(d));
        ur.on('end', () => {
          let out = Buffer.concat(parts);
          if (ur.statusCode === 400 && out.includes('badNonce')) this.badNonces++;
          if ((this.ariDirectory || this.profiles) && url === '/dir') {
            const d = JSON.parse(out.toString('utf8')) as Record<string, Record<string, unknown> | string>;
            if (this.ariDirectory) d.renewalInfo = `https://127.0.0.1:${this.port}/renewal-info`;
            if (this.profiles) d.meta = { ...(d.meta as Record<string, unknown>), profiles: this.profiles };
            out = Buffer.from(JSON.stringify(d));
          }
          const headers = { ...ur.headers };
          if (this.holdAuthorizations !== null && url.startsWith('/authZ/') && ur.statusCode === 200) {
            const a = JSON.parse(out.toString('utf8')) as { status: string; challenges: Array<{ status: string }> };
            a.status = 'pending';
            for (const c of a.challenges) c.status = 'pending';
            out = Buffer.from(JSON.stringify(a));
            headers['retry-after'] = String(this.holdAuthorizations);
            this.held++;
          }
          if (this.authorizationFor !== null && url.startsWith('/authZ/') && ur.statusCode === 200) {
            const a = JSON.parse(out.toString('utf8')) as { identifier: { value: string } };
            a.identifier.value = this.authorizationFor;
            out = Buffer.from(JSON.stringify(a));
          }
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          res.writeHead(ur.statusCode!, headers);
          res.end(out);
        });
      },
    );
    up.on('error', () => res.socket?.destroy());
    up.end(body);
  }
}
