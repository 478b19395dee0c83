import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HashMismatchError } from '../../src/data/errors';
import { getFile, hashFile, resolveHashAlgorithm } from '../../src/data/get-file';
import { fixtureBytes, makeDatasetZip, startKaggleServer } from '../support/kaggle-server';

const fast = { retries: 2, minDelayMs: 5, maxDelayMs: 20 };
const BODY = fixtureBytes(150_000, 'get-file');
const MD5 = createHash('md5').update(BODY).digest('hex');
const SHA256 = createHash('sha256').update(BODY).digest('hex');

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-getfile-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test('the hash algorithm follows Keras: 64 hex characters are sha256, others md5', () => {
  assert.equal(resolveHashAlgorithm('auto', SHA256), 'sha256');
  assert.equal(resolveHashAlgorithm('auto', MD5), 'md5');
  assert.equal(resolveHashAlgorithm('auto'), 'md5');
  assert.equal(resolveHashAlgorithm('sha256', MD5), 'sha256');
});

test('getFile downloads into KERAS_HOME/datasets, verifies an md5 or sha256 and reuses the cache', async () => {
  const server = await startKaggleServer({ files: { 'w.bin': BODY } });
  try {
    await withTmp(async (home) => {
      const env = { KERAS_HOME: path.join(home, 'kh') };
      const lines: string[] = [];
      const log = (m: string): void => void lines.push(m);
      const p = await getFile('w.bin', server.fileUrl('w.bin'), { fileHash: MD5, env, log, progressMode: 'silent', retry: fast });
      assert.equal(p, path.join(home, 'kh', 'datasets', 'w.bin'));
      assert.equal(await hashFile(p), SHA256);
      assert.ok(lines.some((l) => l.startsWith('Downloading data from http://127.0.0.1:')), lines.join('\n'));
      const again = await getFile('w.bin', server.fileUrl('w.bin'), { fileHash: SHA256, env, quiet: true, retry: fast });
      assert.equal(again, p);
      assert.equal(server.transfers(), 1, 'a cached file with the right hash is reused');
      // A file cached by Python Keras in the same place is reused too.
      await fsp.writeFile(path.join(home, 'kh', 'datasets', 'py.bin'), BODY);
      await getFile('py.bin', server.fileUrl('w.bin'), { fileHash: SHA256, env, quiet: true, retry: fast });
      assert.equal(server.transfers(), 1);
    });
  } finally {
    await server.close();
  }
});

test('cacheDir and an absolute cacheSubdir choose the folder; fname defaults to the URL base name', async () => {
  const server = await startKaggleServer({ files: { 'named.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      const p = await getFile(null, server.fileUrl('named.bin'), { cacheDir: dir, cacheSubdir: 'models', quiet: true, env: {}, retry: fast });
      assert.equal(p, path.join(dir, 'models', 'named.bin'));
      const abs = path.join(dir, 'elsewhere');
      assert.equal(await getFile('x.bin', server.fileUrl('named.bin'), { cacheDir: dir, cacheSubdir: abs, quiet: true, env: {}, retry: fast }), path.join(abs, 'x.bin'));
      await assert.rejects(getFile('a/b.bin', server.fileUrl('named.bin'), { cacheDir: dir, env: {} }), /Expected a file name without folders/);
    });
  } finally {
    await server.close();
  }
});

test('a cached file with the wrong hash is downloaded again with a warning', async () => {
  const server = await startKaggleServer({ files: { 'w.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      await fsp.mkdir(path.join(dir, 'datasets'), { recursive: true });
      await fsp.writeFile(path.join(dir, 'datasets', 'w.bin'), 'stale');
      const lines: string[] = [];
      const p = await getFile('w.bin', server.fileUrl('w.bin'), { fileHash: SHA256, cacheDir: dir, quiet: true, env: {}, retry: fast, log: (m) => void lines.push(m) });
      assert.equal(await hashFile(p), SHA256);
      assert.equal(server.transfers(), 1);
      assert.ok(lines.some((l) => l.includes('does not match the original value') && l.includes(SHA256)), lines.join('\n'));
    });
  } finally {
    await server.close();
  }
});

