/**
 * The files of a download in progress (see `downloadFile` in `download.ts`): bytes go to
 * `<dest>.part`, and `<dest>.part.json` records where they came from (the URL, the validators a
 * resume sends in `If-Range`, the declared size), so that a later run can continue the same file
 * and never appends to another one. The body is streamed so that every byte that arrived is on
 * disk, however the connection ends.
 */
import { createWriteStream, promises as fsp, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { DownloadError } from './errors';
import { watchSpeed, type SpeedRule } from './limits';

/** What `<dest>.part.json` records about a `.part` file. */
export interface PartMeta {
  /** The URL it comes from (redacted). */
  url: string;
  /** A strong `ETag` of the response, for `If-Range`. */
  etag?: string;
  /** `Last-Modified` of the response, for `If-Range` without an ETag. */
  lastModified?: string;
  /** The size of the whole file, when the server declared it. */
  total?: number;
}

/**
 * The size of a file.
 *
 * @param file - a path
 * @returns its size in bytes, or `undefined` when it does not exist
 */
export async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return undefined;
  }
}

/**
 * Reads a `.part.json` record.
 *
 * @param file - its path
 * @returns the record, or `undefined` when it is missing or unreadable
 */
export async function readPartMeta(file: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

/**
 * Writes a `.part.json` record synchronously: between a response's headers and its body listeners
 * no I/O turn may pass (a connection that dies in between would never be noticed).
 *
 * @param file - its path
 * @param meta - the record
 */
export function writePartMetaSync(file: string, meta: PartMeta): void {
  writeFileSync(file, JSON.stringify(meta));
}

/** What a body transfer must respect besides the socket's idle timeout. */
export interface BodyRules {
  /** The call's deadline: the transfer is cut when it aborts. */
  signal: AbortSignal;
  /** The minimum speed (see {@link watchSpeed}). */
  speed: SpeedRule;
}

/**
 * Streams a response body into `file`. Unlike `pipeline`, a broken connection does not discard
 * what was already received: the file stream is ended gracefully so every byte that arrived is on
 * disk (a resume then continues from the true size). A body that died before this was called
 * (between its headers and now) resolves at once with an error.
 *
 * @param body - the response body
 * @param file - the `.part` file
 * @param flags - `'a'` to append (a resume), `'w'` to start from zero
 * @param onData - called with the size of each chunk written
 * @param rules - see {@link BodyRules}
 * @returns the network error, or why the attempt was cut (too slow, the deadline), if any
 * @throws {DownloadError} when the file cannot be written (disk full, permissions)
 */
export function writeBody(body: Readable, file: string, flags: 'a' | 'w', onData: (n: number) => void, rules: BodyRules): Promise<Error | undefined> {
  return new Promise((resolve, reject) => {
    const ws = createWriteStream(file, { flags, highWaterMark: 1 << 20 });
    let broken: Error | undefined;
    let ended = false;
    let received = 0;
    let stopWatching = (): void => undefined;
    // The plain Errors given to finish() are reasons, not failures: the caller retries and, when
    // retries run out, reports them inside a DownloadError naming the URL.
    const onAbort = (): void => finish(new Error('the deadline passed'));
    const finish = (err?: Error): void => {
      if (ended) return;
      ended = true;
      broken = err;
      stopWatching();
      rules.signal.removeEventListener('abort', onAbort);
      if (err !== undefined && !body.destroyed) body.destroy();
      ws.end();
    };
    ws.on('error', (err) => {
      finish();
      body.destroy();
      reject(new DownloadError(`Could not write ${file}: ${err.message}. Check free disk space and permissions.`, file));
    });
    ws.on('finish', () => resolve(broken));
    if (rules.signal.aborted) return onAbort();
    if (body.destroyed && !body.readableEnded) return finish(new Error('connection closed before the body arrived'));
    rules.signal.addEventListener('abort', onAbort, { once: true });
    stopWatching = watchSpeed(rules.speed, () => received, (reason) => finish(new Error(reason)));
    body.on('data', (chunk: Buffer) => {
      if (ended) return;
      received += chunk.length;
      onData(chunk.length);
      if (!ws.write(chunk)) {
        body.pause();
        ws.once('drain', () => body.resume());
      }
    });
    body.on('end', () => finish());
    body.on('error', (err) => finish(err));
    body.on('close', () => {
      if (!body.readableEnded) finish(new Error('connection closed early')); // a plain Error: a reason, as above
    });
  });
}
