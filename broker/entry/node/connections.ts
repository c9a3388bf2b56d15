// Socket limits of the Node server. Node's defaults give a request 300 s to arrive, so a client sending its
// headers or body a byte at a time holds a socket for minutes; with these a request must be complete
// within seconds (408, then the socket is closed), idle keep-alive sockets close soon, and no single
// client address can hold more than a fixed number of sockets.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';

/** Deadlines for the whole server. A legitimate request is at most 16 KiB of body and a few headers. */
export const HTTP_SERVER_OPTIONS = {
  /** From connection (or the end of the previous request) to the last header byte. */
  headersTimeout: 5_000,
  /** From the same start to the last body byte. */
  requestTimeout: 10_000,
  /** An idle keep-alive socket is closed after this long. */
  keepAliveTimeout: 5_000,
  /** How often the two deadlines above are checked (Node's default of 30 s would let them slip that long). */
  connectionsCheckingInterval: 1_000,
} as const satisfies ServerOptions;

/**
 * Closes, at once, every connection from an address that already holds `max` open sockets. Counted on
 * the raw socket before HTTP parsing, so the cap holds whatever the client sends (or doesn't).
 */
export function capConnectionsPerClient(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
