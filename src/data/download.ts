/**
 * The download core shared by {@link getFile} and the Kaggle client: a resumable, retrying,
 * lock-protected HTTP GET into a file.
 *
 * - Bytes go to `<dest>.part`, renamed onto `dest` only once complete (a reader never sees half a
 *   file). A `.part` left by an interrupted run is resumed with `Range: bytes=<size>-` (plus
 *   `If-Range`) when the server answers `206`; a `200` to a Range request restarts from zero (never
 *   appends).
 * - `429` and `5xx` (and dropped connections) are retried with capped exponential backoff that
 *   honours `Retry-After` (seconds or an HTTP date, capped). Other statuses fail at once.
 * - Redirects are followed by hand so that `Authorization` is never sent to another origin (Kaggle
 *   redirects to signed storage).
 * - `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` are honoured (see `proxy.ts`).
 * - `<dest>.lock` (see `lock.ts`) keeps two processes from writing the same file; the second one
 *   waits and then reuses the finished file.
 * - Secrets (keys, proxy passwords, signatures) never reach a message: URLs go through `redactUrl`
 *   and every error leaving {@link downloadFile} is scrubbed of the strings in `secrets`.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import { createProgress, type ProgressMode } from '../runtime/progress';
import { DownloadError, redactUrl } from './errors';
import { withFileLock, type FileLockArgs } from './lock';
import { openHttpRequest, proxyForUrl } from './proxy';

/** Retry policy of {@link downloadFile}. */
export interface RetryArgs {
  /** Consecutive failed attempts retried before giving up (attempts that received bytes reset the count). Default 5. */
  retries?: number;
  /** First backoff delay in ms; doubles each failure. Default 1000. */
  minDelayMs?: number;
  /** Largest backoff delay in ms. Default 30000. */
  maxDelayMs?: number;
  /** Largest wait in ms accepted from a `Retry-After` header. Default 120000. */
  maxRetryAfterMs?: number;
}

/** What a caller learns about a failed response, to build its own error (see `errorForStatus`). */
export interface FailedResponse {
  /** HTTP status. */
  status: number;
  /** The URL that answered (not yet redacted). */
  url: string;
  /** True when the answer came after at least one redirect. */
  redirected: boolean;
}

/** Options for {@link downloadFile}. */
export interface DownloadFileArgs {
  /** The URL to fetch (`http:` or `https:`). */
  url: string;
  /** The final file path; parent directories are created. */
  dest: string;
  /** Extra request headers; `Authorization` is dropped on a redirect to another origin. */
  headers?: Record<string, string>;
  /** Re-download even when `dest` is complete. Default `false`. */
  force?: boolean;
  /** No progress and no informational lines (warnings still print). Default `false`. */
  quiet?: boolean;
  /** Progress label. Default: the base name of `dest`. */
  label?: string;
  /** Retry policy. */
  retry?: RetryArgs;
  /** Milliseconds without socket activity before an attempt fails. Default 60000. */
  timeoutMs?: number;
  /** Maximum redirects followed. Default 10. */
  maxRedirects?: number;
  /** Extra trusted CA certificates (PEM) for https origins. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Environment read for proxy variables. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Force a progress mode (default: chosen by `createProgress`; `'silent'` when `quiet`). */
  progressMode?: ProgressMode;
  /** Stream for progress bars and lines. Default `process.stderr`. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Where informational lines and warnings go. Default: a line on `process.stderr`. */
  log?: (message: string) => void;
  /** Decides whether an existing `dest` is complete. Default: it exists. */
  isComplete?: (dest: string) => Promise<boolean>;
  /** Maps a non-retryable status to the caller's error; `undefined` keeps the generic {@link DownloadError}. */
  errorForStatus?: (response: FailedResponse) => Error | undefined;
  /** Lock tuning (poll interval, staleness). */
  lock?: FileLockArgs;
  /**
   * Checks the finished `.part` file before it is renamed onto `dest` (e.g. a hash). If it throws,
   * the `.part` is deleted and the error is rethrown, so a bad file never appears at `dest`.
   */
  verify?: (partPath: string) => Promise<void>;
  /** Called under the lock when a transfer really starts (not when a complete copy is reused). */
  onStart?: () => void;
  /** Runs under the lock right after `dest` is in place (e.g. to record completeness). */
  afterDownload?: (result: DownloadFileResult) => Promise<void>;
  /** Strings removed from any error message or log line (API keys, passwords). */
  secrets?: string[];
}

