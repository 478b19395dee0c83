/**
 * The HTTP transport of downloads: one GET, sent with undici (directly or through the proxy that
 * the environment names, see `proxy.ts`), answered with a small {@link HttpResponse} once the
 * headers arrive. Failures become {@link DownloadError}s whose messages carry only redacted URLs.
 * Redirects, statuses and retries are the caller's (`http-get.ts`, `download.ts`).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { DownloadError, redactUrl } from './errors';
import { createProxyAgent, loadUndici, proxySettings, type ProxySettings } from './proxy';

/** A response whose headers have arrived; the caller reads or destroys {@link HttpResponse.body}. */
export interface HttpResponse {
  /** HTTP status. */
  statusCode: number;
  /** The reason phrase (may be empty). */
  statusMessage: string;
  /** Headers by lower-case name; a repeated header is joined with `', '`, as `node:http` does. */
  headers: Record<string, string | undefined>;
  /**
   * The body. Its errors are handled (a listener is attached), so it may be left unread; a body
   * that stays silent for `timeoutMs` fails with the reason `no data for <timeoutMs> ms`.
   */
  body: Readable;
}

/** Options for {@link HttpClient}. */
export interface HttpClientArgs {
  /** Environment read for `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA certificates (PEM) for `https:` origins. Default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Milliseconds a connection may take, and a body may stay silent, before the request fails. Default 60000. */
  timeoutMs?: number;
}

/** Options of one {@link HttpClient.get}. */
export interface HttpGetArgs {
  /** Request headers. */
  headers?: Record<string, string>;
  /** Aborts the request (before or after the headers). */
  signal?: AbortSignal;
}

/**
 * Sends GET requests over a pool of connections (one per scheme, proxied or not as the environment
 * says). Close it when done: {@link HttpClient.close}.
 */
export class HttpClient {
  private readonly agents = new Map<'http:' | 'https:', Dispatcher>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;

  /**
   * @param args - see {@link HttpClientArgs}
   * @throws {TypeError} when `HTTPS_PROXY` or `HTTP_PROXY` is set to something that is not a URL
   */
  constructor(private readonly args: HttpClientArgs = {}) {
    this.env = args.env ?? process.env;
    this.timeoutMs = args.timeoutMs ?? 60_000;
    for (const protocol of ['http:', 'https:'] as const) {
      const { variable, proxy } = proxySettings(protocol, this.env);
      if (proxy !== undefined && !parses(proxy)) {
        throw new TypeError(`${variable} is not a valid proxy URL (${redactUrl(proxy)}): set it to a URL like http://proxy.example:3128, or unset it.`);
      }
    }
  }

  /**
   * Sends a GET request and resolves once the response headers arrive (any status; no redirect
   * is followed). The wait for the headers has no limit of its own: bound it with `signal`.
   *
   * @param url - the target URL (`http:` or `https:`)
   * @param args - see {@link HttpGetArgs}
   * @returns the response; the caller must consume or destroy its body
   * @throws {DownloadError} for another scheme, a proxy that refuses the request (with its status, e.g. 407), or a failed connection
   */
  async get(url: URL, args: HttpGetArgs = {}): Promise<HttpResponse> {
    const protocol = url.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new DownloadError(`Expected an http: or https: URL but received ${redactUrl(url.href)}.`, url.href);
    }
    const proxy = proxySettings(protocol, this.env);
    let res: Dispatcher.ResponseData;
    try {
      res = await loadUndici().request(url, {
        method: 'GET',
        headers: args.headers,
        signal: args.signal,
        dispatcher: this.agent(protocol),
        // The caller's signal bounds the wait for the headers (connecting and the proxy included).
        headersTimeout: 0,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw failure(err as Error & { code?: string }, url, proxy);
    }
    const body = res.body;
    body.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'UND_ERR_BODY_TIMEOUT') err.message = `no data for ${this.timeoutMs} ms`;
    });
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(res.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    return { statusCode: res.statusCode, statusMessage: res.statusText ?? '', headers, body };
  }

  /** Closes every connection (requests still running fail). */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.destroy()));
  }

  private agent(protocol: 'http:' | 'https:'): Dispatcher {
    let agent = this.agents.get(protocol);
    if (agent === undefined) {
      agent = createProxyAgent(protocol, this.env, { ca: this.args.ca, connectTimeoutMs: this.timeoutMs });
      this.agents.set(protocol, agent);
    }
    return agent;
  }
}

function parses(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/** The DownloadError for a request that got no response: a refusing proxy, or a failed connection. */
function failure(err: Error & { code?: string }, url: URL, proxy: ProxySettings): DownloadError {
  if (err instanceof DownloadError) return err;
  const safeProxy = proxy.proxy === undefined ? '' : redactUrl(proxy.proxy);
  // undici's words for a proxy's refusal: of a CONNECT tunnel (https:), or of an absolute-form GET (http:).
  const refused = /^Proxy (?:response \((\d{3})\) !== 200|Authentication Required \((\d{3})\))/.exec(err.message);
  if (refused !== null && proxy.proxy !== undefined) {
    const status = Number(refused[1] ?? refused[2]);
    const what = url.protocol === 'https:' ? `to open a tunnel to ${url.host}` : `GET ${redactUrl(url.href)}`;
    return new DownloadError(
      `Proxy ${safeProxy} refused ${what}: HTTP ${status}. Check ${proxy.variable} (and the proxy credentials), or add the host to NO_PROXY.`,
      url.href,
      status,
    );
  }
  const reason = err.message !== '' ? err.message : err.code ?? err.name;
  const via = proxy.proxy === undefined ? '' : ` (${proxy.variable} is ${safeProxy}${proxy.noProxy !== '' ? `, NO_PROXY is ${proxy.noProxy}` : ''})`;
  return new DownloadError(`GET ${redactUrl(url.href)} failed: ${reason}${via}`, url.href, undefined, { cause: err });
}
