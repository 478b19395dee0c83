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
 * - Bounded whatever the server does ({@link DOWNLOAD_DEFAULTS}): an overall deadline (`deadlineMs`,
 *   lock wait, attempts and backoff included), a minimum speed per attempt (`minSpeed`), a time
 *   limit for the response headers and for socket silence (`timeoutMs`), a hard cap on attempts
 *   (`retry.maxAttempts`); only bytes that a later attempt continues from reset the failure count.
 *   Every path settles: a connection that dies between the headers and the body is a broken
 *   attempt, not a promise left pending.
 * - A finished transfer is checked before it is renamed onto `dest` (declared size, content — see
 *   `content-check.ts` — then the caller's `verify`, e.g. a hash); an existing `dest` that fails the
 *   content check is downloaded again, not reused.
 */
import { createWriteStream, promises as fsp, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { createProgress, type ProgressMode } from '../runtime/progress';
import { checkInteger, checkNumber } from '../util/validate';
import { checkFileContent, resolveExpectedContent, type ContentKind, type ExpectedContent } from './content-check';

export type { ExpectedContent } from './content-check';
import { DownloadError, DownloadTimeoutError, UnexpectedContentError, redactUrl } from './errors';
import { withFileLock, type FileLockArgs } from './lock';
import { HttpClient, type HttpResponse } from './http-client';
import { proxySecrets } from './proxy';

/** Retry policy of {@link downloadFile}. */
export interface RetryArgs {
  /**
   * Consecutive failed attempts retried before giving up. An attempt resets the count only when it
   * took the `.part` file further than any attempt before and the server can resume from there
   * (a `206`, or `Accept-Ranges: bytes`); bytes that are thrown away (a `200` answering a Range
   * request, a server that cannot resume) never do. Default 5.
   */
  retries?: number;
  /** Attempts in all, whatever the progress, before giving up. Default `10 × (retries + 1)`. */
  maxAttempts?: number;
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
  /** Milliseconds without socket activity, or waiting for the response headers, before an attempt fails. Default 60000. */
  timeoutMs?: number;
  /**
   * Milliseconds the whole call may take (waiting for another process's lock, every attempt and
   * backoff); then it rejects with a {@link DownloadTimeoutError} (the `.part` is kept for a
   * resume). `Infinity` turns it off. Default 3 600 000 (1 hour).
   */
  deadlineMs?: number;
  /**
   * An attempt that receives fewer than `bytesPerSecond × windowMs / 1000` bytes in any `windowMs`
   * fails (and is retried) — a trickle of 1 byte every 300 ms is not a download. Defaults
   * `bytesPerSecond` 1024 (0 turns the rule off), `windowMs` 30000.
   */
  minSpeed?: { bytesPerSecond?: number; windowMs?: number };
  /**
   * What the finished file must be (see {@link ExpectedContent}): checked before it is marked
   * complete, and on a `dest` that already exists (a copy that fails is downloaded again).
   * Default `'auto'` (from `dest`'s extension: `.zip`, `.h5`; anything else must not be an HTML page).
   */
  expect?: ExpectedContent;
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
  /** Transfer attempts made (0 when a complete copy was reused). */
  attempts: number;
}

/** The documented defaults of {@link DownloadFileArgs} and {@link RetryArgs}. */
export const DOWNLOAD_DEFAULTS = Object.freeze({
  retries: 5,
  minDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
  timeoutMs: 60_000,
  deadlineMs: 3_600_000,
  minBytesPerSecond: 1024,
  speedWindowMs: 30_000,
  maxRedirects: 10,
});

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
 * The overall time limit of one {@link downloadFile} call: an abort signal that fires when it
 * passes, and sleeps that end early when it does. The timer is deliberately not `unref()`ed, so a
 * script awaiting a download that can make no progress still settles (with an error) instead of
 * exiting silently.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  constructor(readonly ms: number) {
    if (Number.isFinite(ms)) this.timer = setTimeout(() => this.controller.abort(), ms);
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get expired(): boolean {
    return this.controller.signal.aborted;
  }
  remaining(): number {
    return Number.isFinite(this.ms) ? Math.max(0, this.ms - (Date.now() - this.startedAt)) : Infinity;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.expired) return resolve();
      const done = (): void => {
        clearTimeout(t);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.min(ms, this.remaining()));
      this.signal.addEventListener('abort', done, { once: true });
    });
  }
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