/** What {@link downloadFile} did. */
export interface DownloadFileResult {
  /** The final file. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
  /** True when an existing complete copy was reused and nothing was transferred. */
  skipped: boolean;
  /** True when some bytes came from an earlier partial transfer (HTTP Range). */
  resumed: boolean;
  /** HTTP requests sent, redirects included. */
  requests: number;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/**
 * Replaces every occurrence of each secret in `text` by `***`.
 *
 * @param text - a message
 * @param secrets - strings to remove (empty strings are ignored)
 * @returns the scrubbed text
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length === 0) continue;
    out = out.split(s).join('***');
    const b64 = Buffer.from(s).toString('base64').replace(/=+$/, '');
    if (b64.length >= 8) out = out.split(b64).join('***');
  }
  return out;
}

/**
 * Parses a `Retry-After` header (delay in seconds, or an HTTP date).
 *
 * @param value - the header value
 * @param now - the current time in ms (for dates). Default `Date.now()`
 * @returns milliseconds to wait (>= 0), or `undefined` when absent or unparseable
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return undefined;
  }
}

interface PartMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

async function readPartMeta(file: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

/**
 * Streams a response body into `file`. Unlike `pipeline`, a broken connection does not discard
 * what was already received: the file stream is ended gracefully so every byte that arrived is on
 * disk (a resume then continues from the true size). Resolves with the network error, if any;
 * rejects on a disk error.
 */
function writeBody(res: IncomingMessage, file: string, flags: 'a' | 'w', onData: (n: number) => void): Promise<Error | undefined> {
  return new Promise((resolve, reject) => {
    const ws = createWriteStream(file, { flags, highWaterMark: 1 << 20 });
    let broken: Error | undefined;
    let ended = false;
    const finish = (err?: Error): void => {
      if (ended) return;
      ended = true;
      broken = err;
      ws.end();
    };
    ws.on('error', (err) => {
      res.destroy();
      reject(new DownloadError(`Could not write ${file}: ${err.message}. Check free disk space and permissions.`, file));
    });
    ws.on('finish', () => resolve(broken));
    res.on('data', (chunk: Buffer) => {
      onData(chunk.length);
      if (!ws.write(chunk)) {
        res.pause();
        ws.once('drain', () => res.resume());
      }
    });
    res.on('end', () => finish());
    res.on('error', (err) => finish(err));
    res.on('close', () => {
      if (!res.complete) finish(new Error('connection closed early'));
    });
  });
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Downloads `url` into `dest` (resumable, retried, locked). See the module comment for the rules.
 *
 * @param args - see {@link DownloadFileArgs}
 * @returns a {@link DownloadFileResult}
 * @throws {DownloadError} after the retries are spent, or at once for a non-retryable status
 *   (or the error `errorForStatus` returns); messages carry the redacted URL and the status
 * @example
 * const { path, bytes } = await downloadFile({ url: 'https://example.com/data.zip', dest: '/tmp/data.zip' });
 */
export async function downloadFile(args: DownloadFileArgs): Promise<DownloadFileResult> {
  const secrets = [...(args.secrets ?? [])];
  // `https://user:password@host/file`: send the pair as basic auth (same origin only), never print it.
  let parsed: URL;
  try {
    parsed = new URL(args.url);
  } catch {
    throw new DownloadError(`Expected an absolute http(s) URL but received ${redactUrl(args.url)}.`, args.url);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    const pair = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    const token = Buffer.from(pair).toString('base64');
    if (parsed.password !== '') secrets.push(decodeURIComponent(parsed.password), parsed.password);
    secrets.push(token);
    const hasAuth = Object.keys(args.headers ?? {}).some((k) => k.toLowerCase() === 'authorization');
    parsed.username = '';
    parsed.password = '';
    args = { ...args, url: parsed.href, headers: hasAuth ? args.headers : { ...args.headers, Authorization: `Basic ${token}` }, secrets };
  }
  const rawLog = args.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const log = (m: string): void => rawLog(scrubSecrets(m, secrets));
  try {
    return await downloadLocked(args, log);
  } catch (err) {
    if (err instanceof Error && secrets.length > 0) {
      err.message = scrubSecrets(err.message, secrets);
      if (err.stack) err.stack = scrubSecrets(err.stack, secrets);
    }
    throw err;
  }
}

async function downloadLocked(args: DownloadFileArgs, log: (m: string) => void): Promise<DownloadFileResult> {
  const dest = path.resolve(args.dest);
  const isComplete = args.isComplete ?? (async (f: string) => (await fileSize(f)) !== undefined);
  const skipped = async (): Promise<DownloadFileResult> => ({ path: dest, bytes: (await fileSize(dest)) ?? 0, skipped: true, resumed: false, requests: 0 });
  if (!(args.force ?? false) && (await isComplete(dest))) return skipped();
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  let waited = false;
  return withFileLock(
    `${dest}.lock`,
    async () => {
      // Someone else may have finished it while we waited: reuse theirs (even with force).
      if ((!(args.force ?? false) || waited) && (await isComplete(dest))) return skipped();
      args.onStart?.();
      return transfer(args, dest, log);
    },
    {
      ...args.lock,
      onWait: (holder) => {
        waited = true;
        if (!(args.quiet ?? false)) log(`Waiting for ${holder}, which is downloading ${dest}`);
        args.lock?.onWait?.(holder);
      },
    },
  );
}

async function transfer(args: DownloadFileArgs, dest: string, log: (m: string) => void): Promise<DownloadFileResult> {
  const quiet = args.quiet ?? false;
  const retries = args.retry?.retries ?? 5;
  const minDelayMs = args.retry?.minDelayMs ?? 1000;
  const maxDelayMs = args.retry?.maxDelayMs ?? 30_000;
  const maxRetryAfterMs = args.retry?.maxRetryAfterMs ?? 120_000;
  const part = `${dest}.part`;
  const metaFile = `${dest}.part.json`;
  const origin = new URL(args.url);
  const safeUrl = redactUrl(args.url);

  let meta: PartMeta = { url: safeUrl };
  if (args.force ?? false) {
    await fsp.rm(part, { force: true });
  } else {
    const old = await readPartMeta(metaFile);
    // A .part from another URL (or without a record) is not ours to continue.
    if (old === undefined || old.url !== safeUrl) await fsp.rm(part, { force: true });
    else meta = old;
  }
  let resumed = false;
  let requests = 0;
  let failures = 0;
  let progress: ReturnType<typeof createProgress> | undefined;

  for (;;) {
    const offset = (await fileSize(part)) ?? 0;
    let received = 0;
    try {
      const res = await request(offset);
      const status = res.statusCode ?? 0;
      let flags: 'a' | 'w' = 'w';
      let start = 0;
      if (status === 206 && offset > 0) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
        if (!m || Number(m[1]) !== offset) {
          res.destroy();
          await fsp.rm(part, { force: true });
          throw new RetryableError(`the server answered the Range request with ${res.headers['content-range'] ?? 'no Content-Range'}`);
        }
        flags = 'a';
        start = offset;
        resumed = true;
        if (m[3] !== '*') meta.total = Number(m[3]);
      } else if (status === 200 || status === 206) {
        if (offset > 0 && !quiet) log(`The server ignored the Range request for ${safeUrl}; restarting from the beginning.`);
        const len = res.headers['content-length'];
        meta.total = len !== undefined ? Number(len) : undefined;
      } else {
        throw new Error('unreachable');
      }
      const etag = res.headers.etag;
      meta.etag = etag !== undefined && !etag.startsWith('W/') ? etag : undefined;
      meta.lastModified = res.headers['last-modified'];
      await fsp.writeFile(metaFile, JSON.stringify(meta));

      progress ??= createProgress({
        label: args.label ?? path.basename(dest),
        total: meta.total,
        unit: 'bytes',
        mode: quiet ? 'silent' : args.progressMode,
        stream: args.progressStream,
      });
      const p = progress;
      const broken = await writeBody(res, part, flags, (n) => {
        received += n;
        p.update(start + received);
      });
      if (broken !== undefined) throw new RetryableError(`the connection broke after ${start + received} bytes (${broken.message})`);
      const size = (await fileSize(part)) ?? 0;
      if (meta.total !== undefined && size !== meta.total) {
        throw new RetryableError(`received ${size} of ${meta.total} bytes`);
      }
      p.finish();
      if (args.verify !== undefined) {
        try {
          await args.verify(part);
        } catch (err) {
          await fsp.rm(part, { force: true });
          await fsp.rm(metaFile, { force: true });
          throw err;
        }
      }
      await fsp.rename(part, dest);
      await fsp.rm(metaFile, { force: true });
      const result: DownloadFileResult = { path: dest, bytes: size, skipped: false, resumed, requests };
      await args.afterDownload?.(result);
      return result;
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      if (received > 0) failures = 0;
      failures++;
      // A host name that does not resolve (offline, or a closed network) rarely heals within the
      // backoff window: one retry, then fail fast instead of waiting half a minute.
      const unresolvable = /\bENOTFOUND\b/.test(err.message);
      if (failures > retries || (unresolvable && failures >= 2)) {
        throw new DownloadError(
          `Download of ${safeUrl} failed after ${failures} attempts: ${err.message}. ` +
            'Check the network (and HTTPS_PROXY if you are behind a proxy) and run again: the transfer resumes where it stopped.',
          args.url,
          err.status,
        );
      }
      const backoff = Math.min(maxDelayMs, minDelayMs * 2 ** (failures - 1));
      const delay = err.retryAfterMs !== undefined ? Math.min(maxRetryAfterMs, err.retryAfterMs) : received > 0 ? minDelayMs : backoff;
      if (!quiet) log(`Retrying ${safeUrl} in ${(delay / 1000).toFixed(1)}s (${err.message}; attempt ${failures + 1} of ${retries + 1}).`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Sends the GET (following redirects) and returns a 200/206 response; throws otherwise. */
  async function request(offset: number): Promise<IncomingMessage> {
    const headers: Record<string, string> = { 'User-Agent': 'transferlab', 'Accept-Encoding': 'identity', ...(args.headers ?? {}) };
    if (offset > 0) {
      headers.Range = `bytes=${offset}-`;
      const validator = meta.etag ?? meta.lastModified;
      if (validator !== undefined) headers['If-Range'] = validator;
    }
    let current = origin;
    const maxRedirects = args.maxRedirects ?? 10;
    for (let hop = 0; ; hop++) {
      const sent = { ...headers };
      if (!sameOrigin(current, origin)) {
        for (const k of Object.keys(sent)) if (k.toLowerCase() === 'authorization') delete sent[k];
      }
      requests++;
      const res = await openHttpRequest(current, {
        headers: sent,
        proxy: proxyForUrl(current, args.env ?? process.env),
        ca: args.ca,
        timeoutMs: args.timeoutMs,
      }).catch((err: Error) => {
        throw new RetryableError(err.message);
      });
      const status = res.statusCode ?? 0;
      if (status === 200 || status === 206) return res;
      res.resume();
      if (REDIRECT.has(status) && res.headers.location !== undefined) {
        if (hop >= maxRedirects) throw new DownloadError(`Too many redirects (${maxRedirects}) fetching ${safeUrl}.`, args.url, status);
        current = new URL(res.headers.location, current);
        continue;
      }
      if (status === 416 && offset > 0) {
        await fsp.rm(part, { force: true });
        throw new RetryableError(`the server rejected the range ${offset}- (HTTP 416)`, 0);
      }
      if (RETRYABLE.has(status)) {
        const ra = res.headers['retry-after'];
        throw new RetryableError(`HTTP ${status} from ${redactUrl(current.href)}`, parseRetryAfter(Array.isArray(ra) ? ra[0] : ra), status);
      }
      const custom = args.errorForStatus?.({ status, url: current.href, redirected: hop > 0 });
      if (custom !== undefined) throw custom;
      throw new DownloadError(
        `GET ${redactUrl(current.href)} returned HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() +
          '. Check that the URL is right and reachable from this machine.',
        current.href,
        status,
      );
    }
  }
}
