/**
 * `kaggle datasets download -d owner/slug [-p path] [--unzip] [--force] [--quiet]` in TypeScript
 * (after kaggle-api's `KaggleApi.dataset_download_files`). The request is
 * `GET {base}/datasets/download/{owner}/{slug}` with HTTP basic auth; Kaggle answers with a
 * redirect to signed storage, which is followed without the `Authorization` header. The transfer
 * itself is the shared download core (`download.ts`): resumable, retried, locked, proxy-aware.
 *
 * Differences from the Python client, on purpose: the zip is kept after `unzip` (so re-running a
 * notebook skips both steps), and completeness is recorded in a small hidden sidecar
 * (`.<slug>.zip.download.json`) instead of comparing modification times.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ProgressMode } from '../runtime/progress';
import { invalidParameterError } from '../util/validate';
import { extractArchive } from './archive';
import { loadKaggleCredentials } from './credentials';
import { downloadFile, type DownloadFileArgs, type RetryArgs } from './download';
import { DatasetNotFoundError, ForbiddenError, UnauthorizedError, scrubSecrets } from './errors';
import type { FileLockArgs } from './lock';

export { findKaggleCredentials, hasKaggleCredentials } from './credentials';

/** The public Kaggle API root. */
export const KAGGLE_API_BASE_URL = 'https://www.kaggle.com/api/v1';