/** What a body transfer must respect besides the socket's idle timeout. */
interface BodyRules {
  /** The call's deadline. */
  signal: AbortSignal;
  /** Minimum average speed over `windowMs` (0: no rule). */
  minBytesPerSecond: number;
  windowMs: number;
}

/**
 * Streams a response body into `file`. Unlike `pipeline`, a broken connection does not discard
 * what was already received: the file stream is ended gracefully so every byte that arrived is on
 * disk (a resume then continues from the true size). Resolves with the network error (or why the
 * attempt was cut: too slow, the deadline), if any; rejects on a disk error. A response that died
 * before this was called (between its headers and now) resolves at once with an error.
 */
function writeBody(res: Readable, file: string, flags: 'a' | 'w', onData: (n: number) => void, rules: BodyRules): Promise<Error | undefined> {
  return new Promise((resolve, reject) => {
    const ws = createWriteStream(file, { flags, highWaterMark: 1 << 20 });
    let broken: Error | undefined;
    let ended = false;
    let received = 0;
    let ticker: NodeJS.Timeout | undefined;
    // The plain Errors given to finish() are reasons, not failures: the caller retries and, when
    // retries run out, reports them inside a DownloadError naming the URL.
    const onAbort = (): void => finish(new Error('the deadline passed'));
    const finish = (err?: Error): void => {
      if (ended) return;
      ended = true;
      broken = err;
      if (ticker !== undefined) clearInterval(ticker);
      rules.signal.removeEventListener('abort', onAbort);
      if (err !== undefined && !res.destroyed) res.destroy();
      ws.end();
    };
    ws.on('error', (err) => {
      finish();
      res.destroy();
      reject(new DownloadError(`Could not write ${file}: ${err.message}. Check free disk space and permissions.`, file));
    });
    ws.on('finish', () => resolve(broken));
    if (rules.signal.aborted) return onAbort();
    if (res.destroyed && !res.readableEnded) return finish(new Error('connection closed before the body arrived'));
    rules.signal.addEventListener('abort', onAbort, { once: true });
    if (rules.minBytesPerSecond > 0) {
      const need = (rules.minBytesPerSecond * rules.windowMs) / 1000;
      const samples: Array<[number, number]> = [[Date.now(), 0]];
      ticker = setInterval(() => {
        const now = Date.now();
        samples.push([now, received]);
        while (samples.length > 1 && samples[1][0] <= now - rules.windowMs) samples.shift();
        const [t0, b0] = samples[0];
        if (now - t0 >= rules.windowMs && received - b0 < need) {
          finish(new Error(`only ${received - b0} bytes arrived in ${now - t0} ms, slower than the minimum of ${rules.minBytesPerSecond} bytes/s (minSpeed)`));
        }
      }, Math.max(10, Math.min(1000, Math.floor(rules.windowMs / 4))));
      ticker.unref();
    }
    res.on('data', (chunk: Buffer) => {
      if (ended) return;
      received += chunk.length;
      onData(chunk.length);
      if (!ws.write(chunk)) {
        res.pause();
        ws.once('drain', () => res.resume());
      }
    });
    res.on('end', () => finish());
    res.on('error', (err) => finish(err));
    res.on('close', () => {
      if (!res.readableEnded) finish(new Error('connection closed early')); // a plain Error: a reason, as above
    });
  });
}

/** Internal: an attempt failed in a way worth retrying; never leaves downloadFile (the last one becomes a DownloadError). */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
  }
}

