/**
 * What an ACME server's answers mean for the agent (RFC 8555 §6.7): a problem document becomes a
 * typed error, and Retry-After (a number of seconds or an HTTP date) a time.
 */
import { CertswapError, ErrorCodes } from '../../errors.js';

/** One answer of the server, as the transport returns it. */
export interface AcmeResponse {
  status: number;
  headers: Record<string, string | undefined>;
  data: unknown;
}

const ACME_ERROR = 'urn:ietf:params:acme:error:';

/** The problem document's type without the ACME prefix ("rateLimited"), and its detail. */
export function problemOf(data: unknown): { type: string; detail: string } {
  const d = (data ?? {}) as { type?: unknown; detail?: unknown };
  const type = typeof d.type === 'string' ? d.type.replace(ACME_ERROR, '') : 'unknown';
  const detail = typeof d.detail === 'string' ? d.detail.slice(0, 500) : '';
  return { type, detail };
}

/**
 * The longest wait a Retry-After is taken for. A server may send any number (or a date years
 * ahead): unbounded, a value past Date's range made an Invalid Date (a RangeError instead of the
 * typed error, and a poll that no longer saw its own deadline), and a wait of years would let the
 * certificate expire. A CA still limiting after a day costs one more request a day.
 */
export const RETRY_AFTER_MAX_MS = 86_400_000;

/** When Retry-After says to ask again (at most RETRY_AFTER_MAX_MS ahead), or null when it is absent or unreadable. */
export function retryAfter(headers: AcmeResponse['headers'], now: Date): Date | null {
  const v = headers['retry-after']?.trim();
  if (!v) return null;
  const at = /^\d+$/.test(v) ? now.getTime() + Number(v) * 1000 : Date.parse(v);
  if (Number.isNaN(at)) return null;
  return new Date(Math.min(Math.max(at, now.getTime()), now.getTime() + RETRY_AFTER_MAX_MS));
}

/**
 * The wait when a rateLimited answer has no Retry-After: the error always carries the time to
 * retry, and a limit the server did not time is not hit again within the agent's first backoffs.
 */
export const RATE_LIMITED_DEFAULT_MS = 3_600_000;

/**
 * The error for an answer that is not the one expected: rateLimited (or HTTP 429) is
 * CERTSWAP_ACME_RATE_LIMITED with the time to retry (Retry-After's, else an hour on), a 5xx
 * CERTSWAP_CA_UNAVAILABLE (the agent retries later), anything else CERTSWAP_CA_REFUSED with the
 * server's problem type and detail.
 */
export function answerError(resp: AcmeResponse, what: string, now: Date): CertswapError {
  const { type, detail } = problemOf(resp.data);
  const why = `${what}: HTTP ${resp.status} ${type}${detail ? `: ${detail}` : ''}`;
  if (type === 'rateLimited' || resp.status === 429) {
    const asked = retryAfter(resp.headers, now);
    const at = asked ?? new Date(now.getTime() + RATE_LIMITED_DEFAULT_MS);
    return new CertswapError(
      ErrorCodes.ACME_RATE_LIMITED,
      `${why} (retry after ${at.toISOString()}${asked ? '' : ': no Retry-After given'})`,
      { retryAt: at.toISOString() },
    );
  }
  if (resp.status >= 500) return new CertswapError(ErrorCodes.CA_UNAVAILABLE, why);
  return new CertswapError(ErrorCodes.CA_REFUSED, why);
}
