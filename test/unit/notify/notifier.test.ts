import { expect } from 'chai';
import { Notifier, NOTIFY_EVENTS, type NotifyEvent } from '../../../src/notify/notifier.js';
import type { Webhook } from '../../../src/notify/webhook.js';

const NOW = new Date('2030-01-01T00:00:00Z');
const DAY = 86_400_000;

function notifier(events: readonly NotifyEvent[] = NOTIFY_EVENTS): {
  n: Notifier;
  sent: Array<Record<string, unknown>>;
} {
  const sent: Array<Record<string, unknown>> = [];
  // Records what would be POSTed (webhook.ts, tested against real receivers, does the sending).
  const webhook = { send: async (doc: Record<string, unknown>) => void sent.push(doc) } as unknown as Webhook;
  const dirs = new Map([['device', '/s']]);
  return { n: new Notifier(webhook, { events, expiringWithinMs: 7 * DAY, dirs, now: () => NOW }), sent };
}

describe('notify/notifier', () => {
  it('turns events into documents of named fields only', () => {
    const { n, sent } = notifier();
    n.observe({ type: 'rotated', name: 'device', generation: 2, previous: 1, fingerprint: 'AB', notAfter: 'x' });
    n.observe({ type: 'rolled-back', name: 'device', reason: 'manual', generation: 1, from: 2 });
    n.observe({ type: 'renewal-failed', name: 'device', code: 'CERTSWAP_CA_UNAVAILABLE', message: 'down' });
    n.observe({ type: 'looked', name: 'device', renewed: false });
    n.observe({ type: 'provisioned', name: 'device', seconds: 1 });
    const base = { time: NOW.toISOString(), name: 'device', dir: '/s' };
    expect(sent.map(({ host: _host, ...d }) => d)).to.deep.equal([
      { event: 'rotated', ...base, generation: 2, previous: 1, fingerprint: 'AB', notAfter: 'x' },
      { event: 'rolled-back', ...base, reason: 'manual', generation: 1, from: 2 },
      { event: 'renewal-failed', ...base, code: 'CERTSWAP_CA_UNAVAILABLE', message: 'down' },
    ]);
    expect(sent[0]!.host).to.be.a('string');
  });

  it('announces a certificate expiring within expiringWithin once per notAfter', () => {
    const { n, sent } = notifier();
    const soon = new Date(NOW.getTime() + 6 * DAY).toISOString();
    const later = new Date(NOW.getTime() + 8 * DAY).toISOString();
    n.observe({ type: 'look', name: 'device', generation: 1, notAfter: later });
    n.observe({ type: 'look', name: 'device', generation: 1, notAfter: null });
    n.observe({ type: 'look', name: 'device', generation: 1, notAfter: soon });
    n.observe({ type: 'look', name: 'device', generation: 1, notAfter: soon });
    n.observe({ type: 'look', name: 'device', generation: 2, notAfter: soon.replace('.000Z', '.001Z') });
    expect(sent.map((d) => [d.event, d.generation, d.secondsLeft])).to.deep.equal([
      ['expiring-soon', 1, 6 * 86_400],
      ['expiring-soon', 2, 6 * 86_400 + 0.001],
    ]);
  });

  it('sends only the configured events', () => {
    const { n, sent } = notifier(['renewal-failed']);
    n.observe({ type: 'rotated', name: 'device', generation: 2, previous: 1, fingerprint: 'AB', notAfter: 'x' });
    n.observe({ type: 'renewal-failed', name: 'device', code: 'E', message: '' });
    expect(sent.map((d) => d.event)).to.deep.equal(['renewal-failed']);
  });
});
