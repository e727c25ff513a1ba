/**
 * The transport's bound on one request: a server that answers its headers at once and then sends
 * the body a byte at a time (a slow-loris CA) is cut off after the request's time, not after the
 * body ends. A socket idle timeout alone never fires while bytes keep coming.
 */
import http from 'node:http';
import { expect } from 'chai';
import { AcmeTransport } from '../../../../src/agent/acme/transport.js';
import { ErrorCodes } from '../../../../src/errors.js';
import { expectCode } from '../../../helpers/expect-code.js';
import { closeServer, listenLoopback } from '../../../helpers/servers.js';

describe('AcmeTransport', () => {
  let server: http.Server;
  let port: number;
  const timers = new Set<NodeJS.Timeout>();

  beforeEach(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      // One byte every 50 ms for 5 s: each byte resets an idle timeout, so only a deadline ends it.
      let sent = 0;
      const t = setInterval(() => (++sent < 100 ? res.write(' ') : res.end(' ')), 50);
      timers.add(t);
      req.socket.on('close', () => clearInterval(t));
    });
    port = await listenLoopback(server);
  });

  afterEach(async () => {
    for (const t of timers) clearInterval(t);
    timers.clear();
    await closeServer(server);
  });

  it('ends a request whose answer keeps trickling in at its deadline (CA_UNAVAILABLE)', async () => {
    const t = await AcmeTransport.create({ directory: `http://127.0.0.1:${port}/directory`, timeoutMs: 300 });
    const e = await expectCode(t.get(`http://127.0.0.1:${port}/renewal-info/x`), ErrorCodes.CA_UNAVAILABLE);
    expect(e.message).to.match(/timed out|300/);
  });

  it("refuses a URL whose scheme is not the directory's (no plain http from an https directory)", async () => {
    const t = await AcmeTransport.create({ directory: 'https://127.0.0.1:1/directory' });
    await expectCode(t.get(`http://127.0.0.1:${port}/renewal-info/x`), ErrorCodes.CA_BAD_ANSWER, /not https/);
  });
});