test('a hash mismatch after download deletes the partial file and names URL, expected and actual hash', async () => {
  const server = await startKaggleServer({ files: { 'w.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      const wrong = 'f'.repeat(64);
      await assert.rejects(getFile('w.bin', server.fileUrl('w.bin'), { fileHash: wrong, cacheDir: dir, quiet: true, env: {}, retry: fast }), (err: unknown) => {
        assert.ok(err instanceof HashMismatchError);
        assert.equal(err.expected, wrong);
        assert.equal(err.actual, SHA256);
        assert.ok(err.message.includes(server.fileUrl('w.bin')));
        assert.ok(err.message.includes(wrong) && err.message.includes(SHA256));
        return true;
      });
      assert.deepEqual(await fsp.readdir(path.join(dir, 'datasets')), [], 'no file, .part or lock left');
    });
  } finally {
    await server.close();
  }
});

test('an interrupted getFile resumes and still verifies the hash', async () => {
  const server = await startKaggleServer({ files: { 'w.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.dropAfterBytes = [70_000];
      const p = await getFile('w.bin', server.fileUrl('w.bin'), { fileHash: MD5, cacheDir: dir, quiet: true, env: {}, retry: fast });
      assert.equal(await hashFile(p, 'md5'), MD5);
      assert.equal(server.log.at(-1)?.status, 206);
    });
  } finally {
    await server.close();
  }
});

test('extract names the archive and folder as Keras does and extracts once', async () => {
  const zip = makeDatasetZip({ 'flowers/a.bin': 1000, 'flowers/b.bin': 2000 });
  const server = await startKaggleServer({ files: { 'flowers.zip': zip } });
  try {
    await withTmp(async (dir) => {
      const url = server.fileUrl('flowers.zip');
      const withDot = await getFile('flowers.zip', url, { extract: true, cacheDir: dir, quiet: true, env: {}, retry: fast });
      assert.equal(withDot, path.join(dir, 'datasets', 'flowers_extracted'));
      assert.equal((await fsp.stat(path.join(withDot, 'flowers', 'b.bin'))).size, 2000);
      await fsp.stat(path.join(dir, 'datasets', 'flowers.zip'));
      const noDot = await getFile('flowers', url, { extract: true, cacheDir: dir, quiet: true, env: {}, retry: fast });
      assert.equal(noDot, path.join(dir, 'datasets', 'flowers'));
      await fsp.stat(path.join(dir, 'datasets', 'flowers_archive'));
      assert.equal((await fsp.stat(path.join(noDot, 'flowers', 'a.bin'))).size, 1000);
      await getFile('flowers', url, { extract: true, cacheDir: dir, quiet: true, env: {}, retry: fast });
      assert.equal(server.transfers(), 2);
    });
  } finally {
    await server.close();
  }
});

test('an unusable cache folder falls back to <tmpdir>/.keras', async () => {
  const server = await startKaggleServer({ files: { 'fallback-probe.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      // A regular file where the cache folder should be cannot be written into, even by root.
      const blocked = path.join(dir, 'not-a-folder');
      await fsp.writeFile(blocked, '');
      const lines: string[] = [];
      const sub = `tl-test-${process.pid}`;
      const p = await getFile('fallback-probe.bin', server.fileUrl('fallback-probe.bin'), {
        cacheDir: blocked,
        cacheSubdir: sub,
        env: {},
        progressMode: 'silent',
        retry: fast,
        log: (m) => void lines.push(m),
      });
      try {
        assert.equal(p, path.join(os.tmpdir(), '.keras', sub, 'fallback-probe.bin'));
        assert.ok(lines.some((l) => l.includes('is not writable')));
      } finally {
        await fsp.rm(path.join(os.tmpdir(), '.keras', sub), { recursive: true, force: true });
      }
    });
  } finally {
    await server.close();
  }
});
