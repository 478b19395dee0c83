/**
 * A tiny forward proxy for tests, on 127.0.0.1 (port 0): `CONNECT host:port` tunnels (what clients
 * use for https URLs) and absolute-form `GET http://host/path` forwarding (for http URLs).
 * Optionally demands `Proxy-Authorization` (407 otherwise). Every request lands in `log`.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface ProxyLogEntry {
  method: string;
  /** `host:port` for CONNECT, the absolute URL otherwise. */
  target: string;
  /** Whether Proxy-Authorization matched the expected credentials. */
  authorized: boolean;
}

export interface TestProxy {
  /** e.g. `http://127.0.0.1:4567` (without credentials). */
  url: string;
  log: ProxyLogEntry[];
  close(): Promise<void>;
}

/**
 * Starts the proxy.
 *
 * @param auth - when given, `{ username, password }` the proxy requires (407 otherwise)
 */
export async function startTestProxy(auth?: { username: string; password: string }): Promise<TestProxy> {
  const log: ProxyLogEntry[] = [];
  const expected = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const authorized = expected === undefined || req.headers['proxy-authorization'] === expected;
    log.push({ method: req.method ?? 'GET', target: req.url ?? '', authorized });
    if (!authorized) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request expected');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      { hostname: target.hostname, port: target.port || 80, path: target.pathname + target.search, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('aborted', () => res.destroy());
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const authorized = expected === undefined || req.headers['proxy-authorization'] === expected;
    log.push({ method: 'CONNECT', target: req.url ?? '', authorized });
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (!authorized) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
