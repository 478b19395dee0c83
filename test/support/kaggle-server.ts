/**
 * A fake Kaggle for tests: two real HTTP(S) servers on 127.0.0.1 (port 0), one playing the API
 * (`/api/v1/datasets/download/{owner}/{slug}` with basic auth) and one playing signed storage
 * (`/storage/...?sig=...`, a different origin, so clients must drop `Authorization` on the
 * redirect). Storage also serves plain files at `/files/<name>` for `getFile` tests.
 *
 * Faults are switched on through `server.behaviour`: ignore Range (answer 200), queued failure
 * statuses (429 with `Retry-After`, 5xx once), a connection dropped after N bytes, slow chunks.
 * Every request is appended to `server.log` (never the Authorization value itself).
 */
import AdmZip from 'adm-zip';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';

/** One request as the fake saw it. */
export interface RequestLogEntry {
  server: 'api' | 'storage';
  method: string;
  /** Path and query as received. */
  url: string;
  range?: string;
  ifRange?: string;
  /** Whether an Authorization header was present (its value is never logged). */
  authorization: boolean;
  status: number;
  /** Body bytes sent. */
  bytes: number;
}

/** A failure to answer instead of the normal response. */
export interface QueuedFailure {
  status: number;
  /** `Retry-After` header value, e.g. `'1'` or an HTTP date. */
  retryAfter?: string;
  /** Which server fails. Default `'storage'`. */
  on?: 'api' | 'storage';
}

/** Switches tests flip while the server runs. */
export interface ServerBehaviour {
  /** Answer Range requests with a full 200 (and no Accept-Ranges). Default false. */
  ignoreRange: boolean;
  /** Failures answered to the next matching requests, consumed in order. */
  failures: QueuedFailure[];
  /** For each of the next body responses, drop the connection after this many body bytes. */
  dropAfterBytes: number[];
  /** Pause this long between 64 KiB chunks (to make transfers overlap). Default 0. */
  chunkDelayMs: number;
}

/** Options for {@link startKaggleServer}. */
export interface KaggleServerArgs {
  /** Accepted user. Default `'tester'`. */
  username?: string;
  /** Accepted key. Default `'canary-0123456789abcdef'`. */
  key?: string;
  /** Datasets by `'owner/slug'` → zip bytes. */
  datasets?: Record<string, Buffer>;
  /** Datasets that exist but answer 403 (rules not accepted). */
  forbidden?: string[];
  /** Plain files served without auth at `/files/<name>`. */
  files?: Record<string, Buffer>;
  /** Serve HTTPS with this key pair instead of HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface KaggleServer {
  /** API root to pass as `baseUrl`, e.g. `http://127.0.0.1:1234/api/v1`. */
  baseUrl: string;
  apiOrigin: string;
  storageOrigin: string;
  /** URL of a plain file served by storage. */
  fileUrl(name: string): string;
  log: RequestLogEntry[];
  behaviour: ServerBehaviour;
  /** Number of body responses (200/206) storage started. */
  transfers(): number;
  close(): Promise<void>;
}

export const TEST_USERNAME = 'tester';
export const CANARY_KEY = 'canary-0123456789abcdef';

/**
 * Starts the fake Kaggle API and storage servers.
 *
 * @example
 * const server = await startKaggleServer({ datasets: { 'owner/data': zipBytes } });
 * try { await datasetsDownload('owner/data', { baseUrl: server.baseUrl, path: dir }); } finally { await server.close(); }
 */
