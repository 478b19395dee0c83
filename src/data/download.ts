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
 *
 * The parts: `http-client.ts` (the request, direct or through a proxy), `http-get.ts` (redirects
 * and statuses), `retry.ts` (which failures are retried, and when), `limits.ts` (the deadline and
 * the minimum speed), `part-file.ts` (the `.part` file and its record), `lock.ts`; this file
 * runs one download through them.
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
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createProgress, type Progress } from '../runtime/progress';
import { checkNumber } from '../util/validate';
import { checkFileContent, resolveExpectedContent, type ContentKind } from './content-check';
import { DOWNLOAD_DEFAULTS, type DownloadFileArgs, type DownloadFileResult } from './download-args';
import { DownloadError, DownloadTimeoutError, UnexpectedContentError, redactUrl, scrubSecrets } from './errors';
import { HttpClient, type HttpResponse } from './http-client';
import { getFollowingRedirects } from './http-get';
import { Deadline } from './limits';
import { withFileLock } from './lock';
import { fileSize, readPartMeta, writeBody, writePartMetaSync, type BodyRules, type PartMeta } from './part-file';
import { proxySecrets } from './proxy';
import { RetryBudget, RetryableError } from './retry';

export type { ExpectedContent } from './content-check';
export { DOWNLOAD_DEFAULTS, type DownloadFileArgs, type DownloadFileResult } from './download-args';
export type { FailedResponse } from './http-get';
export { parseRetryAfter, type RetryArgs } from './retry';

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

/** The settings and state of one transfer, shared by its attempts. */
interface Transfer {
  args: DownloadFileArgs;
  dest: string;
  part: string;
  metaFile: string;
  kind: ContentKind;
  log: (m: string) => void;
  quiet: boolean;
  safeUrl: string;
  meta: PartMeta;
  budget: RetryBudget;
  rules: BodyRules;
  progress?: Progress;
  resumed: boolean;
  requests: number;
}

async function transfer(args: DownloadFileArgs, dest: string, kind: ContentKind, log: (m: string) => void, deadline: Deadline): Promise<DownloadFileResult> {
  const budget = new RetryBudget(args.retry);
  const timeoutMs = checkNumber('timeoutMs', args.timeoutMs ?? DOWNLOAD_DEFAULTS.timeoutMs, 1);
  const minBytesPerSecond = checkNumber('minSpeed.bytesPerSecond', args.minSpeed?.bytesPerSecond ?? DOWNLOAD_DEFAULTS.minBytesPerSecond, 0);
  const windowMs = checkNumber('minSpeed.windowMs', args.minSpeed?.windowMs ?? DOWNLOAD_DEFAULTS.speedWindowMs, 1);
  const client = new HttpClient({ env: args.env ?? process.env, ca: args.ca, timeoutMs });
  const part = `${dest}.part`;
  const t: Transfer = {
    args,
    dest,
    part,
    metaFile: `${dest}.part.json`,
    kind,
    log,
    quiet: args.quiet ?? false,
    safeUrl: redactUrl(args.url),
    meta: { url: redactUrl(args.url) },
    budget,
    rules: { signal: deadline.signal, speed: { minBytesPerSecond, windowMs } },
    resumed: false,
    requests: 0,
  };
  try {
    if (args.force ?? false) {
      await fsp.rm(part, { force: true });
    } else {
      const old = await readPartMeta(t.metaFile);
      // A .part from another URL (or without a record) is not ours to continue.
      if (old === undefined || old.url !== t.safeUrl) await fsp.rm(part, { force: true });
      else t.meta = old;
    }
    budget.furthest = (await fileSize(part)) ?? 0;
    for (;;) {
      if (deadline.expired) throw timeoutError(args, deadline, `${budget.attempts} attempt(s) made`);
      budget.attempts++;
      const offset = (await fileSize(part)) ?? 0;
      let resumable = false;
      try {
        const headers: Record<string, string> = { 'User-Agent': 'transferlab', 'Accept-Encoding': 'identity', ...(args.headers ?? {}) };
        if (offset > 0) {
          headers.Range = `bytes=${offset}-`;
          const validator = t.meta.etag ?? t.meta.lastModified;
          if (validator !== undefined) headers['If-Range'] = validator;
        }
        const { res, finalUrl } = await getFollowingRedirects({
          client,
          url: args.url,
          headers,
          offset,
          maxRedirects: args.maxRedirects ?? DOWNLOAD_DEFAULTS.maxRedirects,
          timeoutMs,
          deadline,
          errorForStatus: args.errorForStatus,
          onRequest: () => t.requests++,
        });
        resumable = res.statusCode === 206 || /\bbytes\b/i.test(res.headers['accept-ranges'] ?? '');
        return await receive(t, res, finalUrl, offset);
      } catch (err) {
        if (deadline.expired) throw timeoutError(args, deadline, `the last of ${budget.attempts} attempt(s) ended with: ${(err as Error).message}`);
        if (!(err instanceof RetryableError)) throw err;
        if (err.restart) {
          await fsp.rm(part, { force: true });
          budget.furthest = 0;
        }
        const verdict = budget.fail(err, (await fileSize(part)) ?? 0, resumable);
        if (verdict.giveUp) {
          throw new DownloadError(
            `Download of ${t.safeUrl} failed after ${budget.attempts} attempts: ${err.message}. ` +
              'Check the network (and HTTPS_PROXY if you are behind a proxy) and run again: the transfer resumes where it stopped if the server allows it.',
            args.url,
            err.status,
          );
        }
        if (!t.quiet) log(`Retrying ${t.safeUrl} in ${(verdict.delayMs / 1000).toFixed(1)}s (${err.message}; attempt ${budget.failures + 1} of ${budget.retries + 1}).`);
        await deadline.sleep(verdict.delayMs);
      }
    }
  } finally {
    await client.close();
  }
}

