/**
 * Kaggle API credentials, found in the order the official `kaggle` client uses
 * (kaggle-api `KaggleApi.authenticate`): the environment variables `KAGGLE_USERNAME` and
 * `KAGGLE_KEY`, then `kaggle.json` in `KAGGLE_CONFIG_DIR`, or `~/.kaggle` (or
 * `$XDG_CONFIG_HOME/kaggle`, as newer clients also look there).
 *
 * The key never leaves this module through a public function: {@link findKaggleCredentials}
 * returns the user name and where the pair came from, never the key, so a notebook that displays
 * the result shows nothing secret.
 */
import { readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CredentialsError } from './errors';

/** Where credentials came from, without the key (safe to print). */
export interface KaggleCredentialsInfo {
  /** The Kaggle user name. */
  username: string;
  /** `'env'` for `KAGGLE_USERNAME`/`KAGGLE_KEY`, `'file'` for `kaggle.json`. */
  source: 'env' | 'file';
  /** The `kaggle.json` used, when `source` is `'file'`. */
  path?: string;
}

/** Internal: the credentials with the key, for the HTTP client only. */
export interface KaggleCredentials extends KaggleCredentialsInfo {
  key: string;
}

/** Options for {@link findKaggleCredentials}. */
export interface FindKaggleCredentialsArgs {
  /** Environment to read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Receives warnings (a key file readable by others). Default: `process.emitWarning`. */
  warn?: (message: string) => void;
}

const HOW_TO =
  'Provide them in one of two ways: (1) set the environment variables KAGGLE_USERNAME and KAGGLE_KEY, or ' +
  '(2) save the file downloaded from https://www.kaggle.com/settings (API → Create New Token) as ' +
  '~/.kaggle/kaggle.json (or in the folder named by KAGGLE_CONFIG_DIR) and run `chmod 600` on it.';

/** The `kaggle.json` locations searched, in order. */
export function kaggleConfigCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? os.homedir();
  if (env.KAGGLE_CONFIG_DIR !== undefined && env.KAGGLE_CONFIG_DIR !== '') return [path.join(env.KAGGLE_CONFIG_DIR, 'kaggle.json')];
  const xdg = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return [path.join(home, '.kaggle', 'kaggle.json'), path.join(xdg, 'kaggle', 'kaggle.json')];
}

/**
 * Internal: finds the credentials including the key. Use {@link findKaggleCredentials} outside
 * the HTTP client.
 *
 * @throws {CredentialsError} when none are found, when only one of the two variables is set, or
 *   when `kaggle.json` is not `{"username": "...", "key": "..."}`
 */
export function loadKaggleCredentials(args: FindKaggleCredentialsArgs = {}): KaggleCredentials {
  const env = args.env ?? process.env;
  const warn = args.warn ?? ((m: string) => process.emitWarning(m, 'KaggleCredentialsWarning'));
  const user = env.KAGGLE_USERNAME;
  const key = env.KAGGLE_KEY;
  const hasUser = user !== undefined && user !== '';
  const hasKey = key !== undefined && key !== '';
  if (hasUser && hasKey) return { username: user, key, source: 'env' };
  if (hasUser !== hasKey) {
    throw new CredentialsError(
      `${hasUser ? 'KAGGLE_USERNAME' : 'KAGGLE_KEY'} is set but ${hasUser ? 'KAGGLE_KEY' : 'KAGGLE_USERNAME'} is not. ` +
        'Set both environment variables, or unset both to use kaggle.json.',
    );
  }
  const candidates = kaggleConfigCandidates(env);
  for (const file of candidates) {
    let text: string;
    let mode: number;
    try {
      mode = statSync(file).mode;
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new CredentialsError(`Could not read the Kaggle credentials file ${file} (${code ?? 'error'}). Check its permissions.`, file, 'unreadable');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const obj = parsed as { username?: unknown; key?: unknown } | undefined;
    if (typeof obj !== 'object' || obj === null || typeof obj.username !== 'string' || typeof obj.key !== 'string' || obj.username === '' || obj.key === '') {
      // Never echo the contents: they may hold the key.
      throw new CredentialsError(
        `The Kaggle credentials file ${file} is malformed: expected JSON like {"username": "your-name", "key": "..."} ` +
          'with two non-empty strings. Download a fresh one from https://www.kaggle.com/settings (API → Create New Token).',
        file,
      );
    }
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      warn(`Your Kaggle API key file ${file} is readable by other users on this system. To fix this, run: chmod 600 ${file}`);
    }
    return { username: obj.username, key: obj.key, source: 'file', path: file };
  }
  throw new CredentialsError(
    `No Kaggle API credentials found (looked at KAGGLE_USERNAME/KAGGLE_KEY and ${candidates.join(', ')}). ${HOW_TO}`,
    undefined,
    'missing',
  );
}

/**
 * Finds Kaggle API credentials the way the `kaggle` command does, and says where they came from.
 * The key is never returned (so displaying the result is safe).
 *
 * @param args - see {@link FindKaggleCredentialsArgs}
 * @returns `{ username, source, path? }`, or `null` when none are provided anywhere
 *   (`datasetsDownload` then throws a {@link CredentialsError} listing both ways to provide them)
 * @throws {CredentialsError} when `kaggle.json` is malformed or unreadable (the message names it),
 *   or only one of `KAGGLE_USERNAME`/`KAGGLE_KEY` is set
 * @example
 * const who = findKaggleCredentials(); // { username: 'ada', source: 'file', path: '/home/ada/.kaggle/kaggle.json' }
 */
export function findKaggleCredentials(args: FindKaggleCredentialsArgs = {}): KaggleCredentialsInfo | null {
  let found: KaggleCredentials;
  try {
    found = loadKaggleCredentials(args);
  } catch (err) {
    if (err instanceof CredentialsError && err.reason === 'missing') return null;
    throw err;
  }
  const { username, source, path: file } = found;
  return file === undefined ? { username, source } : { username, source, path: file };
}

/**
 * True when usable Kaggle credentials are available (environment or a well-formed `kaggle.json`).
 * Never throws and never warns; use it to choose between the Kaggle download and an offline fallback.
 *
 * @param env - environment to read. Default `process.env`
 * @example
 * if (!hasKaggleCredentials()) console.log('Using the embedded sample instead of the Kaggle dataset.');
 */
export function hasKaggleCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    loadKaggleCredentials({ env, warn: () => undefined });
    return true;
  } catch {
    return false;
  }
}
