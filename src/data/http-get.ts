/**
 * The GET of one download attempt: redirects are followed by hand so that `Authorization` is never
 * sent to another origin (Kaggle redirects to signed storage), the response headers must arrive
 * within `timeoutMs` (a server trickling them byte by byte never goes idle), and every status is
 * sorted: `200`/`206` are returned, `429`/`5xx` (and dropped connections) are retried, a `416` to a
 * Range request restarts the file, anything else fails at once with the caller's error or a
 * {@link DownloadError}.
 */
import { DownloadError, redactUrl } from './errors';
import type { HttpClient, HttpResponse } from './http-client';
import type { Deadline } from './limits';
import { RETRYABLE_STATUSES, RetryableError, parseRetryAfter } from './retry';

/** What a caller learns about a failed response, to build its own error (see `errorForStatus`). */
export interface FailedResponse {
  /** HTTP status. */
  status: number;
  /** The URL that answered (not yet redacted). */
  url: string;
  /** True when the answer came after at least one redirect. */
  redirected: boolean;
}

/** Options for {@link getFollowingRedirects}. */
export interface GetFollowingRedirectsArgs {
  /** Sends the requests. */
  client: HttpClient;
  /** The first URL (credentials already removed). */
  url: string;
  /** Request headers; `Authorization` is dropped on a hop to another origin. */
  headers: Record<string, string>;
  /** The first byte asked for with `headers.Range` (0 for none): a `416` then means start again from zero. */
  offset: number;
  /** Redirects followed before failing. */
  maxRedirects: number;
  /** Milliseconds each hop's response headers may take. */
  timeoutMs: number;
  /** The call's deadline: it aborts a hop still waiting for its headers. */
  deadline: Deadline;
  /** Maps a non-retryable status to the caller's error; `undefined` keeps the generic {@link DownloadError}. */
  errorForStatus?: (response: FailedResponse) => Error | undefined;
  /** Called before each request is sent (redirects included). */
  onRequest?: () => void;
}

/**
 * Sends the GET, following redirects, and returns the `200`/`206` response and the URL that gave it.
 *
 * @param args - see {@link GetFollowingRedirectsArgs}
 * @returns the response (its body not yet read) and the final URL
 * @throws {RetryableError} for a retryable status, a failed connection or headers that came too
 *   late (internal to the download core)
 * @throws {DownloadError} for too many redirects, a redirect to a bad or non-HTTP(S) address, or a
 *   non-retryable status (or the error `errorForStatus` returns)
 */
export async function getFollowingRedirects(args: GetFollowingRedirectsArgs): Promise<{ res: HttpResponse; finalUrl: URL }> {
  const { timeoutMs, deadline } = args;
  const origin = new URL(args.url);
  let current = origin;
  for (let hop = 0; ; hop++) {
    const sent = { ...args.headers };
    if (current.protocol !== origin.protocol || current.host !== origin.host) {
      for (const k of Object.keys(sent)) if (k.toLowerCase() === 'authorization') delete sent[k];
    }
    args.onRequest?.();
    const headerTimer = new AbortController();
    const timer = setTimeout(() => headerTimer.abort(), timeoutMs);
    const onDeadline = (): void => headerTimer.abort();
    if (deadline.expired) headerTimer.abort();
    deadline.signal.addEventListener('abort', onDeadline, { once: true });
    let res: HttpResponse;
    try {
      res = await args.client.get(current, { headers: sent, signal: headerTimer.signal });
    } catch (err) {
      if (err instanceof DownloadError && err.status === 407) throw err; // the proxy wants other credentials: no retry helps
      if (err instanceof DownloadError && err.status !== undefined) throw new RetryableError(err.message, { status: err.status });
      throw new RetryableError(headerTimer.signal.aborted && !deadline.expired ? `no response headers within ${timeoutMs} ms from ${redactUrl(current.href)}` : (err as Error).message);
    } finally {
      clearTimeout(timer);
      deadline.signal.removeEventListener('abort', onDeadline);
    }
    const status = res.statusCode;
    if (status === 200 || status === 206) return { res, finalUrl: current };
    res.body.destroy();
    const location = res.headers.location;
    if ((status === 301 || status === 302 || status === 303 || status === 307 || status === 308) && location !== undefined) {
      if (hop >= args.maxRedirects) throw new DownloadError(`Too many redirects (${args.maxRedirects}) fetching ${redactUrl(args.url)}.`, args.url, status);
      current = redirectTarget(current, location, status);
      continue;
    }
    if (status === 416 && args.offset > 0) {
      throw new RetryableError(`the server rejected the range ${args.offset}- (HTTP 416)`, { retryAfterMs: 0, restart: true });
    }
    if (RETRYABLE_STATUSES.has(status)) {
      throw new RetryableError(`HTTP ${status} from ${redactUrl(current.href)}`, { retryAfterMs: parseRetryAfter(res.headers['retry-after']), status });
    }
    const custom = args.errorForStatus?.({ status, url: current.href, redirected: hop > 0 });
    if (custom !== undefined) throw custom;
    throw new DownloadError(
      `GET ${redactUrl(current.href)} returned HTTP ${status} ${res.statusMessage}`.trimEnd() + '. Check that the URL is right and reachable from this machine.',
      current.href,
      status,
    );
  }
}

function redirectTarget(current: URL, location: string, status: number): URL {
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new DownloadError(`GET ${redactUrl(current.href)} redirected to an invalid address (${redactUrl(location)}). Check the URL.`, current.href, status);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new DownloadError(`GET ${redactUrl(current.href)} redirected to ${redactUrl(next.href)}, which is not an http(s) URL. Only HTTP(S) downloads are supported.`, current.href, status);
  }
  return next;
}
