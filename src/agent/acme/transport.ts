/**
 * The ACME transport: acme-client (JWS signing with the account key, nonces with the badNonce
 * retry of RFC 8555 §6.5, external account binding) under the rules certswap needs, which it
 * does not have by itself:
 *
 * - every request is bounded in time, connect to last byte (acme-client sets no timeout), and in
 *   size;
 * - no hidden waits: acme-client's own retry of network errors, 5xx and 429 (up to five tries,
 *   sleeping as long as a Retry-After says, inside one request) is turned off per request. A CA
 *   that is down is CERTSWAP_CA_UNAVAILABLE at once and the agent's backoff retries, with herd
 *   control; rateLimited is CERTSWAP_ACME_RATE_LIMITED with its Retry-After, which the agent
 *   honours (problem.ts);
 * - the server's TLS certificate is verified against `directoryCa` when given, else the system
 *   roots, and a failed verification is CERTSWAP_CA_REFUSED (it will not fix itself);
 * - answers come back whole (status, headers, problem document), so that the order flow can read
 *   Retry-After and problem types, and send fields acme-client does not know (`replaces`,
 *   `profile`).
 *
 * acme-client is loaded here, lazily: only an enrolment pays for it.
 */
import https from 'node:https';
import { createRequire } from 'node:module';
import { CertswapError, ErrorCodes, errnoCode } from '../../errors.js';
import type { AcmeResponse } from './problem.js';

/** Per request: connect, send, answer. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** The largest answer read (a certificate chain is a few KiB). */
const MAX_ANSWER = 1 << 20;
/**
 * badNonce retries per request. A server may refuse any nonce (pebble refuses a set share of
 * them, PEBBLE_WFE_NONCEREJECT); at half refused, 16 retries fail one request in 130 000.
 */
const BAD_NONCE_RETRIES = 16;

export interface Directory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert: string;
  renewalInfo?: string;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean; profiles?: Record<string, unknown> };
}

export interface TransportOptions {
  directory: string;
  /** PEM the server's TLS certificate must chain to; the system roots when absent. */
  directoryCa?: Buffer;
  /** The PEM key that signs requests (the account key, or a certificate's key to revoke); none for GETs. */
  signingKey?: Buffer;
  eab?: { kid: string; hmacKey: string };
  timeoutMs?: number;
}

type AcmeModule = typeof import('acme-client');
let acme: Promise<AcmeModule> | undefined;
/** acme-client, loaded on first use. */
export function loadAcme(): Promise<AcmeModule> {
  acme ??= import('acme-client').then((m) => ((m as { default?: AcmeModule }).default ?? m) as AcmeModule);
  return acme;
}

type Adapter = (config: unknown) => Promise<unknown>;
let adapter: Adapter | undefined;
/** axios's own http adapter, from the axios acme-client uses. */
function httpAdapter(): Adapter {
  const fromAcme = createRequire(createRequire(import.meta.url).resolve('acme-client'));
  adapter ??= (fromAcme('axios') as { getAdapter(name: string): Adapter }).getAdapter('http');
  return adapter;
}

/** The internals of acme-client's client this module drives (public in its source, untyped). */
interface HttpClientInternals {
  maxBadNonceRetries: number;
  request(url: string, method: string, opts?: Record<string, unknown>): Promise<AcmeResponse>;
  getDirectory(): Promise<Directory>;
  signedRequest(
    url: string,
    payload: unknown,
    opts: { kid?: string | null; includeExternalAccountBinding?: boolean },
  ): Promise<AcmeResponse>;
}

/** An error of the network or of TLS as a typed one (TLS verification: refused; the rest: unavailable). */
function transportError(err: unknown, url: string): CertswapError {
  if (err instanceof CertswapError) return err;
  const code = errnoCode(err) ?? (err as { code?: string }).code ?? '';
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? '';
  const message = (err as Error).message;
  const host = new URL(url).host;
  if (/CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ERR_TLS/.test(`${code} ${cause}`)) {
    return new CertswapError(
      ErrorCodes.CA_REFUSED,
      `ACME server ${host} failed TLS verification${code ? ` (${code})` : ''}: ${message}`,
    );
  }
  return new CertswapError(ErrorCodes.CA_UNAVAILABLE, `ACME server ${host}: ${code || message}`);
}

export class AcmeTransport {
  /** The account URL once known: requests are then signed with it as `kid` instead of the `jwk`. */
  accountUrl: string | null = null;

  private constructor(
    private readonly http: HttpClientInternals,
    readonly thumbprint: string,
  ) {}

