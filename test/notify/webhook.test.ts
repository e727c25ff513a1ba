/**
 * Webhooks against real local receivers (node:http and node:https servers on 127.0.0.1): retries
 * with backoff until one accepts, no retry of what cannot succeed, TLS verified against a
 * configured CA, and the documents an agent run sends.
 */
import { expect } from 'chai';
import fse from 'fs-extra';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Webhook } from '../../src/notify/webhook.js';
import { systemClock } from '../../src/agent/clock.js';
import { captureLog } from '../helpers/fake-clock.js';
import { issue } from '../helpers/certs.js';
import { certswap } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

interface Received {
  at: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

/** A receiver answering each request with the next status of `answers` (the last one repeats). */
async function receiver(
  answers: number[],
  tls?: { cert: string; key: string },
): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ at: Date.now(), body: JSON.parse(body) as Record<string, unknown>, headers: req.headers });
      res.writeHead(answers[Math.min(got.length - 1, answers.length - 1)]!).end();
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://${tls ? 'localhost' : '127.0.0.1'}:${port}/hook?token=s3cret`,
    got,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

const opts = { timeoutMs: 2000, attempts: 4, backoffMs: 100 };

describe('notify: webhooks', () => {
  it('retries a receiver that fails twice, with doubling waits, until it accepts; logs no token', async () => {
    const r = await receiver([503, 503, 204]);
    const { log, events } = captureLog();
    try {
      const hook = new Webhook({ ...opts, url: r.url }, systemClock, log);
      await hook.send({ event: 'rotated', name: 'device', generation: 2 } as { event: string });
      expect(r.got.map((g) => g.body)).to.deep.equal(
        Array(3).fill({ event: 'rotated', name: 'device', generation: 2 }),
      );
      expect(r.got[0]!.headers['content-type']).to.equal('application/json');
      const waits = [r.got[1]!.at - r.got[0]!.at, r.got[2]!.at - r.got[1]!.at];
      expect(waits[0]).to.be.at.least(100);
      expect(waits[1]).to.be.at.least(200);
      expect(events.filter((e) => e.event === 'webhook').map((e) => e.delayMs ?? e.status)).to.deep.equal([
        100, 200, 204,
      ]);
      expect(JSON.stringify(events)).to.not.contain('s3cret');
    } finally {
      await r.close();
    }
  });

  it('gives up after `attempts`, and does not retry a 4xx', async () => {
    const down = await receiver([500]);
    const refusing = await receiver([403]);
    try {
      const { log } = captureLog();
      await new Webhook({ ...opts, attempts: 3, url: down.url }, systemClock, log).send({ event: 'x' });
      expect(down.got.length).to.equal(3);
      await new Webhook({ ...opts, url: refusing.url }, systemClock, log).send({ event: 'x' });
      expect(refusing.got.length).to.equal(1);
    } finally {
      await down.close();
      await refusing.close();
    }
  });

  it('does not follow a redirect: a 3xx is a failed delivery, not retried, and the target never hears', async () => {
    const target = await receiver([204]);
    const redirecting = http.createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: target.url }).end();
    });
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', r));
    try {
      const { log, events } = captureLog();
      const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`;
      await new Webhook({ ...opts, url }, systemClock, log).send({ event: 'x' });
      expect(target.got).to.deep.equal([]);
      expect(events.filter((e) => e.event === 'webhook').map((e) => e.err)).to.deep.equal(['HTTP 307']);
    } finally {
      await new Promise<void>((r) => {
        redirecting.close(() => r());
        redirecting.closeAllConnections();
      });
      await target.close();
    }
  });

  it('close waits for queued deliveries at most its limit, then drops them (logged) and stops retrying', async () => {
    const dead = await receiver([500]);
    try {
      const { log, events } = captureLog();
      const hook = new Webhook({ ...opts, attempts: 10, url: dead.url }, systemClock, log);
      expect(hook.maxDeliveryMs).to.equal(10 * 2000 + 100 * (2 ** 9 - 1));
      for (const event of ['a', 'b', 'c']) void hook.send({ event });
      const t0 = Date.now();
      await hook.close(300);
      expect(Date.now() - t0).to.be.below(2000);
      expect(events.find((e) => e.dropped !== undefined)).to.include({ event: 'webhook', dropped: 3 });
      const seen = dead.got.length;
      await new Promise((r) => setTimeout(r, 400));
      expect(dead.got.length).to.equal(seen);
      expect(dead.got.every((g) => g.body.event === 'a')).to.equal(true);
    } finally {
      await dead.close();
    }
  });

  it('https: verified against the configured CA; a server the roots do not know is refused, not retried', async () => {
    const ca = await issue({ ca: true, name: 'webhook test CA' });
    const leaf = await issue({ name: 'localhost', sans: ['localhost'], issuer: ca, eku: ['1.3.6.1.5.5.7.3.1'] });
    const r = await receiver([200], { cert: leaf.certPem, key: leaf.keyPem });
    try {
      const { log, events } = captureLog();
      await new Webhook({ ...opts, url: r.url, ca: Buffer.from(ca.certPem) }, systemClock, log).send({ event: 'ok' });
      expect(r.got.map((g) => g.body.event)).to.deep.equal(['ok']);
      // The system roots do not know this CA.
      await new Webhook({ ...opts, url: r.url }, systemClock, log).send({ event: 'refused' });
      expect(r.got.length).to.equal(1);
      expect(events.at(-1)).to.include({ attempt: 1 });
      expect(String(events.at(-1)!.err)).to.match(/^TLS: /);
    } finally {
      await r.close();
    }
  });

  it('an agent run POSTs rotated, expiring-soon and renewal-failed documents, with no key material', async () => {
    const r = await receiver([200]);
    const dir = await tempDir();
    const config = path.join(dir, 'agent.yaml');
    try {
      await fse.writeFile(
        config,
        `notify: { webhook: "${r.url}", expiringWithin: 2h, backoff: 100ms }
certificates:
  - name: device
    dir: store
    identity: { commonName: device-1 }
    provisioner: { type: local-ca, caDir: ca, lifetime: 1h }
  - name: down
    dir: store2
    identity: { commonName: device-2 }
    provisioner: { type: csr, cfssl: { url: "http://127.0.0.1:1", attempts: 1 } }
`,
      );
      // Run 1 enrols `device` (and fails `down`); run 2 finds the 1 h certificate expiring within 2 h.
      expect((await certswap(['agent', '--config', config, '--once'])).code).to.equal(1);
      expect((await certswap(['agent', '--config', config, '--once'])).code).to.equal(1);
      const docs = r.got.map((g) => g.body);
      const key = await fse.readFile(path.join(dir, 'store', 'current', 'key.pem'), 'utf8');
      const all = JSON.stringify(docs);
      expect(all).to.not.contain('PRIVATE KEY');
      expect(all).to.not.contain(key.split('\n')[1]);
      const rotated = docs.find((d) => d.event === 'rotated')!;
      expect(rotated).to.include({ name: 'device', dir: path.join(dir, 'store'), generation: 1, previous: null });
      expect(rotated.fingerprint).to.match(/^[0-9A-F:]{95}$/);
      expect(Object.keys(rotated).sort()).to.deep.equal(
        ['dir', 'event', 'fingerprint', 'generation', 'host', 'name', 'notAfter', 'previous', 'time'].sort(),
      );
      const failed = docs.filter((d) => d.event === 'renewal-failed');
      expect(failed.map((d) => [d.name, d.code])).to.deep.equal([
        ['down', 'CERTSWAP_CA_UNAVAILABLE'],
        ['down', 'CERTSWAP_CA_UNAVAILABLE'],
      ]);
      const soon = docs.filter((d) => d.event === 'expiring-soon');
      expect(soon.map((d) => [d.name, d.generation, d.notAfter])).to.deep.equal([['device', 1, rotated.notAfter]]);
    } finally {
      await r.close();
    }
  });
});
