/**
 * A cross-process file lock for downloads: `<file>.lock` is created with `O_EXCL` (`'wx'`) and
 * holds `{ pid, hostname, createdAt }`. The holder touches it every few seconds; a waiter takes
 * over a lock whose process is gone (same host) or that has not been touched for `staleMs`.
 * Two notebooks downloading the same dataset therefore never interleave their writes: the second
 * waits, then finds the finished file.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import { TransferlabError } from '../util/errors';

/** Options for {@link withFileLock}. */
export interface FileLockArgs {
  /** Milliseconds between attempts while another process holds the lock. Default 100. */
  pollMs?: number;
  /** A lock untouched for this long is considered abandoned. Default 30000. */
  staleMs?: number;
  /** Give up waiting after this many milliseconds. Default `Infinity`. */
  timeoutMs?: number;
  /** Called once when the lock is busy, with the holder's description (for a "waiting" message). */
  onWait?: (holder: string) => void;
}

/** The lock could not be acquired within `timeoutMs`. */
export class LockTimeoutError extends TransferlabError {
  /** The lock file. */
  readonly path: string;
  constructor(path: string, holder: string, ms: number) {
    super(
      `Waited ${ms} ms for the lock ${path} held by ${holder}. Another download of the same file is still running; ` +
        'wait for it, or delete the lock file if that process is gone.',
    );
    this.path = path;
  }
}

interface LockInfo {
  pid: number;
  hostname: string;
  createdAt: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<{ info?: LockInfo; mtimeMs: number } | undefined> {
  try {
    const [text, stat] = await Promise.all([fsp.readFile(path, 'utf8'), fsp.stat(path)]);
    let info: LockInfo | undefined;
    try {
      info = JSON.parse(text) as LockInfo;
    } catch {
      info = undefined; // being written right now, or garbage: judged by age
    }
    return { info, mtimeMs: stat.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Runs `fn` while holding the lock file `lockPath`, waiting for other holders first.
 *
 * @param lockPath - the lock file, conventionally `<target>.lock`
 * @param fn - the work to do under the lock
 * @param args - see {@link FileLockArgs}
 * @returns what `fn` returns
 * @throws {LockTimeoutError} when `timeoutMs` passes first; rethrows what `fn` throws
 * @example
 * await withFileLock(`${zipPath}.lock`, () => download());
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, args: FileLockArgs = {}): Promise<T> {
  const pollMs = args.pollMs ?? 100;
  const staleMs = args.staleMs ?? 30_000;
  const timeoutMs = args.timeoutMs ?? Infinity;
  const started = Date.now();
  let announced = false;
  const me: LockInfo = { pid: process.pid, hostname: os.hostname(), createdAt: new Date().toISOString() };
  for (;;) {
    try {
      const handle = await fsp.open(lockPath, 'wx', 0o644);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = await readLock(lockPath);
    if (current === undefined) continue; // released between our attempts
    const age = Date.now() - current.mtimeMs;
    const dead = current.info !== undefined && current.info.hostname === me.hostname && !processAlive(current.info.pid);
    if (dead || age > staleMs) {
      // Take over atomically enough: only one waiter's rename of the stale file succeeds.
      const grave = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
      try {
        await fsp.rename(lockPath, grave);
        const moved = await readLock(grave);
        const same = moved?.info?.createdAt === current.info?.createdAt && moved?.info?.pid === current.info?.pid;
        // Another waiter may have replaced the stale lock in between: put a fresh one back.
        if (!same) await fsp.link(grave, lockPath).catch(() => undefined);
        await fsp.rm(grave, { force: true });
      } catch {
        /* someone else took it over */
      }
      continue;
    }
    const holder = current.info ? `process ${current.info.pid} on ${current.info.hostname} since ${current.info.createdAt}` : 'another process';
    if (!announced) {
      announced = true;
      args.onWait?.(holder);
    }
    if (Date.now() - started > timeoutMs) throw new LockTimeoutError(lockPath, holder, timeoutMs);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    fsp.utimes(lockPath, now, now).catch(() => undefined);
  }, Math.max(50, Math.floor(staleMs / 3)));
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await fsp.rm(lockPath, { force: true });
  }
}
