/**
 * Which agent events become webhook documents, and what each document holds. Built field by field
 * from the event (never by spreading an object that might one day carry a key): the certificate's
 * name and store, generations, fingerprint, dates, an error code and message, the host's name.
 */
import os from 'node:os';
import type { AgentEvent } from '../agent/events.js';
import type { Webhook } from './webhook.js';

/** The events a webhook can be told of (`notify.events`); a contract, as the docs list them. */
export const NOTIFY_EVENTS = ['rotated', 'rolled-back', 'renewal-failed', 'expiring-soon'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export function isNotifyEvent(s: string): s is NotifyEvent {
  return (NOTIFY_EVENTS as readonly string[]).includes(s);
}

export interface NotifierOptions {
  events: readonly NotifyEvent[];
  /** A look that finds the active certificate expiring within this is `expiring-soon`. */
  expiringWithinMs: number;
  /** name -> store directory of every certificate. */
  dirs: ReadonlyMap<string, string>;
  now(): Date;
}

export class Notifier {
  /** name -> the notAfter already announced as expiring soon: once per certificate, not per look. */
  private readonly announced = new Map<string, string>();
  private readonly host = os.hostname();

  constructor(
    private readonly webhook: Webhook,
    private readonly opts: NotifierOptions,
  ) {}

  /** The observer to hand the manager (and the monitor, for the rollbacks it infers). */
  readonly observe = (e: AgentEvent): void => {
    const doc = this.document(e);
    if (doc && this.opts.events.includes(doc.event)) void this.webhook.send(doc);
  };

  /** Waits for the deliveries queued, for at most one delivery's longest time (webhook.ts). */
  close(): Promise<void> {
    return this.webhook.close();
  }

  private document(e: AgentEvent): ({ event: NotifyEvent } & Record<string, unknown>) | null {
    const base = {
      time: this.opts.now().toISOString(),
      host: this.host,
      name: e.name,
      dir: this.opts.dirs.get(e.name),
    };
    switch (e.type) {
      case 'rotated':
        return {
          event: 'rotated',
          ...base,
          generation: e.generation,
          previous: e.previous,
          fingerprint: e.fingerprint,
          notAfter: e.notAfter,
        };
      case 'rolled-back':
        return { event: 'rolled-back', ...base, reason: e.reason, generation: e.generation, from: e.from };
      case 'renewal-failed':
        return { event: 'renewal-failed', ...base, code: e.code, message: e.message };
      case 'look': {
        if (e.notAfter === null || this.announced.get(e.name) === e.notAfter) return null;
        const leftMs = Date.parse(e.notAfter) - this.opts.now().getTime();
        if (leftMs > this.opts.expiringWithinMs) return null;
        this.announced.set(e.name, e.notAfter);
        return {
          event: 'expiring-soon',
          ...base,
          generation: e.generation,
          notAfter: e.notAfter,
          secondsLeft: leftMs / 1000,
        };
      }
      default:
        return null;
    }
  }
}
