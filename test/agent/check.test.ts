/** The TLS post-activation check against a real server on 127.0.0.1 that requires client certificates. */
import tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { runCheck } from '../../src/agent/check.js';
import { issue, makePair, testCa } from '../helpers/certs.js';
import { expectCode } from '../helpers/expect-code.js';

async function server(ca: string): Promise<tls.Server & { port: number }> {
  const srv = await makePair({ name: 'localhost', sans: ['localhost'] });
  const s = tls.createServer(
    { cert: srv.cert, key: srv.key, ca, requestCert: true, rejectUnauthorized: true },
    (sock) => sock.end('ok\n'),
  );
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return Object.assign(s, { port: (s.address() as AddressInfo).port });
}

describe('post-activation check', () => {
  it('passes when the server accepts the new client certificate, fails when it does not', async () => {
    const ca = (await testCa()).certPem;
    const s = await server(ca);
    try {
      const good = await makePair({ eku: ['1.3.6.1.5.5.7.3.2'] });
      const files = { generation: 2, cert: good.cert, key: good.key, ca: Buffer.from(ca), certPath: 'c', keyPath: 'k' };
      await runCheck({ tls: { host: '127.0.0.1', port: s.port, servername: 'localhost' }, timeoutMs: 5000 }, files);
      const stranger = await makePair({ issuer: await issue({ ca: true, name: 'stranger CA' }) });
      await expectCode(
        runCheck(
          { tls: { host: '127.0.0.1', port: s.port, servername: 'localhost' }, timeoutMs: 5000 },
          { ...files, cert: stranger.cert, key: stranger.key },
        ),
        'CERTSWAP_CHECK_FAILED',
        /TLS check 127\.0\.0\.1/,
      );
    } finally {
      s.close();
    }
  });

  it('fails when nothing listens', async () => {
    const p = await makePair();
    await expectCode(
      runCheck(
        { tls: { host: '127.0.0.1', port: 1 }, timeoutMs: 2000 },
        { generation: 1, cert: p.cert, key: p.key, certPath: 'c', keyPath: 'k' },
      ),
      'CERTSWAP_CHECK_FAILED',
      /ECONNREFUSED/,
    );
  });
});