export async function startKaggleServer(args: KaggleServerArgs = {}): Promise<KaggleServer> {
  const username = args.username ?? TEST_USERNAME;
  const key = args.key ?? CANARY_KEY;
  const datasets = args.datasets ?? {};
  const forbidden = new Set(args.forbidden ?? []);
  const files = args.files ?? {};
  const expectedAuth = `Basic ${Buffer.from(`${username}:${key}`).toString('base64')}`;
  const signatures = new Set<string>();
  const log: RequestLogEntry[] = [];
  const behaviour: ServerBehaviour = { ignoreRange: false, failures: [], dropAfterBytes: [], chunkDelayMs: 0 };
  const scheme = args.tls ? 'https' : 'http';
  const create = (handler: http.RequestListener): http.Server =>
    args.tls ? https.createServer({ key: args.tls.key, cert: args.tls.cert }, handler) : http.createServer(handler);

  const entry = (server: 'api' | 'storage', req: http.IncomingMessage): RequestLogEntry => {
    const e: RequestLogEntry = {
      server,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      authorization: req.headers.authorization !== undefined,
      status: 0,
      bytes: 0,
    };
    log.push(e);
    return e;
  };

  const failIfQueued = (server: 'api' | 'storage', res: http.ServerResponse, e: RequestLogEntry): boolean => {
    const next = behaviour.failures[0];
    if (next === undefined || (next.on ?? 'storage') !== server) return false;
    behaviour.failures.shift();
    e.status = next.status;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (next.retryAfter !== undefined) headers['Retry-After'] = next.retryAfter;
    res.writeHead(next.status, headers).end(JSON.stringify({ code: next.status, message: 'injected failure' }));
    return true;
  };

  let storageOrigin = '';
  const api = create((req, res) => {
    const e = entry('api', req);
    if (failIfQueued('api', res, e)) return;
    const m = /^\/api\/v1\/datasets\/download\/([^/?]+)\/([^/?]+)/.exec(req.url ?? '');
    const json = (status: number, message: string): void => {
      e.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ code: status, message }));
    };
    if (!m) return json(404, 'Not found');
    if (req.headers.authorization !== expectedAuth) return json(401, 'Unauthenticated');
    const dataset = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
    if (forbidden.has(dataset)) return json(403, 'Permission denied');
    if (datasets[dataset] === undefined) return json(404, 'Dataset not found');
    const sig = randomBytes(12).toString('hex');
    signatures.add(sig);
    e.status = 302;
    const slug = decodeURIComponent(m[2]);
    res.writeHead(302, { Location: `${storageOrigin}/storage/${m[1]}/${m[2]}/${encodeURIComponent(slug)}.zip?sig=${sig}&expires=9999999999` }).end();
  });

  let transfers = 0;
  const storage = create((req, res) => {
    const e = entry('storage', req);
    if (failIfQueued('storage', res, e)) return;
    const url = new URL(req.url ?? '/', 'http://x');
    let body: Buffer | undefined;
    const sm = /^\/storage\/([^/]+)\/([^/]+)\//.exec(url.pathname);
    if (sm) {
      if (!signatures.has(url.searchParams.get('sig') ?? '')) {
        e.status = 403;
        res.writeHead(403).end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
        return;
      }
      body = datasets[`${decodeURIComponent(sm[1])}/${decodeURIComponent(sm[2])}`];
    } else if (url.pathname.startsWith('/files/')) {
      body = files[decodeURIComponent(url.pathname.slice('/files/'.length))];
    }
    if (body === undefined) {
      e.status = 404;
      res.writeHead(404).end('Not found');
      return;
    }
    serveBody(req, res, body, e);
  });

  function serveBody(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, e: RequestLogEntry): void {
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    let start = 0;
    let status = 200;
    const headers: Record<string, string | number> = { 'Content-Type': 'application/zip', ETag: etag };
    if (!behaviour.ignoreRange) headers['Accept-Ranges'] = 'bytes';
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && !behaviour.ignoreRange && (ifRange === undefined || ifRange === etag)) {
      start = Number(range[1]);
      if (start >= body.length) {
        e.status = 416;
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    headers['Content-Length'] = slice.length;
    e.status = status;
    transfers++;
    res.writeHead(status, headers);
    const drop = behaviour.dropAfterBytes.shift();
    const limit = drop === undefined ? slice.length : Math.min(drop, slice.length);
    const chunk = 64 * 1024;
    let pos = 0;
    const pump = (): void => {
      while (pos < limit) {
        const end = Math.min(limit, pos + chunk);
        const ok = res.write(slice.subarray(pos, end));
        e.bytes += end - pos;
        pos = end;
        if (behaviour.chunkDelayMs > 0) {
          setTimeout(pump, behaviour.chunkDelayMs);
          return;
        }
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      if (limit < slice.length) {
        // Let the bytes already written reach the client, then cut the connection.
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.end();
    };
    pump();
  }

  const listen = (server: http.Server): Promise<number> =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const apiPort = await listen(api);
  const storagePort = await listen(storage);
  const apiOrigin = `${scheme}://127.0.0.1:${apiPort}`;
  storageOrigin = `${scheme}://127.0.0.1:${storagePort}`;
  const close = (server: http.Server): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    baseUrl: `${apiOrigin}/api/v1`,
    apiOrigin,
    storageOrigin,
    fileUrl: (name) => `${storageOrigin}/files/${encodeURIComponent(name)}`,
    log,
    behaviour,
    transfers: () => transfers,
    close: async () => {
      await Promise.all([close(api), close(storage)]);
    },
  };
}

/**
 * Deterministic pseudo-random bytes (incompressible, so zips keep their size), for fixtures.
 *
 * @param size - number of bytes
 * @param seed - any string
 */
export function fixtureBytes(size: number, seed = 'fixture'): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let pos = 0; pos < size; pos += block.length) {
    block.copy(out, pos, 0, Math.min(block.length, size - pos));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/**
 * A real zip (built with adm-zip) holding a few files of deterministic bytes, like a tiny dataset.
 *
 * @param entries - file name → size in bytes. Default: two class folders with one file each, ~300 KB
 */
export function makeDatasetZip(entries: Record<string, number> = { 'train/a/1.bin': 200_000, 'train/b/2.bin': 100_000 }): Buffer {
  const zip = new AdmZip();
  for (const [name, size] of Object.entries(entries)) zip.addFile(name, fixtureBytes(size, name));
  return zip.toBuffer();
}

/** sha256 hex of bytes. */
export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