  static async create(o: TransportOptions): Promise<AcmeTransport> {
    const lib = await loadAcme();
    const client = new lib.Client({
      directoryUrl: o.directory,
      accountKey: o.signingKey ?? Buffer.alloc(0),
      ...(o.eab && { externalAccountBinding: { kid: o.eab.kid, hmacKey: o.eab.hmacKey } }),
    });
    const http = (client as unknown as { http: HttpClientInternals }).http;
    http.maxBadNonceRetries = BAD_NONCE_RETRIES;
    const agent = new https.Agent({ ...(o.directoryCa && { ca: o.directoryCa }), keepAlive: false });
    const timeout = o.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const send = http.request.bind(http);
    const scheme = new URL(o.directory).protocol;
    http.request = async (url, method, opts = {}) => {
      // Every URL comes from the server (orders, authorizations, the certificate): an https
      // directory must not lead to a plain http request, which anyone on the path could answer
      // (with a chain of their own around our public key).
      if (new URL(url).protocol !== scheme) {
        throw new CertswapError(
          ErrorCodes.CA_BAD_ANSWER,
          `the ACME server sent a URL that is not ${scheme.slice(0, -1)}: ${new URL(url).origin}`,
        );
      }
      // acme-client's response interceptor turns a request that got no answer (refused, reset,
      // timed out, TLS verification failed) into a TypeError of its own once it stops retrying;
      // the adapter sees the real error first, and keeps it.
      let failure: unknown;
      const recording: Adapter = (config) =>
        httpAdapter()(config).catch((err: unknown) => {
          failure = err;
          throw err;
        });
      // axios's `timeout` is the socket's idle time once the answer has begun: a server that sends
      // a byte now and then (a slow-loris CA) would hold the agent for as long as it likes. The
      // deadline bounds the whole request, connect to last byte.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), timeout);
      try {
        return await send(url, method, {
          ...opts,
          adapter: recording,
          httpsAgent: agent,
          timeout,
          signal: deadline.signal,
          maxContentLength: MAX_ANSWER,
          maxRedirects: 0,
          // acme-client's retry counter, already past its limit: no retry inside a request.
          retryAttempt: Number.MAX_SAFE_INTEGER,
        });
      } catch (err) {
        if (deadline.signal.aborted) {
          throw new CertswapError(
            ErrorCodes.CA_UNAVAILABLE,
            `ACME server ${new URL(url).host}: no complete answer within ${timeout} ms (timed out)`,
          );
        }
        throw transportError(failure ?? err, url);
      } finally {
        clearTimeout(timer);
      }
    };
    // The key authorization's thumbprint (RFC 8555 §8.1), as acme-client computes it.
    const keyAuth = o.signingKey
      ? await client.getChallengeKeyAuthorization({ type: 'http-01', token: '' } as never)
      : '.';
    return new AcmeTransport(http, keyAuth.slice(1));
  }

  /** The directory (fetched once per transport). Raises CA_UNAVAILABLE, CA_REFUSED, CA_BAD_ANSWER. */
  async directory(): Promise<Directory> {
    let dir: Directory;
    try {
      dir = await this.http.getDirectory();
    } catch (err) {
      if (err instanceof CertswapError) throw err;
      // acme-client's words for an HTTP error status: a 4xx is a wrong URL, not an outage.
      const status = Number(/returned error (\d{3})/.exec((err as Error).message)?.[1] ?? 0);
      const code = status >= 400 && status < 500 ? ErrorCodes.CA_REFUSED : ErrorCodes.CA_UNAVAILABLE;
      throw new CertswapError(code, `ACME directory: ${(err as Error).message}`);
    }
    for (const k of ['newNonce', 'newAccount', 'newOrder', 'revokeCert'] as const) {
      if (typeof dir?.[k] !== 'string') {
        throw new CertswapError(ErrorCodes.CA_BAD_ANSWER, `the ACME directory has no ${k} URL`);
      }
    }
    return dir;
  }

  /**
   * A signed POST (a POST-as-GET when `payload` is null). Signed with the account URL as `kid`
   * once known, else with the key's `jwk` (newAccount, and a revocation signed by a
   * certificate's own key). The answer is returned whatever its status.
   */
  async post(url: string, payload: unknown, opts: { jwk?: boolean; eab?: boolean } = {}): Promise<AcmeResponse> {
    const kid = opts.jwk ? null : this.accountUrl;
    try {
      const resp = await this.http.signedRequest(url, payload, { kid, includeExternalAccountBinding: opts.eab });
      return { status: resp.status, headers: resp.headers ?? {}, data: resp.data };
    } catch (err) {
      throw transportError(err, url);
    }
  }

  /** A plain GET (renewalInfo, RFC 9773 §4.2: not signed). */
  async get(url: string): Promise<AcmeResponse> {
    const resp = await this.http.request(url, 'get');
    return { status: resp.status, headers: resp.headers ?? {}, data: resp.data };
  }
}
