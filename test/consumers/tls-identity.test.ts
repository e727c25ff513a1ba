/**
 * Node TLS hot reload, with real sockets on 127.0.0.1: after an activation, new handshakes present
 * (server) or send (client) the new certificate, and connections opened before it keep working.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { GenerationStore, TlsIdentity } from '../../src/index.js';
import { makePair, testCa, type Pair } from '../helpers/certs.js';
import { storeDir } from '../helpers/tmp.js';
import { until } from '../helpers/proc.js';

const fingerprint = (p: Pair): string => new X509Certificate(p.cert).fingerprint256;

async function listen(server: tls.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Opens a TLS connection and returns it with the fingerprint of the certificate it was shown. */
async function connect(port: number, ca: Buffer): Promise<{ socket: tls.TLSSocket; served: string }> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    ca,
    servername: 'device-1',
    checkServerIdentity: () => undefined,
  });
  await once(socket, 'secureConnect');
  return { socket, served: socket.getPeerX509Certificate()!.fingerprint256 };
}

async function echo(socket: tls.TLSSocket, text: string): Promise<string> {
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString();
}

describe('TlsIdentity: Node TLS hot reload', () => {
  const closers: (() => unknown)[] = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });

  it('a tls.Server presents each new generation to new handshakes; connections made before keep working', async () => {
    const store = await GenerationStore.open(await storeDir());
    const ca = Buffer.from((await testCa()).certPem);
    const pairs = [await makePair()];
    await store.install(pairs[0]!);
    const identity = await TlsIdentity.open(store.dir, { debounceMs: 5 });
    closers.push(() => identity.close());
    const server = tls.createServer(identity.secureContextOptions(), (s) => s.pipe(s));
    identity.attachServer(server);
    const port = await listen(server);
    closers.push(() => new Promise((r) => server.close(r)));

    const open: tls.TLSSocket[] = [];
    closers.push(() => {
      for (const s of open) s.destroy();
    });
    let handshakes = 0;
    for (let i = 1; i <= 5; i++) {
      const c = await connect(port, ca);
      handshakes++;
      open.push(c.socket);
      expect(c.served, `handshake after activation ${i - 1}`).to.equal(fingerprint(pairs[i - 1]!));
      expect(identity.generation).to.equal(i);
      const next = await makePair();
      pairs.push(next);
      const reloaded = once(identity, 'reload');
      await store.install(next);
      expect((await reloaded)[0]).to.deep.equal({ generation: i + 1, previous: i });
    }
    // Every connection opened before a swap still carries data.
    const kept = open.length;
    for (const [i, s] of open.entries()) expect(await echo(s, `ping ${i}`)).to.equal(`ping ${i}`);
    const last = await connect(port, ca);
    open.push(last.socket);
    handshakes++;
    expect(last.served).to.equal(fingerprint(pairs[5]!));
    // A rollback is followed too.
    const back = once(identity, 'reload');
    await store.rollback();
    await back;
    const afterRollback = await connect(port, ca);
    open.push(afterRollback.socket);
    handshakes++;
    expect(afterRollback.served).to.equal(fingerprint(pairs[4]!));
    console.log(
      `      tls server: 6 switches, ${handshakes} handshakes each saw the active certificate, ${kept} connections made before a swap kept working, 0 failures`,
    );
  });

  it('an https.Agent sends each new generation as its client certificate (mTLS); a request running across the swap completes', async () => {
    const testCaPem = Buffer.from((await testCa()).certPem);
    const serverPair = await makePair({ name: 'server' });
    const seen: string[] = [];
    let release: (() => void) | null = null;
    const server = https.createServer(
      { cert: serverPair.cert, key: serverPair.key, ca: testCaPem, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as tls.TLSSocket).getPeerX509Certificate()!.fingerprint256;
        seen.push(peer);
        if (req.url === '/slow') {
          release = () => res.end(peer);
          return;
        }
        res.end(peer);
      },
    );
    const port = await listen(server);
    closers.push(() => new Promise((r) => server.close(r)));
    closers.push(() => server.closeAllConnections());

    const store = await GenerationStore.open(await storeDir());
    const pairs = [await makePair()];
    await store.install(pairs[0]!);
    const identity = await TlsIdentity.open(store.dir, { debounceMs: 5 });
    closers.push(() => identity.close());
    const agent = identity.createAgent({ keepAlive: true, ca: testCaPem });
    closers.push(() => agent.destroy());

    const get = (p: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        https
          .get(
            { host: '127.0.0.1', port, path: p, agent, servername: 'server', checkServerIdentity: () => undefined },
            (res) => {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode!, body }));
            },
          )
          .on('error', reject);
      });

    expect((await get('/')).body).to.equal(fingerprint(pairs[0]!));
    const slow = get('/slow'); // runs on a connection made with generation 1
    await until('the slow request to reach the server', () => release !== null);
    let requests = 2;
    for (let i = 2; i <= 4; i++) {
      pairs.push(await makePair());
      const reloaded = once(identity, 'reload');
      await store.install(pairs[i - 1]!);
      await reloaded;
      // Keep-alive sockets and TLS sessions of the old identity are not reused.
      expect((await get('/')).body, `request after activation ${i}`).to.equal(fingerprint(pairs[i - 1]!));
      expect((await get('/')).body).to.equal(fingerprint(pairs[i - 1]!));
      requests += 2;
    }
    release!();
    const r = await slow;
    expect(r).to.deep.equal({ status: 200, body: fingerprint(pairs[0]!) });
    console.log(
      `      mTLS client: 3 switches, ${requests} requests, each sent the certificate active when it was made, 0 failures`,
    );
  });

  it('refuses to start on a store with nothing active', async () => {
    const store = await GenerationStore.open(await storeDir());
    let err: unknown;
    await TlsIdentity.open(store.dir).catch((e: unknown) => (err = e));
    expect(err).to.have.property('code', 'CERTSWAP_NO_ACTIVE');
  });
});
