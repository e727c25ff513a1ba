/**
 * Webhooks (`notify.webhook`): the agent POSTs one JSON document per event it is configured for
 * (rotated, rolled-back, renewal-failed, expiring-soon) to one URL, in the order they happened,
 * retrying with exponential backoff (backoff, 2x, 4x...) on network errors, timeouts, 429 and 5xx,
 * up to `attempts` tries. Deliveries run beside the renewals and never delay or fail one; a
 * delivery that gives up is logged and dropped.
 *
 * What is sent is built field by field from the event (payload.ts): names, generations,
 * fingerprints, dates and error codes, never key material. The URL may carry a token, so logs
 * name only its origin. Transport: https verified against `notify.ca` when given, else the system
 * roots; plain http only to a loopback address (the rule of the cfssl client); redirects are not
 * followed (a 3xx is a failed delivery).
 */
import http from 'node:http';
import https from 'node:https';
import { CertswapError, ErrorCodes } from '../errors.js';
import type { Log } from '../store/context.js';
import type { Clock } from '../agent/clock.js';
import { LOOPBACK } from '../agent/provisioners/cfssl-client.js';

export interface WebhookOptions {
  url: string;
  /** PEM bundle the server's certificate must chain to; the system roots when absent. */
  ca?: Buffer;
  /** Per attempt, connection to answer. */
  timeoutMs: number;
  attempts: number;
  /** Delay before the second attempt; doubled before each later one. */
  backoffMs: number;
}

/** Checks the URL and transport policy once, when the configuration is read. Raises CERTSWAP_CONFIG_INVALID. */
export function checkWebhookUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CertswapError(ErrorCodes.CONFIG_INVALID, 'not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CertswapError(ErrorCodes.CONFIG_INVALID, `expected http or https, not ${u.protocol}`);
  }
  if (u.protocol === 'http:' && !LOOPBACK.has(u.hostname)) {
    throw new CertswapError(
      ErrorCodes.CONFIG_INVALID,
      `${u.origin}: plain http is accepted only on loopback; use https`,
    );
  }
  return u;
}

class Retryable extends Error {}

export class Webhook {
  private readonly url: URL;
  private queue: Promise<void> = Promise.resolve();
  /** Deliveries queued or under way. */
  private pending = 0;
  /** Aborted by close() when its wait is over: the waits and requests in flight end at once. */
  private readonly closing = new AbortController();

  constructor(
    private readonly opts: WebhookOptions,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {
    this.url = checkWebhookUrl(opts.url);
  }

  /** Queues `doc` for delivery after every earlier one; resolves when it was delivered or given up. */
  send(doc: { event: string }): Promise<void> {
    const body = JSON.stringify(doc);
    this.pending++;
    const next = this.queue
      .then(() => (this.closing.signal.aborted ? undefined : this.deliver(doc.event, body)))
      .finally(() => this.pending--);
    this.queue = next;
    return next;
  }

  /** The longest one delivery may take: every attempt timing out, and every backoff between them. */
  get maxDeliveryMs(): number {
    const { attempts, timeoutMs, backoffMs } = this.opts;
    return attempts * timeoutMs + backoffMs * (2 ** (attempts - 1) - 1);
  }

  /**
   * Waits for the queued deliveries, at most `limitMs` (default: one delivery's longest time), so
   * that a dead receiver cannot hold a stopping agent (or an `agent --once` under a timer) for
   * as long as a queue of events takes. What is left then is dropped, and logged as dropped.
   */
  async close(limitMs = this.maxDeliveryMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.queue.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), limitMs);
      }),
    ]);
    clearTimeout(timer);
    if (done) return;
    this.log.warn(
      { event: 'webhook', origin: this.url.origin, dropped: this.pending },
      `webhook: ${this.pending} event(s) not delivered within ${limitMs} ms of stopping; dropped`,
    );
    this.closing.abort();
    await this.queue;
  }

  private async deliver(event: string, body: string): Promise<void> {
    const origin = this.url.origin;
    for (let attempt = 1; ; attempt++) {
      try {
        const status = await this.post(body);
        this.log.info({ event: 'webhook', type: event, origin, status, attempt }, `webhook ${event} delivered`);
        return;
      } catch (err) {
        const retry = err instanceof Retryable && attempt < this.opts.attempts;
        const delayMs = this.opts.backoffMs * 2 ** (attempt - 1);
        const why = (err as Error).message;
        this.log.warn(
          { event: 'webhook', type: event, origin, attempt, err: why, ...(retry && { delayMs }) },
          `webhook ${event} to ${origin}: ${why}${retry ? `; retrying in ${delayMs} ms` : '; dropped'}`,
        );
        if (!retry || this.closing.signal.aborted) return;
        await this.clock.sleep(delayMs, this.closing.signal);
        if (this.closing.signal.aborted) return;
      }
    }
  }

  /** One POST; resolves with a 2xx status. Network errors, timeouts, 429 and 5xx raise Retryable. */
  private post(body: string): Promise<number> {
    const tls = this.url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (tls ? https : http).request(
        this.url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'certswap',
          },
          signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), this.closing.signal]),
          ...(tls && { ca: this.opts.ca, rejectUnauthorized: true }),
        },
        (res) => {
          // The answer's body means nothing to us; it is read only so that the socket is freed.
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(status);
            else if (status === 429 || status >= 500) reject(new Retryable(`HTTP ${status}`));
            else reject(new Error(`HTTP ${status}`));
          });
          res.on('error', (err) => reject(new Retryable(err.message)));
        },
      );
      req.on('error', (err) => {
        if (this.closing.signal.aborted) return reject(new Error('the agent is stopping'));
        const code = (err as { code?: string }).code ?? '';
        // A certificate that does not verify will not verify on the next attempt either.
        if (/CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ERR_TLS/.test(code)) reject(new Error(`TLS: ${err.message}`));
        else if (err.name === 'AbortError' || err.name === 'TimeoutError') {
          reject(new Retryable(`no answer within ${this.opts.timeoutMs} ms`));
        } else reject(new Retryable(err.message));
      });
      req.end(body);
    });
  }
}
