/**
 * The endpoint's bound on connections, with room always made for a scraper. A plain cap
 * (server.maxConnections) refuses the newest connection once it is reached: any local user who
 * holds that many connections open without sending a request (or half of one) locks Prometheus
 * and health probes out for as long as they like. Here a connection over the bound closes the
 * oldest connection that has no request being answered (idle, or still sending its headers), so
 * a scraper, which sends its request at once, gets in; only when every connection held is being
 * answered is the newest refused. Memory stays bounded either way.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

export function capConnections(server: http.Server, max: number): void {
  /** Open connections, oldest first, with the number of their requests being answered. */
  const open = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      const idle = [...open].find(([, answering]) => answering === 0)?.[0];
      if (!idle) {
        socket.destroy();
        return;
      }
      open.delete(idle);
      idle.destroy();
    }
    open.set(socket, 0);
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    if (!open.has(socket)) return;
    open.set(socket, open.get(socket)! + 1);
    res.once('close', () => {
      if (open.has(socket)) open.set(socket, open.get(socket)! - 1);
    });
  });
}
