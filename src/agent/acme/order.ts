/**
 * One ACME order, from newOrder to the certificate chain (RFC 8555 §7.4), every wait bounded:
 *
 *   1. newOrder for the identifiers (DNS names, and IP addresses per RFC 8738), with `profile`
 *      when the directory lists it, and `replaces` (RFC 9773 §5) when renewing a certificate the
 *      CA's renewalInfo knows. A server that refuses the order with `replaces` in it is asked
 *      again without it: the renewal matters more than the hint.
 *   2. Each pending authorization's challenge of the configured type is put up by the responder,
 *      then all are answered, and each authorization is polled until valid or invalid. Whatever
 *      happens, the responder takes everything down afterwards (`finally`). An invalid one is
 *      CERTSWAP_ACME_CHALLENGE_FAILED with the server's problem detail.
 *   3. The order is polled until ready, then finalized with the CSR, then polled until valid.
 *   4. The certificate chain is downloaded (PEM, leaf first).
 *
 * Polls wait as the server's Retry-After says (within the poll's bound), else 0.5 s doubling to
 * 5 s; a poll that is not done within POLL_LIMIT_MS is CERTSWAP_CA_UNAVAILABLE (the agent retries).
 * When the agent stops (`signal`), every wait ends and the order fails (CERTSWAP_PROVISION_FAILED)
 * at once, the responder taking everything down: a stop timeout's SIGKILL would leave it up.
 */
import { CertswapError, ErrorCodes } from '../../errors.js';
import { isIpAddress } from '../../pki/keys.js';
import type { Log } from '../../store/context.js';
import type { Clock } from '../clock.js';
import type { Responder } from './challenges.js';
import type { ChallengeType } from './config.js';
import { answerError, type AcmeResponse, problemOf, retryAfter } from './problem.js';
import type { AcmeTransport, Directory } from './transport.js';

/** The longest one poll (an authorization, an order) may take. */
export const POLL_LIMIT_MS = 3 * 60_000;
const POLL_FIRST_MS = 500;
const POLL_MAX_MS = 5_000;

export interface OrderOptions {
  t: AcmeTransport;
  dir: Directory;
  names: string[];
  challenge: ChallengeType;
  responder: Responder;
  /** The CSR, DER. */
  csr: Buffer;
  profile?: string;
  /** The ARI certificate identifier of the certificate this order replaces. */
  replaces?: string;
  clock: Clock;
  log?: Log;
  /** Aborted when the agent stops: every wait ends, the responder takes everything down. */
  signal?: AbortSignal;
}

interface Order {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
}

interface Authorization {
  status: string;
  identifier: { type: string; value: string };
  wildcard?: boolean;
  challenges: Array<{ type: string; url: string; token: string; status: string; error?: unknown }>;
}

function problemText(p: unknown): string {
  const { type, detail } = problemOf(p);
  return detail ? `${type}: ${detail}` : type;
}

/** Raises CERTSWAP_PROVISION_FAILED once the agent is stopping (`o.signal` aborted). */
export function checkStopping(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CertswapError(ErrorCodes.PROVISION_FAILED, `${what}: the agent is stopping`);
}

function expect200(r: AcmeResponse, what: string, now: Date): void {
  if (r.status !== 200) throw answerError(r, what, now);
}

/** POST-as-GET `url` until `done` says so, waiting as the server asks (see the module comment). */
async function poll<T extends { status: string }>(
  o: OrderOptions,
  url: string,
  what: string,
  done: (x: T) => boolean,
): Promise<T> {
  const end = o.clock.now().getTime() + POLL_LIMIT_MS;
  let delay = POLL_FIRST_MS;
  for (;;) {
    checkStopping(o.signal, what);
    const r = await o.t.post(url, null);
    expect200(r, what, o.clock.now());
    const x = r.data as T;
    if (done(x)) return x;
    const now = o.clock.now();
    const asked = retryAfter(r.headers, now);
    const wait = asked ? Math.max(asked.getTime() - now.getTime(), 100) : delay;
    delay = Math.min(delay * 2, POLL_MAX_MS);
    if (now.getTime() + wait > end) {
      throw new CertswapError(
        ErrorCodes.CA_UNAVAILABLE,
        `${what} still ${x.status} after ${Math.round(POLL_LIMIT_MS / 1000)} s` +
          (asked ? ` (the server asks to wait until ${asked.toISOString()})` : ''),
      );
    }
    await o.clock.sleep(wait, o.signal);
  }
}

/** Step 1: the order, with `replaces` when given, and without it when the server refuses it. */
async function newOrder(o: OrderOptions): Promise<{ url: string; order: Order }> {
  const identifiers = o.names.map((value) => ({ type: isIpAddress(value) ? 'ip' : 'dns', value }));
  const profiles = o.dir.meta?.profiles;
  let profile: string | undefined;
  if (o.profile !== undefined && profiles) {
    if (!Object.hasOwn(profiles, o.profile)) {
      throw new CertswapError(
        ErrorCodes.CA_REFUSED,
        `the ACME server has no profile ${JSON.stringify(o.profile)} (it lists ${Object.keys(profiles).join(', ')})`,
      );
    }
    profile = o.profile;
  }
  const payload = { identifiers, ...(profile && { profile }), ...(o.replaces && { replaces: o.replaces }) };
  let r = await o.t.post(o.dir.newOrder, payload);
  if (o.replaces && r.status >= 400 && r.status < 500 && problemOf(r.data).type !== 'rateLimited') {
    o.log?.warn(
      { event: 'acme-replaces-refused', problem: problemOf(r.data).type },
      `the ACME server refused the order naming the certificate it replaces (${problemText(r.data)}); ordering without`,
    );
    const { replaces: _, ...plain } = payload;
    r = await o.t.post(o.dir.newOrder, plain);
  }
  if (r.status !== 201 || !r.headers.location) throw answerError(r, 'newOrder', o.clock.now());
  return { url: r.headers.location, order: r.data as Order };
}

