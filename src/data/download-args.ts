/**
 * The options, result and documented defaults of `downloadFile` (`download.ts`, which re-exports
 * them).
 */
import type { ProgressMode } from '../runtime/progress';
import type { ExpectedContent } from './content-check';
import type { FailedResponse } from './http-get';
import type { FileLockArgs } from './lock';
import { RETRY_DEFAULTS, type RetryArgs } from './retry';
import type { DownloadTimeoutError } from './errors'; // for {@link} only

/** Options for `downloadFile`. */
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

/** What `downloadFile` did. */
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
  ...RETRY_DEFAULTS,
  timeoutMs: 60_000,
  deadlineMs: 3_600_000,
  minBytesPerSecond: 1024,
  speedWindowMs: 30_000,
  maxRedirects: 10,
});
