/**
 * The retry policy of a download (see `downloadFile` in `download.ts`): which failures are worth
 * another attempt, how many attempts are allowed, and how long to wait between them — capped
 * exponential backoff that honours `Retry-After` (seconds or an HTTP date, capped). Only bytes
 * that a later attempt can continue from count as progress and reset the failure count.
 */
import { checkInteger } from '../util/validate';

/** Retry policy of `downloadFile`. */
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

/** The documented defaults of {@link RetryArgs} (part of `DOWNLOAD_DEFAULTS`). */
export const RETRY_DEFAULTS = Object.freeze({
  retries: 5,
  minDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
});

/** HTTP statuses answered with another attempt (after a backoff or the server's `Retry-After`). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Internal: an attempt failed in a way worth retrying. It never leaves `downloadFile`: when the
 * retries run out, the last one becomes a `DownloadError` naming the URL.
 */
export class RetryableError extends Error {
  /** Milliseconds the server asked to wait (`Retry-After`), if it did. */
  readonly retryAfterMs?: number;
  /** The HTTP status, when one was received. */
  readonly status?: number;
  /** True when the `.part` file cannot be continued and must be deleted before the next attempt. */
  readonly restart: boolean;
  /**
   * @param message - why the attempt failed (a URL in it must already be redacted)
   * @param options - `retryAfterMs`, `status`, and `restart` (default `false`)
   */
  constructor(message: string, options: { retryAfterMs?: number; status?: number; restart?: boolean } = {}) {
    super(message);
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.restart = options.restart ?? false;
  }
}

/**
 * Parses a `Retry-After` header (delay in seconds, or an HTTP date).
 *
 * @param value - the header value
 * @param now - the current time in ms (for dates). Default `Date.now()`
 * @returns milliseconds to wait (>= 0), or `undefined` when absent or unparseable
 * @example
 * parseRetryAfter('3') // 3000
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** What {@link RetryBudget.fail} decided. */
export interface RetryVerdict {
  /** True when no attempt is left: report the failure. */
  giveUp: boolean;
  /** The wait before the next attempt, in ms. */
  delayMs: number;
}

/**
 * The attempt and failure counts of one download, and the largest `.part` size a later attempt can
 * continue from (only growth past it is progress).
 */
export class RetryBudget {
  /** Consecutive failures allowed (`retries`). */
  readonly retries: number;
  /** Attempts allowed in all. */
  readonly maxAttempts: number;
  /** Attempts started so far. */
  attempts = 0;
  /** Failures since the last progress. */
  failures = 0;
  /**
   * The largest `.part` size a later attempt can continue from: only growth past it is progress.
   * Set it to the size of a `.part` left by an earlier run, and to 0 when the `.part` is discarded
   * or rewritten from zero.
   */
  furthest = 0;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;

  /**
   * @param retry - the caller's policy (defaults: {@link RETRY_DEFAULTS})
   * @throws {TypeError} when `retries` or `maxAttempts` is not a valid integer
   */
  constructor(retry: RetryArgs | undefined) {
    this.retries = checkInteger('retry.retries', retry?.retries ?? RETRY_DEFAULTS.retries, 0);
    this.maxAttempts = checkInteger('retry.maxAttempts', retry?.maxAttempts ?? 10 * (this.retries + 1), 1);
    this.minDelayMs = retry?.minDelayMs ?? RETRY_DEFAULTS.minDelayMs;
    this.maxDelayMs = retry?.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
    this.maxRetryAfterMs = retry?.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs;
  }

  /**
   * Records a failed attempt and decides what comes next.
   *
   * @param err - why it failed
   * @param partSize - the `.part` size after the attempt
   * @param resumable - whether the server can continue from `partSize` (a `206`, `Accept-Ranges`)
   * @returns whether to give up, and the wait before the next attempt otherwise
   */
  fail(err: RetryableError, partSize: number, resumable: boolean): RetryVerdict {
    const progressed = resumable && partSize > this.furthest;
    if (progressed) {
      this.furthest = partSize;
      this.failures = 0;
    }
    this.failures++;
    // A host name that does not resolve (offline, or a closed network) rarely heals within the
    // backoff window: one retry, then fail fast instead of waiting half a minute.
    const unresolvable = /\bENOTFOUND\b/.test(err.message);
    const giveUp = this.failures > this.retries || this.attempts >= this.maxAttempts || (unresolvable && this.failures >= 2);
    const backoff = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** (this.failures - 1));
    const delayMs = err.retryAfterMs !== undefined ? Math.min(this.maxRetryAfterMs, err.retryAfterMs) : progressed ? this.minDelayMs : backoff;
    return { giveUp, delayMs };
  }
}
