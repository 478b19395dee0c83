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
 * A user name or key without the whitespace a copy and paste often adds around it (a trailing
 * newline, spaces). Such whitespace is removed with a warning naming where it was (never the
 * value); whitespace inside the value cannot be a Kaggle user name or key and is an error.
 */
function cleanField(value: string, field: string, where: string, warn: (m: string) => void, file?: string): string {
  const trimmed = value.trim();
  if (/\s/.test(trimmed)) {
    throw new CredentialsError(
      `${where[0].toUpperCase()}${where.slice(1)} contains whitespace inside the value; a Kaggle ${field === 'key' || field === 'KAGGLE_KEY' ? 'API key' : 'user name'} has none. ` +
        'Copy it again from https://www.kaggle.com/settings (API → Create New Token).',
      file,
    );
  }
  if (trimmed !== value) warn(`Removed leading/trailing whitespace from ${where}; Kaggle would reject the credentials with it.`);
  return trimmed;
}

/**
 * Internal: finds the credentials including the key. Use {@link findKaggleCredentials} outside
 * the HTTP client.
 *
 * @throws {CredentialsError} when none are found, when only one of the two variables is set (or
 *   one holds only whitespace), when a value has whitespace inside it, or when `kaggle.json` is
 *   not `{"username": "...", "key": "..."}`; whitespace around a value is removed with a warning
 */
export function loadKaggleCredentials(args: FindKaggleCredentialsArgs = {}): KaggleCredentials {
  const env = args.env ?? process.env;
  const warn = args.warn ?? ((m: string) => process.emitWarning(m, 'KaggleCredentialsWarning'));
  const rawUser = env.KAGGLE_USERNAME;
  const rawKey = env.KAGGLE_KEY;
  for (const [name, v] of [['KAGGLE_USERNAME', rawUser], ['KAGGLE_KEY', rawKey]] as const) {
    if (v !== undefined && v !== '' && v.trim() === '') {
      throw new CredentialsError(`${name} is set but holds only whitespace. Set it to your Kaggle ${name === 'KAGGLE_KEY' ? 'API key' : 'user name'}, or unset both variables to use kaggle.json.`);
    }
  }
  const hasUser = rawUser !== undefined && rawUser !== '';
  const hasKey = rawKey !== undefined && rawKey !== '';
  if (hasUser && hasKey) {
    const username = cleanField(rawUser, 'KAGGLE_USERNAME', 'the environment variable KAGGLE_USERNAME', warn);
    const key = cleanField(rawKey, 'KAGGLE_KEY', 'the environment variable KAGGLE_KEY', warn);
    return { username, key, source: 'env' };
  }
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
    if (typeof obj !== 'object' || obj === null || typeof obj.username !== 'string' || typeof obj.key !== 'string' || obj.username.trim() === '' || obj.key.trim() === '') {
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
    const username = cleanField(obj.username, 'username', `the "username" field of ${file}`, warn, file);
    const key = cleanField(obj.key, 'key', `the "key" field of ${file}`, warn, file);
    return { username, key, source: 'file', path: file };
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