function deadlineOf(args: DownloadFileArgs): number {
  const v = args.deadlineMs ?? DOWNLOAD_DEFAULTS.deadlineMs;
  return v === Infinity ? v : checkNumber('deadlineMs', v, 1);
}

/**
 * Downloads `url` into `dest` (resumable, retried, locked, bounded in time). See the module comment
 * for the rules.
 *
 * @param args - see {@link DownloadFileArgs}
 * @returns a {@link DownloadFileResult}
 * @throws {DownloadError} at once for a URL that is not `http:`/`https:` or a non-retryable status
 *   (or the error `errorForStatus` returns), after the retries otherwise; messages carry the
 *   redacted URL and the status
 * @throws {UnexpectedContentError} when the server sent something else than the file (an HTML
 *   page, a file without the expected zip/HDF5 signature); nothing is saved
 * @throws {DownloadTimeoutError} when `deadlineMs` passes first
 * @example
 * const { path, bytes } = await downloadFile({ url: 'https://example.com/data.zip', dest: '/tmp/data.zip' });
 */
export async function downloadFile(args: DownloadFileArgs): Promise<DownloadFileResult> {
  const secrets = [...(args.secrets ?? []), ...proxySecrets(args.env ?? process.env)];
  // `https://user:password@host/file`: send the pair as basic auth (same origin only), never print it.
  let parsed: URL;
  try {
    parsed = new URL(args.url);
  } catch {
    throw new DownloadError(`Expected an absolute http(s) URL but received ${redactUrl(String(args.url))}.`, String(args.url));
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DownloadError(
      `Expected an http: or https: URL but received ${redactUrl(args.url)} (protocol ${parsed.protocol}). ` +
        'Only HTTP(S) downloads are supported: fetch the file another way and use its local path.',
      args.url,
    );
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
  const deadline = new Deadline(deadlineOf(args));
  try {
    return await downloadLocked(args, log, deadline);
  } catch (err) {
    if (err instanceof Error && secrets.length > 0) {
      err.message = scrubSecrets(err.message, secrets);
      if (err.stack) err.stack = scrubSecrets(err.stack, secrets);
    }
    throw err;
  } finally {
    deadline.dispose();
  }
}

function timeoutError(args: DownloadFileArgs, deadline: Deadline, detail: string): DownloadTimeoutError {
  return new DownloadTimeoutError(
    `Download of ${redactUrl(args.url)} did not finish within deadlineMs (${deadline.ms} ms): ${detail}. ` +
      'Nothing was saved at the destination (a .part file is kept and the next run resumes). ' +
      'On a slow but working link raise deadlineMs; otherwise check the URL and the network.',
    args.url,
    deadline.ms,
  );
}

async function downloadLocked(args: DownloadFileArgs, log: (m: string) => void, deadline: Deadline): Promise<DownloadFileResult> {
  const dest = path.resolve(args.dest);
  const kind = resolveExpectedContent(args.expect ?? 'auto', dest);
  const isComplete = args.isComplete ?? (async (f: string) => (await fsp.stat(f).catch(() => undefined))?.isFile() === true);
  const skipped = async (): Promise<DownloadFileResult> => ({ path: dest, bytes: (await fileSize(dest)) ?? 0, skipped: true, resumed: false, requests: 0, attempts: 0 });
  // A cached copy counts only when it is a file and passes the content check; one that does not is fetched again.
  const complete = async (): Promise<boolean> => {
    const st = await fsp.stat(dest).catch(() => undefined);
    if (st === undefined) return false;
    if (!st.isFile()) {
      throw new DownloadError(`Cannot download ${redactUrl(args.url)} to ${dest}: that path is ${st.isDirectory() ? 'a folder' : 'not a regular file'}. Choose a file path.`, args.url);
    }
    if (!(await isComplete(dest))) return false;
    const reason = await checkFileContent(dest, kind);
    if (reason === null) return true;
    if (!warned) log(`The copy at ${dest} cannot be used (${reason}); downloading it again.`);
    warned = true;
    return false;
  };
  let warned = false;
  if (!(args.force ?? false) && (await complete())) return skipped();
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  let waited = false;
  const lockTimeout = Math.min(args.lock?.timeoutMs ?? Infinity, deadline.remaining());
  return withFileLock(
    `${dest}.lock`,
    async () => {
      // Someone else may have finished it while we waited: reuse theirs (even with force).
      if ((!(args.force ?? false) || waited) && (await complete())) return skipped();
      args.onStart?.();
      return transfer(args, dest, kind, log, deadline);
    },
    {
      ...args.lock,
      timeoutMs: lockTimeout,
      onWait: (holder) => {
        waited = true;
        if (!(args.quiet ?? false)) log(`Waiting for ${holder}, which is downloading ${dest}`);
        args.lock?.onWait?.(holder);
      },
    },
  );
}

async function transfer(args: DownloadFileArgs, dest: string, kind: ContentKind, log: (m: string) => void, deadline: Deadline): Promise<DownloadFileResult> {
  const quiet = args.quiet ?? false;
  const retries = checkInteger('retry.retries', args.retry?.retries ?? DOWNLOAD_DEFAULTS.retries, 0);
  const maxAttempts = checkInteger('retry.maxAttempts', args.retry?.maxAttempts ?? 10 * (retries + 1), 1);
  const minDelayMs = args.retry?.minDelayMs ?? DOWNLOAD_DEFAULTS.minDelayMs;
  const maxDelayMs = args.retry?.maxDelayMs ?? DOWNLOAD_DEFAULTS.maxDelayMs;
  const maxRetryAfterMs = args.retry?.maxRetryAfterMs ?? DOWNLOAD_DEFAULTS.maxRetryAfterMs;
  const timeoutMs = checkNumber('timeoutMs', args.timeoutMs ?? DOWNLOAD_DEFAULTS.timeoutMs, 1);
  const minBytesPerSecond = checkNumber('minSpeed.bytesPerSecond', args.minSpeed?.bytesPerSecond ?? DOWNLOAD_DEFAULTS.minBytesPerSecond, 0);
  const windowMs = checkNumber('minSpeed.windowMs', args.minSpeed?.windowMs ?? DOWNLOAD_DEFAULTS.speedWindowMs, 1);
  const client = new HttpClient({ env: args.env ?? process.env, ca: args.ca, timeoutMs });
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
  let attempts = 0;
  /** The largest .part a later attempt can continue from: only growth past it is progress. */
  let furthest = (await fileSize(part)) ?? 0;
  let progress: ReturnType<typeof createProgress> | undefined;
  const rules: BodyRules = { signal: deadline.signal, minBytesPerSecond, windowMs };

  try {
    for (;;) {
      if (deadline.expired) throw timeoutError(args, deadline, `${attempts} attempt(s) made`);
      attempts++;
      const offset = (await fileSize(part)) ?? 0;
      let received = 0;
      let resumable = false;
      try {
        const { res, finalUrl } = await request(offset);
        const status = res.statusCode;
        const where = finalUrl.href === origin.href ? safeUrl : `${safeUrl} (redirected to ${redactUrl(finalUrl.href)})`;
        resumable = status === 206 || /\bbytes\b/i.test(String(res.headers['accept-ranges'] ?? ''));
        const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
        if (encoding !== '' && encoding !== 'identity') {
          res.body.destroy();
          throw new UnexpectedContentError(
            `The server sent ${where} compressed (Content-Encoding: ${encoding}) although an uncompressed body was asked for, so its size and resume offsets cannot be trusted. Nothing was saved at ${dest}. Download it another way, or ask the server's owner to honour Accept-Encoding: identity.`,
            args.url,
            dest,
            status,
          );
        }
        let flags: 'a' | 'w' = 'w';
        let start = 0;
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
          if (!m || Number(m[1]) !== offset) {
            res.body.destroy();
            await fsp.rm(part, { force: true });
            furthest = 0;
            throw new RetryableError(`the server answered ${offset > 0 ? `the Range request for bytes ${offset}-` : 'a plain GET'} with ${res.headers['content-range'] ?? 'no Content-Range'}`);
          }
          flags = offset > 0 ? 'a' : 'w';
          start = offset;
          if (offset > 0) resumed = true;
          meta.total = m[3] !== '*' ? Number(m[3]) : undefined;
        } else if (status === 200) {
          if (offset > 0 && !quiet) log(`The server ignored the Range request for ${safeUrl}; restarting from the beginning.`);
          if (offset > 0) furthest = 0;
          const len = res.headers['content-length'];
          meta.total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
        } else {
          throw new Error('unreachable'); // internal invariant: only 200 and 206 get here
        }
        const etag = res.headers.etag;
        meta.etag = etag !== undefined && !etag.startsWith('W/') ? etag : undefined;
        meta.lastModified = res.headers['last-modified'];
        // Synchronously: no I/O turn may pass between the headers and the body listeners (bytes that
        // arrive, or a connection that dies, in between would be lost or never noticed).
        writeFileSync(metaFile, JSON.stringify(meta));

        progress ??= createProgress({
          label: args.label ?? path.basename(dest),
          total: meta.total,
          unit: 'bytes',
          mode: quiet ? 'silent' : args.progressMode,
          stream: args.progressStream,
        });
        const p = progress;
        const broken = await writeBody(res.body, part, flags, (n) => {
          received += n;
          p.update(start + received);
        }, rules);
        if (broken !== undefined) throw new RetryableError(`the connection broke after ${start + received} bytes (${broken.message})`);
        const size = (await fileSize(part)) ?? 0;
        if (meta.total !== undefined && size !== meta.total) {
          if (size > meta.total) {
            await fsp.rm(part, { force: true });
            furthest = 0;
          }
          throw new RetryableError(`received ${size} of ${meta.total} bytes`);
        }
        p.finish();
        const reason = await checkFileContent(part, kind, res.headers['content-type']);
        if (reason !== null) {
          await fsp.rm(part, { force: true });
          await fsp.rm(metaFile, { force: true });
          throw new UnexpectedContentError(
            `The download of ${where} was refused: ${reason}. Nothing was saved at ${dest}. ` +
              'A page like this is usually a login, consent or error page: check the URL (and credentials or access rights), then run again.',
            args.url,
            dest,
            status,
          );
        }
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
        const result: DownloadFileResult = { path: dest, bytes: size, skipped: false, resumed, requests, attempts };
        await args.afterDownload?.(result);
        return result;
      } catch (err) {
        if (deadline.expired) throw timeoutError(args, deadline, `the last of ${attempts} attempt(s) ended with: ${(err as Error).message}`);
        if (!(err instanceof RetryableError)) throw err;
        const size = (await fileSize(part)) ?? 0;
        const progressed = resumable && size > furthest;
        if (progressed) {
          furthest = size;
          failures = 0;
        }
        failures++;
        // A host name that does not resolve (offline, or a closed network) rarely heals within the
        // backoff window: one retry, then fail fast instead of waiting half a minute.
        const unresolvable = /\bENOTFOUND\b/.test(err.message);
        if (failures > retries || attempts >= maxAttempts || (unresolvable && failures >= 2)) {
          throw new DownloadError(
            `Download of ${safeUrl} failed after ${attempts} attempts: ${err.message}. ` +
              'Check the network (and HTTPS_PROXY if you are behind a proxy) and run again: the transfer resumes where it stopped if the server allows it.',
            args.url,
            err.status,
          );
        }
        const backoff = Math.min(maxDelayMs, minDelayMs * 2 ** (failures - 1));
        const delay = err.retryAfterMs !== undefined ? Math.min(maxRetryAfterMs, err.retryAfterMs) : progressed ? minDelayMs : backoff;
        if (!quiet) log(`Retrying ${safeUrl} in ${(delay / 1000).toFixed(1)}s (${err.message}; attempt ${failures + 1} of ${retries + 1}).`);
        await deadline.sleep(delay);
      }
    }
  } finally {
    await client.close();
  }

  /** Sends the GET (following redirects) and returns a 200/206 response and the URL that gave it; throws otherwise. */
  async function request(offset: number): Promise<{ res: HttpResponse; finalUrl: URL }> {
    const headers: Record<string, string> = { 'User-Agent': 'transferlab', 'Accept-Encoding': 'identity', ...(args.headers ?? {}) };
    if (offset > 0) {
      headers.Range = `bytes=${offset}-`;
      const validator = meta.etag ?? meta.lastModified;
      if (validator !== undefined) headers['If-Range'] = validator;
    }
    let current = origin;
    const maxRedirects = args.maxRedirects ?? DOWNLOAD_DEFAULTS.maxRedirects;
    for (let hop = 0; ; hop++) {
      const sent = { ...headers };
      if (!sameOrigin(current, origin)) {
        for (const k of Object.keys(sent)) if (k.toLowerCase() === 'authorization') delete sent[k];
      }
      requests++;
      // The headers must arrive within timeoutMs (a server trickling them byte by byte never goes idle).
      const headerTimer = new AbortController();
      const timer = setTimeout(() => headerTimer.abort(), timeoutMs);
      const onDeadline = (): void => headerTimer.abort();
      if (deadline.expired) headerTimer.abort();
      deadline.signal.addEventListener('abort', onDeadline, { once: true });
      let res: HttpResponse;
      try {
        res = await client.get(current, { headers: sent, signal: headerTimer.signal });
      } catch (err) {
        if (err instanceof DownloadError && err.status === 407) throw err; // the proxy wants other credentials: no retry helps
        if (err instanceof DownloadError && err.status !== undefined) throw new RetryableError(err.message, undefined, err.status);
        throw new RetryableError(headerTimer.signal.aborted && !deadline.expired ? `no response headers within ${timeoutMs} ms from ${redactUrl(current.href)}` : (err as Error).message);
      } finally {
        clearTimeout(timer);
        deadline.signal.removeEventListener('abort', onDeadline);
      }
      const status = res.statusCode;
      if (status === 200 || status === 206) return { res, finalUrl: current };
      res.body.destroy();
      if (REDIRECT.has(status) && res.headers.location !== undefined) {
        if (hop >= maxRedirects) throw new DownloadError(`Too many redirects (${maxRedirects}) fetching ${safeUrl}.`, args.url, status);
        let next: URL;
        try {
          next = new URL(res.headers.location, current);
        } catch {
          throw new DownloadError(`GET ${redactUrl(current.href)} redirected to an invalid address (${redactUrl(res.headers.location)}). Check the URL.`, current.href, status);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new DownloadError(`GET ${redactUrl(current.href)} redirected to ${redactUrl(next.href)}, which is not an http(s) URL. Only HTTP(S) downloads are supported.`, current.href, status);
        }
        current = next;
        continue;
      }
      if (status === 416 && offset > 0) {
        await fsp.rm(part, { force: true });
        furthest = 0;
        throw new RetryableError(`the server rejected the range ${offset}- (HTTP 416)`, 0);
      }
      if (RETRYABLE.has(status)) {
        const ra = res.headers['retry-after'];
        throw new RetryableError(`HTTP ${status} from ${redactUrl(current.href)}`, parseRetryAfter(ra), status);
      }
      const custom = args.errorForStatus?.({ status, url: current.href, redirected: hop > 0 });
      if (custom !== undefined) throw custom;
      throw new DownloadError(
        `GET ${redactUrl(current.href)} returned HTTP ${status} ${res.statusMessage}`.trimEnd() +
          '. Check that the URL is right and reachable from this machine.',
        current.href,
        status,
      );
    }
  }
}