/** Options for {@link datasetsDownload}. */
export interface DatasetsDownloadArgs {
  /** Folder for `<slug>.zip` (created if needed). Default: the current working directory, like the CLI's `-p`. */
  path?: string;
  /** Also extract the zip into `path` (safely, see `extractArchive`). Default `false`. */
  unzip?: boolean;
  /** Download again even if a complete copy exists. Default `false`. */
  force?: boolean;
  /** No progress and no informational lines (warnings still print). Default `false`. */
  quiet?: boolean;
  /** API root. Default: env `KAGGLE_API_BASE_URL`, else `'https://www.kaggle.com/api/v1'`. */
  baseUrl?: string;
  /** Environment read for credentials, proxies and `KAGGLE_API_BASE_URL`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Retry policy for 429/5xx/dropped connections (see `RetryArgs`). */
  retry?: RetryArgs;
  /** Milliseconds without socket activity before an attempt fails. Default 60000. */
  timeoutMs?: number;
  /** Overall time limit of the download (see `DownloadFileArgs.deadlineMs`). Default 3 600 000 (1 hour). */
  deadlineMs?: number;
  /** Minimum speed of an attempt (see `DownloadFileArgs.minSpeed`). Default 1024 bytes/s over 30 s. */
  minSpeed?: DownloadFileArgs['minSpeed'];
  /** Force a progress mode. Default: bar on a terminal, updating display in a notebook, lines in a log. */
  progressMode?: ProgressMode;
  /** Stream for progress bars and lines. Default `process.stderr`. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Receives informational lines and warnings. Default: lines on `process.stderr`. */
  log?: (message: string) => void;
  /** Lock tuning for concurrent downloads. */
  lock?: FileLockArgs;
  /** Extra trusted CA certificates (PEM) for the API and storage hosts. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** What {@link datasetsDownload} did. */
export interface DatasetsDownloadResult {
  /** `<path>/<slug>.zip`. */
  zipPath: string;
  /** The folder the zip was extracted into, when `unzip` was set. */
  extractedTo?: string;
  /** True when a complete zip was already there and nothing was downloaded. */
  skipped: boolean;
  /** Size of the zip in bytes. */
  bytes: number;
}

interface CompletionRecord {
  dataset: string;
  bytes: number;
  completedAt: string;
}

/** True when `file` ends with a zip end-of-central-directory record whose directory fits in the file. */
async function zipLooksComplete(file: string): Promise<boolean> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(file, 'r');
    const { size } = await handle.stat();
    const n = Math.min(size, 22 + 65535);
    if (n < 22) return false;
    const buf = Buffer.alloc(n);
    await handle.read(buf, 0, n, size - n);
    for (let i = n - 22; i >= 0; i--) {
      if (buf.readUInt32LE(i) === 0x06054b50) {
        const cdSize = buf.readUInt32LE(i + 12);
        const cdOffset = buf.readUInt32LE(i + 16);
        if (cdOffset === 0xffffffff) return true; // zip64: trust the locator
        return cdOffset + cdSize <= size - n + i;
      }
    }
    return false;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Downloads a Kaggle dataset as `<path>/<slug>.zip`, like `kaggle datasets download -d owner/slug`.
 *
 * Credentials come from `KAGGLE_USERNAME`/`KAGGLE_KEY` or `kaggle.json` (see
 * `findKaggleCredentials`). Safe to re-run: a complete zip is reused unless `force`; an interrupted
 * transfer resumes; two concurrent calls share one transfer. The key never appears in any message.
 *
 * @param dataset - `'owner/slug'`, as in `https://www.kaggle.com/datasets/owner/slug`
 * @param args - see {@link DatasetsDownloadArgs}
 * @returns `{ zipPath, extractedTo?, skipped, bytes }`
 * @throws {TypeError} when `dataset` is not `'owner/slug'`
 * @throws {CredentialsError} when no usable credentials are found
 * @throws {UnauthorizedError} (401), {ForbiddenError} (403), {DatasetNotFoundError} (404): not retried
 * @throws {DownloadError} when the transfer still fails after the retries (a `DownloadTimeoutError` past `deadlineMs`)
 * @throws {UnexpectedContentError} when the answer is not a zip archive (e.g. an HTML login page); nothing is kept
 * @example
 * const { zipPath, extractedTo } = await datasetsDownload('mohamedhanyyy/chest-ctscan-images', {
 *   path: 'data', unzip: true,
 * });
 */
export async function datasetsDownload(dataset: string, args: DatasetsDownloadArgs = {}): Promise<DatasetsDownloadResult> {
  if (typeof dataset !== 'string' || !/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(dataset)) {
    throw invalidParameterError('dataset', "'owner/slug' (as in https://www.kaggle.com/datasets/owner/slug)", dataset);
  }
  const env = args.env ?? process.env;
  const log = args.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const quiet = args.quiet ?? false;
  const creds = loadKaggleCredentials({ env, warn: log });
  const token = Buffer.from(`${creds.username}:${creds.key}`).toString('base64');
  const secrets = [creds.key, token];
  const safeLog = (m: string): void => log(scrubSecrets(m, secrets));
  try {
    const [owner, slug] = dataset.split('/');
    const dir = path.resolve(args.path ?? process.cwd());
    const zipPath = path.join(dir, `${slug}.zip`);
    const record = path.join(dir, `.${slug}.zip.download.json`);
    const base = (args.baseUrl ?? env.KAGGLE_API_BASE_URL ?? KAGGLE_API_BASE_URL).replace(/\/+$/, '');
    const url = `${base}/datasets/download/${encodeURIComponent(owner)}/${encodeURIComponent(slug)}`;
    const page = `https://www.kaggle.com/datasets/${owner}/${slug}`;
    const who = creds.source === 'env' ? 'KAGGLE_USERNAME/KAGGLE_KEY' : creds.path ?? 'kaggle.json';

    const isComplete = async (file: string): Promise<boolean> => {
      let size: number;
      try {
        size = (await fsp.stat(file)).size;
      } catch {
        return false;
      }
      const rec = await readJson<CompletionRecord>(record);
      if (rec !== undefined) return rec.bytes === size;
      return zipLooksComplete(file); // e.g. a zip left by the Python client
    };

    if (!quiet) safeLog(`Dataset URL: ${page}`);
    const res = await downloadFile({
      url,
      dest: zipPath,
      headers: { Authorization: `Basic ${token}` },
      force: args.force,
      quiet,
      label: `${slug}.zip`,
      retry: args.retry,
      timeoutMs: args.timeoutMs,
      deadlineMs: args.deadlineMs,
      minSpeed: args.minSpeed,
      // A login or error page answered with 200 is refused, never recorded as the dataset.
      expect: 'zip',
      env,
      ca: args.ca,
      progressMode: args.progressMode,
      progressStream: args.progressStream,
      log,
      lock: args.lock,
      isComplete,
      secrets,
      afterDownload: async (done) => {
        const rec: CompletionRecord = { dataset, bytes: done.bytes, completedAt: new Date().toISOString() };
        await fsp.writeFile(record, JSON.stringify(rec));
      },
      errorForStatus: ({ status, redirected }) => {
        if (redirected) return undefined;
        if (status === 401) {
          return new UnauthorizedError(
            `Kaggle rejected the credentials of user '${creds.username}' (from ${who}) for dataset '${dataset}' (HTTP 401). ` +
              'The key may be revoked or mistyped: create a new token at https://www.kaggle.com/settings (API → Create New Token).',
            url,
            dataset,
          );
        }
        if (status === 403) {
          return new ForbiddenError(
            `Kaggle refused user '${creds.username}' access to dataset '${dataset}' (HTTP 403). ` +
              `Open ${page} while signed in and accept its rules (or ask its owner for access), then run again.`,
            url,
            dataset,
          );
        }
        if (status === 404) {
          return new DatasetNotFoundError(
            `Kaggle has no dataset '${dataset}' visible to user '${creds.username}' (HTTP 404). ` +
              `Check the owner and slug against the address ${page}; a private dataset also answers 404.`,
            url,
            dataset,
          );
        }
        return undefined;
      },
    });
    if (res.skipped && !quiet) {
      safeLog(`${slug}.zip: skipping, a complete copy is already at ${zipPath} (use force: true to download again)`);
    }
    const out: DatasetsDownloadResult = { zipPath, skipped: res.skipped, bytes: res.bytes };
    if (args.unzip ?? false) {
      const marker = path.join(dir, `.${slug}.zip.extracted.json`);
      const stat = await fsp.stat(zipPath);
      const done = await readJson<{ bytes: number; mtimeMs: number }>(marker);
      if (args.force || done === undefined || done.bytes !== stat.size || done.mtimeMs !== stat.mtimeMs) {
        await fsp.rm(marker, { force: true });
        await unzipBeside(zipPath, dir, slug);
        await fsp.writeFile(marker, JSON.stringify({ bytes: stat.size, mtimeMs: stat.mtimeMs }));
        if (!quiet) safeLog(`Extracted ${slug}.zip into ${dir}`);
      }
      out.extractedTo = dir;
    }
    return out;
  } catch (err) {
    if (err instanceof Error) {
      err.message = scrubSecrets(err.message, secrets);
      if (err.stack) err.stack = scrubSecrets(err.stack, secrets);
    }
    throw err;
  }
}

/**
 * The Kaggle CLI's `--unzip`: the archive's top-level entries land in `dir`, next to the zip,
 * replacing entries of the same name (a re-extraction). `extractArchive` never merges, so the
 * archive goes into a fresh hidden folder first and its entries are then renamed into place.
 */
async function unzipBeside(zipPath: string, dir: string, slug: string): Promise<void> {
  const staging = await fsp.mkdtemp(path.join(dir, `.${slug}.unzip-`));
  try {
    const inside = path.join(staging, 'files');
    await extractArchive(zipPath, inside);
    for (const name of (await fsp.readdir(inside)).sort()) {
      await fsp.rm(path.join(dir, name), { recursive: true, force: true });
      await fsp.rename(path.join(inside, name), path.join(dir, name));
    }
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
}
