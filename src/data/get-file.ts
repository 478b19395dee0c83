/**
 * `keras.utils.get_file` in TypeScript (port of keras/src/utils/file_utils.py: `get_file`,
 * `validate_file`, `resolve_hasher`). Files live in the same cache as Python Keras —
 * `$KERAS_HOME` or `~/.keras`, subfolder `datasets` — so a file Python already fetched is reused.
 *
 * Same rules as Keras: `fname` without a folder (defaults to the URL's base name); a hash of 64 hex
 * characters is sha256, otherwise md5 (`hashAlgorithm: 'auto'`); a cached file whose hash differs
 * is downloaded again with a warning; with `extract`, a name with a dot (`x.zip`) downloads to
 * `x.zip` and extracts to `x_extracted`, a name without one downloads to `<name>_archive` and
 * extracts to `<name>`; falls back to `<tmpdir>/.keras` when the cache is not writable.
 *
 * Stronger than Keras: the transfer is resumable, retried and locked (see `download.ts`), and the
 * hash is checked before the file is moved into place, so a bad file never sits in the cache.
 * Extraction runs when the file was just downloaded or its folder is missing (Keras re-extracts on
 * every call).
 */
import { createReadStream, constants as fsConstants, promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ProgressMode } from '../runtime/progress';
import { checkOneOf, checkString, invalidParameterError } from '../util/validate';
import { extractArchive } from './archive';
import { downloadFile, type DownloadFileArgs, type ExpectedContent, type RetryArgs } from './download';
import { HashMismatchError, redactUrl } from './errors';
import type { FileLockArgs } from './lock';

/** Hash algorithms accepted by {@link getFile}. */
export type HashAlgorithm = 'auto' | 'md5' | 'sha256';

/** Options for {@link getFile} (Keras names in camelCase). */
export interface GetFileArgs {
  /** Expected md5 or sha256 hex digest; verified after download and on reuse. Default: none. */
  fileHash?: string;
  /** Deprecated in Keras in favour of `fileHash` (implies `hashAlgorithm: 'md5'`). */
  md5Hash?: string;
  /** Subfolder of the cache; an absolute path is used as is. Default `'datasets'`. */
  cacheSubdir?: string;
  /** `'md5'`, `'sha256'` or `'auto'` (64 hex characters → sha256, else md5). Default `'auto'`. */
  hashAlgorithm?: HashAlgorithm;
  /** Extract the archive (zip, or what `extractArchive` supports) and return its folder. Default `false`. */
  extract?: boolean;
  /** Deprecated in Keras in favour of `extract`; same effect here. Default `false`. */
  untar?: boolean;
  /** Cache root. Default: env `KERAS_HOME`, else `~/.keras`. */
  cacheDir?: string;
  /** Download even when a cached copy exists. Default `false`. */
  forceDownload?: boolean;
  /** No progress and no informational lines (warnings still print). Default `false`. */
  quiet?: boolean;
  /** Retry policy for 429/5xx/dropped connections. */
  retry?: RetryArgs;
  /** Milliseconds without socket activity before an attempt fails. Default 60000. */
  timeoutMs?: number;
  /** Overall time limit of the download (see `DownloadFileArgs.deadlineMs`). Default 3 600 000 (1 hour). */
  deadlineMs?: number;
  /** Minimum speed of an attempt (see `DownloadFileArgs.minSpeed`). Default 1024 bytes/s over 30 s. */
  minSpeed?: DownloadFileArgs['minSpeed'];
  /**
   * What the file must be before it is cached (see `ExpectedContent`); a cached copy that fails the
   * check is downloaded again. Default: `'zip'` with `extract`, else `'auto'` (`.zip` and `.h5`
   * names are checked for their signature; no file may be an HTML page).
   */
  expect?: ExpectedContent;
  /** Environment read for `KERAS_HOME` and proxy variables. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Force a progress mode. */
  progressMode?: ProgressMode;
  /** Stream for progress bars and lines. Default `process.stderr`. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Receives informational lines and warnings. Default: lines on `process.stderr`. */
  log?: (message: string) => void;
  /** Lock tuning for concurrent downloads. */
  lock?: FileLockArgs;
  /** Extra trusted CA certificates (PEM) for https origins. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * Hex digest of a file.
 *
 * @param file - path of the file
 * @param algorithm - `'sha256'` or `'md5'`. Default `'sha256'`
 * @returns the lowercase hex digest
 * @example
 * await hashFile('/tmp/x.zip', 'md5') // 'd41d8cd98f00b204e9800998ecf8427e'
 */
export async function hashFile(file: string, algorithm: 'md5' | 'sha256' = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/** The algorithm Keras's `resolve_hasher` picks: sha256 when asked, or for a 64-character hash in `'auto'`; md5 otherwise. */
export function resolveHashAlgorithm(algorithm: HashAlgorithm, fileHash?: string): 'md5' | 'sha256' {
  if (algorithm === 'sha256') return 'sha256';
  if (algorithm === 'auto' && fileHash !== undefined && fileHash.length === 64) return 'sha256';
  return 'md5';
}

/** The Keras cache root: `KERAS_HOME`, else `~/.keras`. */
export function kerasHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.KERAS_HOME;
  if (home !== undefined && home !== '') return expandHome(home, env);
  return path.join(env.HOME ?? os.homedir(), '.keras');
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === '~' || p.startsWith('~/')) return path.join(env.HOME ?? os.homedir(), p.slice(1));
  return p;
}

