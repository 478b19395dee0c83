/**
 * Proxy support for downloads: the `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` environment variables
 * as curl and Python's `urllib` read them (Node's `fetch` ignores them). An `https:` URL goes
 * through a CONNECT tunnel and TLS is negotiated with the origin end to end; an `http:` URL is sent
 * to the proxy in absolute form (`GET http://host/path`). Credentials in a proxy URL
 * (`http://user:pass@proxy:3128`) become a `Proxy-Authorization` header and never reach a message.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { DownloadError, redactUrl } from './errors';

/**
 * The proxy URL that applies to `url`, or `undefined` for a direct connection.
 *
 * Reads `https_proxy`/`HTTPS_PROXY` for `https:` URLs and `http_proxy`/`HTTP_PROXY` for `http:`
 * URLs (lowercase wins, as in curl), then `no_proxy`/`NO_PROXY`: a comma or space separated list
 * of host names (`example.com` also matches `a.example.com`; a leading `.` or `*.` is accepted),
 * `host:port`, IP addresses, or `*` for everything.
 *
 * @param url - the target URL
 * @param env - the environment to read (default `process.env`)
 * @returns the proxy URL string, or `undefined`
 * @example
 * proxyForUrl('https://www.kaggle.com/api', { HTTPS_PROXY: 'http://proxy:3128' }) // 'http://proxy:3128'
 */
export function proxyForUrl(url: string | URL, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const target = typeof url === 'string' ? new URL(url) : url;
  const scheme = target.protocol.replace(/:$/, '');
  const proxy =
    scheme === 'https'
      ? env.https_proxy ?? env.HTTPS_PROXY
      : scheme === 'http'
        ? env.http_proxy ?? env.HTTP_PROXY
        : undefined;
  if (proxy === undefined || proxy.trim() === '') return undefined;
  if (bypassProxy(target, env.no_proxy ?? env.NO_PROXY ?? '')) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy.trim() : `http://${proxy.trim()}`;
}

function bypassProxy(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.includes(']') && (m[1].match(/:/g) ?? []).length === 0) {
      entry = m[1];
      entryPort = m[2];
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** Options for {@link openHttpRequest}. */
export interface HttpRequestArgs {
  /** Request headers. */
  headers?: Record<string, string>;
  /** Proxy URL to go through (see {@link proxyForUrl}); `undefined` connects directly. */
  proxy?: string;
  /** Extra trusted CA certificates (PEM) for `https:` origins. Default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Milliseconds without socket activity before the request fails. Default 60000. */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/**
 * Sends a GET request, directly or through a proxy, and resolves with the response once its
 * headers arrive (the body is left to the caller to read).
 *
 * @param url - the target URL (`http:` or `https:`)
 * @param args - see {@link HttpRequestArgs}
 * @returns the response; the caller must consume or destroy it
 * @throws {DownloadError} when the proxy refuses the tunnel or the connection fails
 */
export async function openHttpRequest(url: URL, args: HttpRequestArgs = {}): Promise<http.IncomingMessage> {
  const headers = { ...(args.headers ?? {}) };
  const timeout = args.timeoutMs ?? 60_000;
  const isHttps = url.protocol === 'https:';
  if (!isHttps && url.protocol !== 'http:') {
    throw new DownloadError(`Expected an http: or https: URL but received ${redactUrl(url.href)}.`, url.href);
  }
  const port = Number(url.port || (isHttps ? 443 : 80));
  let options: https.RequestOptions;
  if (args.proxy === undefined) {
    options = { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port, path: url.pathname + url.search, ca: args.ca };
  } else {
    const proxy = new URL(args.proxy);
    const proxyAuth = proxyAuthorization(proxy);
    if (isHttps) {
      const socket = await openTunnel(proxy, url, port, proxyAuth, timeout, args.signal);
      options = {
        protocol: 'https:',
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port,
        path: url.pathname + url.search,
        ca: args.ca,
        agent: false,
        createConnection: () => tls.connect({ socket, servername: url.hostname, ca: args.ca }),
      };
    } else {
      if (proxyAuth !== undefined) headers['Proxy-Authorization'] = proxyAuth;
      headers.Host = url.host;
      options = { protocol: 'http:', hostname: proxy.hostname, port: Number(proxy.port || 80), path: url.href };
    }
  }
  return new Promise((resolve, reject) => {
    const mod = options.protocol === 'https:' ? https : http;
    const req = mod.request({ ...options, method: 'GET', headers, timeout, signal: args.signal }, resolve);
    // A plain Error: a reason for destroy(), reported by the 'error' handler inside a DownloadError naming the URL.
    req.on('timeout', () => req.destroy(new Error(`no data for ${timeout} ms`)));
    req.on('error', (err) => reject(new DownloadError(`GET ${redactUrl(url.href)} failed: ${err.message}`, url.href, undefined, { cause: err })));
    req.end();
  });
}

function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

function openTunnel(
  proxy: URL,
  target: URL,
  port: number,
  proxyAuth: string | undefined,
  timeout: number,
  signal?: AbortSignal,
): Promise<import('node:net').Socket> {
  const authority = `${target.hostname}:${port}`;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: authority };
    if (proxyAuth !== undefined) headers['Proxy-Authorization'] = proxyAuth;
    const mod = proxy.protocol === 'https:' ? https : http;
    const req = mod.request({
      hostname: proxy.hostname,
      port: Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)),
      method: 'CONNECT',
      path: authority,
      headers,
      timeout,
      signal,
      agent: false,
    });
    const safeProxy = redactUrl(proxy.href);
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(
          new DownloadError(
            `Proxy ${safeProxy} refused to open a tunnel to ${authority}: HTTP ${res.statusCode}. ` +
              'Check HTTPS_PROXY (and the proxy credentials), or add the host to NO_PROXY.',
            target.href,
            res.statusCode,
          ),
        );
        return;
      }
      resolve(socket);
    });
    // A plain Error: a reason for destroy(), reported inside a DownloadError naming the proxy.
    req.on('timeout', () => req.destroy(new Error(`no answer for ${timeout} ms`)));
    req.on('error', (err) =>
      reject(new DownloadError(`Could not reach proxy ${safeProxy} for ${redactUrl(target.href)}: ${err.message}`, target.href, undefined, { cause: err })),
    );
    req.end();
  });
}
