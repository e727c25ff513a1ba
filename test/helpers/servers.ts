/** Test servers on loopback: listen on a free port, and close with every connection cut. */
import net from 'node:net';
import type http from 'node:http';

/** Listens on 127.0.0.1 (`port`, or a free one); resolves with the port. */
export async function listenLoopback(server: net.Server, port = 0): Promise<number> {
  server.listen(port, '127.0.0.1');
  await new Promise((r, j) => {
    server.once('listening', r);
    server.once('error', j);
  });
  return (server.address() as net.AddressInfo).port;
}

/** Closes `server`, cutting its open connections (keep-alive would hold close() open). */
export function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
