/**
 * Proxy support for downloads: the `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` environment variables
 * (Node's `fetch` ignores them), applied by undici's `EnvHttpProxyAgent`. This module only says
 * which values apply; undici matches `NO_PROXY`, opens the CONNECT tunnel for an `https:` URL (TLS
 * is negotiated with the origin end to end), sends an `http:` URL to the proxy in absolute form
 * (`GET http://host/path`), and turns credentials in a proxy URL (`http://user:pass@proxy:3128`)
 * into a `Proxy-Authorization` header.
 *
 * - Each scheme reads only its own variable, lowercase first, as curl does: `https_proxy` /
 *   `HTTPS_PROXY` for `https:` URLs, `http_proxy` / `HTTP_PROXY` for `http:` URLs. (Left to itself,
 *   undici would send `https:` URLs through `HTTP_PROXY` when `HTTPS_PROXY` is unset.)
 * - `no_proxy` / `NO_PROXY`: a comma or space separated list of host names (`example.com` also
 *   matches `a.example.com`; a leading `.` or `*.` is accepted), `host:port`, IP addresses, or `*`
 *   alone for everything.
 * - A proxy written without a scheme (`proxy:3128`) means `http://proxy:3128`.
 * - Only the given environment is read (never `process.env` behind the caller's back), and proxy
 *   passwords are listed by {@link proxySecrets} so that no message or log line can carry them.
 */
import type * as Undici from 'undici';

let undiciModule: typeof Undici | undefined;

/**
 * Loads undici on first use: it takes about 75 ms, which would add 40 % to `require('transferlab')`
 * (TF.js included), and most sessions never download.
 *
 * @returns the module
 */
export function loadUndici(): typeof Undici {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  undiciModule ??= require('undici') as typeof Undici;
  return undiciModule;
}

/** The proxy variables that apply to one URL scheme. */
export interface ProxySettings {
  /** The variable read for this scheme (as it is usually written). */
  variable: 'HTTPS_PROXY' | 'HTTP_PROXY';
  /** The proxy URL, with a scheme; `undefined` when the variable is unset or empty. */
  proxy?: string;
  /** The `NO_PROXY` list as written (`''` when unset). */
  noProxy: string;
}

/**
 * The proxy variables in `env` that apply to URLs of `protocol` (see the module comment).
 *
 * @param protocol - `'http:'` or `'https:'`
 * @param env - the environment to read
 * @returns the variable's name, the proxy URL (if any) and the `NO_PROXY` list
 * @example
 * proxySettings('https:', { HTTPS_PROXY: 'proxy:3128' }) // { variable: 'HTTPS_PROXY', proxy: 'http://proxy:3128', noProxy: '' }
 */
export function proxySettings(protocol: 'http:' | 'https:', env: NodeJS.ProcessEnv): ProxySettings {
  const https = protocol === 'https:';
  const raw = (https ? env.https_proxy ?? env.HTTPS_PROXY : env.http_proxy ?? env.HTTP_PROXY)?.trim() ?? '';
  const proxy = raw === '' ? undefined : /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  return { variable: https ? 'HTTPS_PROXY' : 'HTTP_PROXY', proxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? '' };
}

/** Connection settings shared by the direct and the proxied connections of {@link createProxyAgent}. */
export interface ProxyAgentArgs {
  /** Extra trusted CA certificates (PEM) for `https:` origins (not for an `https:` proxy). Default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Milliseconds a TCP (and TLS) connection may take, to the origin or to the proxy. */
  connectTimeoutMs: number;
}

/**
 * An undici dispatcher for URLs of `protocol`: through the proxy that `env` names for that scheme,
 * or direct for a host that `NO_PROXY` lists (or when no proxy is set). The caller closes it.
 *
 * @param protocol - `'http:'` or `'https:'`; send only URLs of this scheme through the result
 * @param env - the environment to read (see {@link proxySettings})
 * @param args - see {@link ProxyAgentArgs}
 * @returns the dispatcher
 */
export function createProxyAgent(protocol: 'http:' | 'https:', env: NodeJS.ProcessEnv, args: ProxyAgentArgs): Undici.EnvHttpProxyAgent {
  const { proxy, noProxy } = proxySettings(protocol, env);
  // '' (not undefined) for the other scheme and for an unset variable: undici would read process.env.
  const timeout = args.connectTimeoutMs;
  return new (loadUndici().EnvHttpProxyAgent)({
    httpProxy: protocol === 'http:' ? proxy ?? '' : '',
    httpsProxy: protocol === 'https:' ? proxy ?? '' : '',
    noProxy,
    // http: URLs in absolute form, not through a CONNECT tunnel (what plain HTTP proxies expect).
    proxyTunnel: false,
    connect: { ca: args.ca, timeout },
    requestTls: { ca: args.ca, timeout },
    proxyTls: { timeout },
  });
}

/**
 * The passwords of the proxy URLs in `env` (raw and percent-decoded), to scrub from messages.
 *
 * @param env - the environment to read
 * @returns the non-empty passwords
 */
export function proxySecrets(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const protocol of ['http:', 'https:'] as const) {
    const { proxy } = proxySettings(protocol, env);
    if (proxy === undefined) continue;
    try {
      const { password } = new URL(proxy);
      if (password !== '') out.push(password, decodeURIComponent(password));
    } catch {
      // A proxy URL that does not parse fails the request, and its message goes through redactUrl.
    }
  }
  return out;
}
