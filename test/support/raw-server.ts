/**
 * A raw TCP server on 127.0.0.1 for hostile-HTTP tests: each connection's handler gets the socket
 * and the request head as text, and writes whatever bytes it likes (truncated bodies, lying
 * headers, trickles, silence). Every request head is kept in `requests`.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

/** What a handler receives for one request. */
export interface RawRequest {
  /** `GET /path HTTP/1.1` line and headers, as received. */
  head: string;
  /** The request path. */
  path: string;
  /** Lower-cased header names → values. */
  headers: Record<string, string>;
  /** 0-based number of this request on the server. */
  index: number;
}

/** A running raw server. */
export interface RawServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Every request received so far. */
  requests: RawRequest[];
  /** Stops listening and destroys every open connection (and the timers handlers registered). */
  close(): Promise<void>;
  /** Registers a timer to clear on close (for handlers that trickle bytes). */
  track(timer: NodeJS.Timeout): NodeJS.Timeout;
}

/**
 * Starts a raw HTTP-ish server.
 *
 * @param handler - called once per request head; writes the reply on `socket` (and may never end it)
 * @example
 * const s = await startRawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n0123456789'));
 */
export async function startRawServer(handler: (socket: net.Socket, req: RawRequest) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: RawRequest[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const head = buf.slice(0, end);
      const [line, ...rest] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const h of rest) {
        const k = h.indexOf(':');
        if (k > 0) headers[h.slice(0, k).trim().toLowerCase()] = h.slice(k + 1).trim();
      }
      const req: RawRequest = { head, path: line.split(' ')[1] ?? '/', headers, index: requests.length };
      requests.push(req);
      handler(socket, req);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    track: (t) => {
      timers.add(t);
      return t;
    },
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