async function writableDir(dir: string): Promise<boolean> {
  try {
    await fsp.mkdir(dir, { recursive: true });
    await fsp.access(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Downloads a file from a URL unless it is already in the cache, like `keras.utils.get_file`.
 *
 * @param fname - local file name (no folders); `null`/`undefined` uses the URL's base name. With
 *   `extract`, see the module comment for how the archive and folder are named
 * @param origin - the URL (`http:` or `https:`)
 * @param args - see {@link GetFileArgs}
 * @returns the path of the cached file, or of the extraction folder when `extract`/`untar`
 * @throws {TypeError} for a bad argument (a path in `fname`, a bad `hashAlgorithm`)
 * @throws {HashMismatchError} when the downloaded bytes do not match `fileHash` (the partial file is
 *   deleted; the message names the URL, expected and actual hash)
 * @throws {DownloadError} when the transfer fails after the retries (a `DownloadTimeoutError`
 *   past `deadlineMs`), at once for a URL that is not http(s)
 * @throws {UnexpectedContentError} when the server sends an HTML page or, for a zip/`.h5`, a file
 *   without its signature (nothing is cached)
 * @example
 * const weights = await getFile(
 *   'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5',
 *   'https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5',
 *   { cacheSubdir: 'models', fileHash: 'bcbd6486424b2319ff4ef7d526e38f63' },
 * );
 */
export async function getFile(fname: string | null | undefined, origin: string, args: GetFileArgs = {}): Promise<string> {
  checkString('origin', origin);
  const env = args.env ?? process.env;
  const log = args.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const quiet = args.quiet ?? false;
  let fileHash = args.fileHash;
  let hashAlgorithm = checkOneOf<HashAlgorithm>('hashAlgorithm', args.hashAlgorithm ?? 'auto', ['auto', 'md5', 'sha256']);
  if (args.md5Hash !== undefined && fileHash === undefined) {
    fileHash = args.md5Hash;
    hashAlgorithm = 'md5';
  }
  if (fileHash !== undefined && !/^[0-9a-fA-F]+$/.test(fileHash)) throw invalidParameterError('fileHash', 'hex md5 or sha256 digest', fileHash);
  const algorithm = resolveHashAlgorithm(hashAlgorithm, fileHash);
  const expected = fileHash?.toLowerCase();

  let base = expandHome(args.cacheDir ?? kerasHome(env), env);
  if (!(await writableDir(base))) {
    const fallback = path.join(os.tmpdir(), '.keras');
    if (!quiet) log(`The cache folder ${base} is not writable; using ${fallback} instead.`);
    base = fallback;
  }
  const cacheSubdir = args.cacheSubdir ?? 'datasets';
  const datadir = path.isAbsolute(cacheSubdir) ? cacheSubdir : path.join(base, cacheSubdir);
  await fsp.mkdir(datadir, { recursive: true });

  const provided = fname !== null && fname !== undefined && fname !== '';
  let name: string;
  if (provided) {
    name = fname;
    if (name === '.' || name === '..') {
      throw invalidParameterError('fname', "a file name (not '.' or '..', which name folders)", fname);
    }
    if (name.includes('/') || name.includes(path.sep)) {
      throw invalidParameterError('fname', 'a file name without folders (use cacheDir/cacheSubdir to choose the folder)', fname);
    }
  } else {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw invalidParameterError('origin', 'an http(s) URL', redactUrl(origin));
    }
    name = path.posix.basename(parsed.pathname);
    if (name === '' || name === '.' || name === '..') throw invalidParameterError('fname', `a file name (none can be derived from ${redactUrl(origin)})`, fname);
  }

  const extract = (args.extract ?? false) || (args.untar ?? false);
  let target: string;
  let extractionDir: string | undefined;
  if (extract) {
    if (provided && name.includes('.')) {
      target = path.join(datadir, name);
      extractionDir = path.join(datadir, `${name.slice(0, name.indexOf('.'))}_extracted`);
    } else {
      extractionDir = path.join(datadir, name);
      target = path.join(datadir, `${name}_archive`);
    }
  } else {
    target = path.join(datadir, name);
  }

  let force = args.forceDownload ?? false;
  if (!force && expected !== undefined && (await exists(target))) {
    const actual = await hashFile(target, algorithm);
    if (actual !== expected) {
      log(
        `A local file was found at ${target}, but it seems to be incomplete or outdated because the ${algorithm} ` +
          `file hash (${actual}) does not match the original value of ${expected}, so we will re-download the data.`,
      );
      force = true;
    }
  }

  let downloaded = false;
  const safeOrigin = redactUrl(origin);
  await downloadFile({
    url: origin,
    dest: target,
    force,
    quiet,
    label: name,
    retry: args.retry,
    timeoutMs: args.timeoutMs,
    deadlineMs: args.deadlineMs,
    minSpeed: args.minSpeed,
    // An archive to extract must be a zip (what extractArchive reads); otherwise judged by the name.
    expect: args.expect ?? (extract ? 'zip' : 'auto'),
    env,
    ca: args.ca,
    progressMode: args.progressMode,
    progressStream: args.progressStream,
    log,
    lock: args.lock,
    verify:
      expected === undefined
        ? undefined
        : async (part) => {
            const actual = await hashFile(part, algorithm);
            if (actual !== expected) throw new HashMismatchError(origin, algorithm, expected, actual);
          },
    afterDownload: async () => {
      downloaded = true;
    },
    // Announce the transfer the way Keras does, only when one really starts.
    onStart: () => {
      if (!quiet) log(`Downloading data from ${safeOrigin}`);
    },
  });

  if (extractionDir !== undefined) {
    if (downloaded || !(await exists(extractionDir))) {
      await fsp.rm(extractionDir, { recursive: true, force: true });
      await extractArchive(target, extractionDir);
    }
    return extractionDir;
  }
  return target;
}