/** Writes a 200/206 response into the `.part` file, checks it, and moves it onto `dest`. */
async function receive(t: Transfer, res: HttpResponse, finalUrl: URL, offset: number): Promise<DownloadFileResult> {
  const { args, dest, part, metaFile, meta } = t;
  const status = res.statusCode;
  const where = finalUrl.href === new URL(args.url).href ? t.safeUrl : `${t.safeUrl} (redirected to ${redactUrl(finalUrl.href)})`;
  const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
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
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== offset) {
      res.body.destroy();
      const asked = offset > 0 ? `the Range request for bytes ${offset}-` : 'a plain GET';
      throw new RetryableError(`the server answered ${asked} with ${res.headers['content-range'] ?? 'no Content-Range'}`, { restart: true });
    }
    flags = offset > 0 ? 'a' : 'w';
    start = offset;
    if (offset > 0) t.resumed = true;
    meta.total = m[3] !== '*' ? Number(m[3]) : undefined;
  } else {
    if (offset > 0 && !t.quiet) t.log(`The server ignored the Range request for ${t.safeUrl}; restarting from the beginning.`);
    if (offset > 0) t.budget.furthest = 0;
    const len = res.headers['content-length'];
    meta.total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined;
  }
  const etag = res.headers.etag;
  meta.etag = etag !== undefined && !etag.startsWith('W/') ? etag : undefined;
  meta.lastModified = res.headers['last-modified'];
  // Synchronously: no I/O turn may pass between the headers and the body listeners.
  writePartMetaSync(metaFile, meta);

  t.progress ??= createProgress({
    label: args.label ?? path.basename(dest),
    total: meta.total,
    unit: 'bytes',
    mode: t.quiet ? 'silent' : args.progressMode,
    stream: args.progressStream,
  });
  const progress = t.progress;
  let received = 0;
  const broken = await writeBody(res.body, part, flags, (n) => {
    received += n;
    progress.update(start + received);
  }, t.rules);
  if (broken !== undefined) throw new RetryableError(`the connection broke after ${start + received} bytes (${broken.message})`);
  const size = (await fileSize(part)) ?? 0;
  if (meta.total !== undefined && size !== meta.total) {
    throw new RetryableError(`received ${size} of ${meta.total} bytes`, { restart: size > meta.total });
  }
  progress.finish();
  const reason = await checkFileContent(part, t.kind, res.headers['content-type']);
  if (reason !== null) {
    await discardPart(t);
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
      await discardPart(t);
      throw err;
    }
  }
  await fsp.rename(part, dest);
  await fsp.rm(metaFile, { force: true });
  const result: DownloadFileResult = { path: dest, bytes: size, skipped: false, resumed: t.resumed, requests: t.requests, attempts: t.budget.attempts };
  await args.afterDownload?.(result);
  return result;
}

async function discardPart(t: Transfer): Promise<void> {
  await fsp.rm(t.part, { force: true });
  await fsp.rm(t.metaFile, { force: true });
}
