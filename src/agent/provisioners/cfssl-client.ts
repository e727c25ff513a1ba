/**
 * A client for CloudFlare's cfssl CA API: `/api/v1/cfssl/authsign` (the request authenticated with
 * an HMAC-SHA256 of its bytes under a shared key) or `/api/v1/cfssl/sign`, and
 * `/api/v1/cfssl/info` for the CA certificate.
 *
 * What crosses the network is the CSR (public key, identity) and the token: never a private key.
 * HTTPS is verified against a pinned CA bundle only (not the system roots: whoever can get a
 * certificate for the CA's name from a public CA must not be able to issue our identity); plain
 * HTTP is accepted only to a loopback address.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import type { Log } from '../../store/context.js';
import type { Clock } from '../clock.js';

export interface CfsslClientOptions {
  /** http(s)://host:port of `cfssl serve`. */
  url: string;
  /** The shared HMAC key (raw bytes; cfssl's config holds it in hex). Without it, /sign is used. */
  authKey?: Buffer;
  /** PEM bundle the CA server's TLS certificate must chain to (required for https). */
  tlsCa?: Buffer;
  profile?: string;
  label?: string;
  /** Per request. */
  timeoutMs: number;
  /** Tries per call, for network errors, timeouts and 5xx answers. */
  attempts: number;
  /** Delay before the first retry; doubles each time. */
  backoffMs: number;
}

const MAX_ANSWER = 1 << 20;
/** The hosts plain http may go to (the webhook client, src/notify, follows the same rule). */
// URL.hostname keeps an IPv6 address in its brackets: '[::1]', never '::1'.
export const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

interface CfsslAnswer {
  success?: boolean;
  result?: { certificate?: unknown } | null;
  errors?: { code?: number; message?: string }[];
}

class Retryable extends Error {}

/** Checks the URL and transport policy once, when the configuration is read. */
export function checkCfsslUrl(url: string, hasTlsCa: boolean): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CertswapError(ErrorCodes.CONFIG_INVALID, `cfssl url ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol === 'http:' && !LOOPBACK.has(u.hostname)) {
    throw new CertswapError(
      ErrorCodes.CONFIG_INVALID,
      `cfssl url ${url}: plain http is accepted only on loopback; use https with tlsCa`,
    );
  }
  if (u.protocol === 'https:' && !hasTlsCa) {
    throw new CertswapError(
      ErrorCodes.CONFIG_INVALID,
      `cfssl url ${url}: https needs tlsCa, the CA bundle the server's certificate is pinned to`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CertswapError(ErrorCodes.CONFIG_INVALID, `cfssl url ${url}: expected http or https`);
  }
  return u;
}

export class CfsslClient {
  private readonly base: URL;

  constructor(
    private readonly opts: CfsslClientOptions,
    private readonly clock: Clock,
    private readonly log?: Log,
  ) {
    this.base = checkCfsslUrl(opts.url, opts.tlsCa !== undefined);
  }

  /** Asks the CA to sign `csrPem` for `hosts` (the SANs); returns the certificate PEM. */
  async sign(csrPem: string, hosts: string[]): Promise<string> {
    const request = { certificate_request: csrPem, hosts, ...this.policy() };
    if (!this.opts.authKey) return certificateOf(await this.call('sign', request), 'sign');
    // The token is an HMAC of the exact request bytes, which travel base64-encoded beside it.
    const bytes = Buffer.from(JSON.stringify(request));
    const token = createHmac('sha256', this.opts.authKey).update(bytes).digest('base64');
    return certificateOf(await this.call('authsign', { token, request: bytes.toString('base64') }), 'sign');
  }

  /** The CA's certificate (for the profile and label configured). */
  async caCertificate(): Promise<string> {
    return certificateOf(await this.call('info', this.policy()), 'info');
  }

  /** The profile and label that select the CA's signing policy, when configured. */
  private policy(): { profile?: string; label?: string } {
    return {
      ...(this.opts.profile && { profile: this.opts.profile }),
      ...(this.opts.label && { label: this.opts.label }),
    };
  }

  private async call(endpoint: string, body: object): Promise<CfsslAnswer> {
    const url = new URL(`/api/v1/cfssl/${endpoint}`, this.base);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.post(url, JSON.stringify(body));
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        if (attempt >= this.opts.attempts) {
          throw new CertswapError(
            ErrorCodes.CA_UNAVAILABLE,
            `cfssl ${endpoint} at ${this.base.origin}: ${err.message} (${attempt} attempts)`,
          );
        }
        const delay = this.opts.backoffMs * 2 ** (attempt - 1);
        this.log?.warn(
          { event: 'ca-retry', endpoint, attempt, delayMs: delay },
          `cfssl ${endpoint}: ${err.message}; retrying in ${delay} ms`,
        );
        await this.clock.sleep(delay);
      }
    }
  }

  /** One POST. Network errors, timeouts and 5xx raise Retryable; 4xx raises CA_REFUSED. */
  private post(url: URL, body: string): Promise<CfsslAnswer> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.opts.timeoutMs,
          ...(url.protocol === 'https:' && { ca: this.opts.tlsCa, rejectUnauthorized: true }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (d: Buffer) => {
            size += d.length;
            if (size > MAX_ANSWER)
              req.destroy(
                new CertswapError(
                  ErrorCodes.CA_BAD_ANSWER,
                  `cfssl answer from ${url.pathname} is larger than ${MAX_ANSWER} bytes`,
                ),
              );
            else chunks.push(d);
          });
          res.on('error', (err) => reject(new Retryable(err.message)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let answer: CfsslAnswer | undefined;
            try {
              answer = JSON.parse(text) as CfsslAnswer;
            } catch {
              answer = undefined;
            }
            const why =
              answer?.errors
                ?.map((e) => e.message)
                .filter(Boolean)
                .join('; ') ||
              text.slice(0, 200).trim() ||
              'no detail';
            if (status >= 500) return reject(new Retryable(`HTTP ${status}: ${why}`));
            if (status >= 400 || (answer && answer.success === false)) {
              return reject(
                new CertswapError(ErrorCodes.CA_REFUSED, `cfssl refused ${url.pathname} (HTTP ${status}): ${why}`),
              );
            }
            if (!answer)
              return reject(
                new CertswapError(
                  ErrorCodes.CA_BAD_ANSWER,
                  `cfssl answer from ${url.pathname} is not JSON (HTTP ${status})`,
                ),
              );
            resolve(answer);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Retryable(`no answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', (err) => {
        if (err instanceof CertswapError || err instanceof Retryable) return reject(err);
        // A TLS verification failure is not going to fix itself: the server is not the pinned CA.
        const code = errnoCode(err) ?? (err as { code?: string }).code;
        if (code && /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ERR_TLS/.test(code)) {
          return reject(
            new CertswapError(
              ErrorCodes.CA_REFUSED,
              `cfssl server ${url.host} failed TLS verification against tlsCa: ${err.message}`,
            ),
          );
        }
        reject(new Retryable(err.message));
      });
      req.end(body);
    });
  }
}

function certificateOf(answer: CfsslAnswer, endpoint: string): string {
  const cert = answer.result?.certificate;
  if (typeof cert !== 'string' || !cert.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CertswapError(ErrorCodes.CA_BAD_ANSWER, `cfssl ${endpoint} answered without a certificate`);
  }
  return cert.endsWith('\n') ? cert : `${cert}\n`;
}