/** An identifier as compared: DNS names in lower case, IPv6 addresses in their one canonical form. */
function identifierKey(value: string): string {
  if (!isIpAddress(value)) return value.toLowerCase();
  return value.includes(':') ? new URL(`http://[${value}]`).hostname.slice(1, -1) : value;
}

/**
 * The identifier an authorization is for, when it is one we ordered. A server's authorization for
 * another name is refused before anything is put up for it: the dns-01 hook holds credentials for
 * the operator's zones, and must set a record only for a name this device asked for.
 */
function orderedName(o: OrderOptions, a: Authorization): string {
  const value = a.identifier?.value;
  const asked = typeof value === 'string' && (a.wildcard ? `*.${value}` : value);
  if (!asked || !o.names.some((n) => identifierKey(n) === identifierKey(asked))) {
    throw new CertswapError(
      ErrorCodes.CA_BAD_ANSWER,
      `the ACME server sent an authorization for ${JSON.stringify(value)}, which was not ordered`,
    );
  }
  return value as string;
}

/** Step 2: every authorization valid, the responder's answers taken down whatever happens. */
async function authorize(o: OrderOptions, order: Order): Promise<void> {
  const pending: Array<{ url: string; challengeUrl: string; name: string }> = [];
  try {
    for (const url of order.authorizations ?? []) {
      const r = await o.t.post(url, null);
      expect200(r, 'authorization', o.clock.now());
      const a = r.data as Authorization;
      const name = orderedName(o, a);
      if (a.status === 'valid') continue;
      if (a.status !== 'pending') {
        throw new CertswapError(ErrorCodes.ACME_CHALLENGE_FAILED, `authorization for ${name} is ${a.status}`);
      }
      const ch = a.challenges?.find((c) => c.type === o.challenge);
      if (!ch) {
        const offered = (a.challenges ?? []).map((c) => c.type).join(', ');
        throw new CertswapError(
          ErrorCodes.CA_REFUSED,
          `the ACME server offers no ${o.challenge} for ${name} (${offered})`,
        );
      }
      await o.responder.present({ name, token: ch.token, keyAuthorization: `${ch.token}.${o.t.thumbprint}` });
      pending.push({ url, challengeUrl: ch.url, name });
    }
    await o.responder.ready(o.signal);
    checkStopping(o.signal, 'the challenges');
    for (const p of pending) {
      const r = await o.t.post(p.challengeUrl, {});
      expect200(r, `challenge for ${p.name}`, o.clock.now());
    }
    for (const p of pending) {
      const a = await poll<Authorization>(o, p.url, `authorization for ${p.name}`, (x) => x.status !== 'pending');
      if (a.status !== 'valid') {
        const failed = a.challenges?.find((c) => c.type === o.challenge);
        throw new CertswapError(
          ErrorCodes.ACME_CHALLENGE_FAILED,
          `${o.challenge} for ${p.name} failed: ${failed?.error ? problemText(failed.error) : a.status}`,
        );
      }
    }
  } finally {
    await o.responder.close();
  }
}

/** Runs the order (see the module comment); returns the certificate chain, PEM, leaf first. */
export async function runOrder(o: OrderOptions): Promise<string> {
  const { url, order } = await newOrder(o);
  o.log?.info({ event: 'acme-order', order: url, names: o.names }, `ACME order ${url}`);
  await authorize(o, order);
  // 3. Ready, finalized, valid.
  const ready = await poll<Order>(o, url, 'order', (x) => x.status !== 'pending');
  if (ready.status !== 'ready' && ready.status !== 'valid') {
    throw new CertswapError(
      ErrorCodes.ACME_CHALLENGE_FAILED,
      `the order is ${ready.status}${ready.error ? `: ${problemText(ready.error)}` : ''}`,
    );
  }
  let final = ready;
  checkStopping(o.signal, 'finalize');
  if (ready.status === 'ready') {
    const r = await o.t.post(ready.finalize, { csr: o.csr.toString('base64url') });
    expect200(r, 'finalize', o.clock.now());
    final = await poll<Order>(o, url, 'order', (x) => x.status !== 'processing' && x.status !== 'ready');
  }
  if (final.status !== 'valid' || typeof final.certificate !== 'string') {
    throw new CertswapError(
      ErrorCodes.CA_REFUSED,
      `the order is ${final.status} after finalizing${final.error ? `: ${problemText(final.error)}` : ''}`,
    );
  }
  // 4. The chain.
  const r = await o.t.post(final.certificate, null);
  expect200(r, 'certificate', o.clock.now());
  if (typeof r.data !== 'string' || !r.data.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CertswapError(
      ErrorCodes.CA_BAD_ANSWER,
      'the ACME server answered the certificate URL without a PEM chain',
    );
  }
  return r.data;
}
