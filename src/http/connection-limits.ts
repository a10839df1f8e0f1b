import type { Server, Socket } from 'node:net';

/**
 * Caps open sockets per peer address: one address cannot take all of `maxConnections` (file
 * descriptors) and starve everyone else. Sockets over the cap are closed at once, before a byte is
 * read. Returns the number of sockets refused so far.
 */
export function capConnectionsPerIp(server: Server, maxPerIp: number): () => number {
  const open = new Map<string, number>();
  let refused = 0;
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? 'unknown';
    const count = open.get(ip) ?? 0;
    if (count >= maxPerIp) {
      refused++;
      socket.destroy();
      return;
    }
    open.set(ip, count + 1);
    socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left > 0) open.set(ip, left);
      else open.delete(ip);
    });
  });
  return () => refused;
}
