/**
 * Error classes of the data area (downloads, Kaggle, hashes, archives), in the spirit of ky's
 * `source/errors`: each class sets `name` and carries the URL, path or dataset it is about.
 * Messages say what was expected, what was received and what to do. Secrets never appear: every
 * URL passes through {@link redactUrl} before it reaches a message or a property.
 */

import { TransferlabError } from '../util/errors';

/**
 * Removes credentials from a URL for messages and logs: the `user:password@` part and the values of
 * query parameters that look like secrets (signatures, tokens, keys).
 *
 * @param url - any URL string (or something that does not parse; then it is returned with
 *   `user:pass@` removed by pattern)
 * @returns the URL safe to print
 * @example
 * redactUrl('http://bob:hunter2@proxy:8080/') // 'http://***@proxy:8080/'
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    for (const key of [...u.searchParams.keys()]) {
      if (/sig|signature|token|key|secret|credential|auth|password/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}

/**
 * Replaces every occurrence of each secret in `text` (and of its base64 form, as in a basic-auth
 * header) by `***`.
 *
 * @param text - a message
 * @param secrets - strings to remove (empty strings are ignored)
 * @returns the scrubbed text
 * @example
 * scrubSecrets('key=hunter2', ['hunter2']) // 'key=***'
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

/** A transfer failed: a network error, an unexpected HTTP status, or a truncated body after retries. */
export class DownloadError extends TransferlabError {
  /** The URL (credentials removed). */
  readonly url: string;
  /** The HTTP status when one was received. */
  readonly status?: number;
  constructor(message: string, url: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.url = redactUrl(url);
    this.status = status;
  }
}

/**
 * A download did not finish within its overall deadline (`deadlineMs`), whatever the server did
 * (stalled, trickled, kept failing). The partial `.part` file, if any, is kept for a later resume;
 * nothing is at the destination.
 */
export class DownloadTimeoutError extends DownloadError {
  /** The deadline that passed, in ms. */
  readonly deadlineMs: number;
  constructor(message: string, url: string, deadlineMs: number) {
    super(message, url);
    this.deadlineMs = deadlineMs;
  }
}

/**
 * The server answered with something other than the file asked for: an HTML page (a login or
 * error page sent with `200`), a file without the expected signature (zip, HDF5), or a compressed
 * body that was not asked for. Not retried; nothing is saved or marked complete.
 */
export class UnexpectedContentError extends DownloadError {
  /** The destination that was not written. */
  readonly path: string;
  constructor(message: string, url: string, path: string, status?: number) {
    super(message, url, status);
    this.path = path;
  }
}

/** Kaggle credentials are missing, malformed or unreadable. Never contains the key. */
export class CredentialsError extends TransferlabError {
  /** The file involved, when the problem is a file. */
  readonly path?: string;
  /** `'missing'` (none anywhere), `'malformed'` (bad file or half-set variables) or `'unreadable'`. */
  readonly reason: 'missing' | 'malformed' | 'unreadable';
  constructor(message: string, path?: string, reason: 'missing' | 'malformed' | 'unreadable' = 'malformed') {
    super(message);
    this.path = path;
    this.reason = reason;
  }
}

/** The Kaggle API refused a request. Subclasses say why; `status` is the HTTP status. */
export class KaggleApiError extends DownloadError {
  /** The dataset as `owner/slug`. */
  readonly dataset: string;
  constructor(message: string, url: string, status: number, dataset: string) {
    super(message, url, status);
    this.dataset = dataset;
  }
}

/** 401: the username/key pair was rejected. */
export class UnauthorizedError extends KaggleApiError {
  constructor(message: string, url: string, dataset: string) {
    super(message, url, 401, dataset);
  }
}

/** 403: the account may not download this dataset (rules not accepted, private dataset). */
export class ForbiddenError extends KaggleApiError {
  constructor(message: string, url: string, dataset: string) {
    super(message, url, 403, dataset);
  }
}

/** 404: no such dataset (or it is private and invisible to this account). */
export class DatasetNotFoundError extends KaggleApiError {
  constructor(message: string, url: string, dataset: string) {
    super(message, url, 404, dataset);
  }
}

/** A downloaded file's hash differs from the expected one. */
export class HashMismatchError extends TransferlabError {
  /** The origin URL (credentials removed). */
  readonly url: string;
  /** The expected hex digest. */
  readonly expected: string;
  /** The digest computed from the bytes received. */
  readonly actual: string;
  /** `'md5'` or `'sha256'`. */
  readonly algorithm: string;
  constructor(url: string, algorithm: string, expected: string, actual: string) {
    super(
      `The file downloaded from ${redactUrl(url)} has ${algorithm} ${actual} but ${expected} was expected. ` +
        'The partial file was deleted. The file may have changed on the server or been corrupted in transit: ' +
        'retry, and if it persists check the hash you passed as fileHash.',
    );
    this.url = redactUrl(url);
    this.algorithm = algorithm;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * An archive was refused or could not be extracted: a path that escapes the destination, a link
 * entry, sizes over the limits, duplicate names, corrupt or truncated data, or a file in the way.
 * Nothing is left half-written when this is thrown.
 */
export class ArchiveError extends TransferlabError {
  /** The archive file. */
  readonly archive: string;
  /** The entry name involved (decoded), when the problem is one entry. */
  readonly entry?: string;
  constructor(message: string, archive: string, entry?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.archive = archive;
    this.entry = entry;
  }
}
