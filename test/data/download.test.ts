import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, writeFileSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadFile, parseRetryAfter } from '../../src/data/download';
import { DownloadError } from '../../src/data/errors';
import { withFileLock } from '../../src/data/lock';
import { fixtureBytes, sha256, startKaggleServer } from '../support/kaggle-server';
import { startTestProxy, type TestProxy } from '../support/proxy';

const fast = { retries: 4, minDelayMs: 5, maxDelayMs: 20 };
const noProxyEnv: NodeJS.ProcessEnv = {};

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-download-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const BODY = fixtureBytes(400_000, 'download-core');

test('an interrupted transfer resumes with Range and the file is byte-identical', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.dropAfterBytes = [150_000];
      const dest = path.join(dir, 'data.bin');
      const res = await downloadFile({ url: server.fileUrl('data.bin'), dest, quiet: true, retry: fast, env: noProxyEnv });
      assert.equal(res.resumed, true);
      assert.equal(res.skipped, false);
      assert.equal(sha256(await fsp.readFile(dest)), sha256(BODY));
      const gets = server.log.filter((e) => e.server === 'storage');
      assert.equal(gets.length, 2);
      assert.equal(gets[0].range, undefined);
      assert.match(gets[1].range ?? '', /^bytes=\d+-$/);
      assert.equal(gets[1].status, 206);
      assert.ok(gets[1].ifRange?.startsWith('"'), 'resumes with If-Range on the ETag');
      assert.deepEqual((await fsp.readdir(dir)).sort(), ['data.bin'], 'no .part, .lock or .part.json left behind');
    });
  } finally {
    await server.close();
  }
});

test('a .part left by an earlier run is continued, not restarted', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'data.bin');
      server.behaviour.dropAfterBytes = [100_000];
      await assert.rejects(
        downloadFile({ url: server.fileUrl('data.bin'), dest, quiet: true, retry: { retries: 0 }, env: noProxyEnv }),
        DownloadError,
      );
      const partSize = (await fsp.stat(`${dest}.part`)).size;
      assert.ok(partSize > 0 && partSize < BODY.length);
      const res = await downloadFile({ url: server.fileUrl('data.bin'), dest, quiet: true, retry: fast, env: noProxyEnv });
      assert.equal(res.resumed, true);
      assert.equal(server.log.at(-1)?.range, `bytes=${partSize}-`);
      assert.equal(sha256(await fsp.readFile(dest)), sha256(BODY));
    });
  } finally {
    await server.close();
  }
});

test('a server that ignores Range (200) makes the client restart instead of appending', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.ignoreRange = true;
      server.behaviour.dropAfterBytes = [120_000];
      const lines: string[] = [];
      const dest = path.join(dir, 'data.bin');
      const res = await downloadFile({ url: server.fileUrl('data.bin'), dest, retry: fast, env: noProxyEnv, progressMode: 'silent', log: (m) => lines.push(m) });
      assert.equal(res.resumed, false);
      const body = await fsp.readFile(dest);
      assert.equal(body.length, BODY.length);
      assert.equal(sha256(body), sha256(BODY));
      assert.equal(server.log.at(-1)?.status, 200);
      assert.ok(lines.some((l) => l.includes('ignored the Range request')), lines.join('\n'));
    });
  } finally {
    await server.close();
  }
});

test('429 with Retry-After is retried after the announced delay', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.failures = [{ status: 429, retryAfter: '1' }];
      const started = Date.now();
      await downloadFile({ url: server.fileUrl('data.bin'), dest: path.join(dir, 'd'), quiet: true, retry: fast, env: noProxyEnv });
      const storage = server.log.filter((e) => e.server === 'storage');
      assert.deepEqual(storage.map((e) => e.status), [429, 200]);
      assert.ok(Date.now() - started >= 900, 'waited about Retry-After seconds');
    });
  } finally {
    await server.close();
  }
});

test('Retry-After is capped by maxRetryAfterMs and parsed as seconds or an HTTP date', async () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000), 5000);
  assert.equal(parseRetryAfter('soon'), undefined);
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.failures = [{ status: 503, retryAfter: '3600' }];
      const started = Date.now();
      await downloadFile({ url: server.fileUrl('data.bin'), dest: path.join(dir, 'd'), quiet: true, retry: { ...fast, maxRetryAfterMs: 30 }, env: noProxyEnv });
      assert.ok(Date.now() - started < 3000);
    });
  } finally {
    await server.close();
  }
});

test('5xx answers are retried with backoff until the file arrives', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.failures = [{ status: 500 }, { status: 502 }];
      const dest = path.join(dir, 'd');
      const res = await downloadFile({ url: server.fileUrl('data.bin'), dest, quiet: true, retry: fast, env: noProxyEnv });
      assert.equal(res.requests, 3);
      assert.equal(sha256(await fsp.readFile(dest)), sha256(BODY));
    });
  } finally {
    await server.close();
  }
});

test('persistent 5xx gives a DownloadError with the status after the retries', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.failures = Array.from({ length: 10 }, () => ({ status: 503 }));
      await assert.rejects(
        downloadFile({ url: server.fileUrl('data.bin'), dest: path.join(dir, 'd'), quiet: true, retry: { ...fast, retries: 2 }, env: noProxyEnv }),
        (err: unknown) => err instanceof DownloadError && err.status === 503 && /failed after 3 attempts/.test(err.message),
      );
      assert.equal(server.log.length, 3);
    });
  } finally {
    await server.close();
  }
});

test('a 404 fails at once with the URL and status, without retrying', async () => {
  const server = await startKaggleServer();
  try {
    await withTmp(async (dir) => {
      await assert.rejects(
        downloadFile({ url: server.fileUrl('missing.bin'), dest: path.join(dir, 'd'), quiet: true, retry: fast, env: noProxyEnv }),
        (err: unknown) => err instanceof DownloadError && err.status === 404 && err.message.includes('/files/missing.bin'),
      );
      assert.equal(server.log.length, 1);
    });
  } finally {
    await server.close();
  }
});

test('user:password in the URL becomes basic auth and never appears in errors', async () => {
  const server = await startKaggleServer();
  try {
    await withTmp(async (dir) => {
      const url = server.fileUrl('missing.bin').replace('http://', 'http://bob:s3cret-pw@');
      await assert.rejects(
        downloadFile({ url, dest: path.join(dir, 'd'), quiet: true, retry: fast, env: noProxyEnv }),
        (err: unknown) => err instanceof DownloadError && err.status === 404 && !`${err.message}${err.stack}${err.url}`.includes('s3cret-pw'),
      );
      assert.equal(server.log[0].authorization, true);
    });
  } finally {
    await server.close();
  }
});

test('an existing file is reused unless force is set', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'd');
      const args = { url: server.fileUrl('data.bin'), dest, quiet: true, retry: fast, env: noProxyEnv };
      assert.equal((await downloadFile(args)).skipped, false);
      assert.equal((await downloadFile(args)).skipped, true);
      assert.equal(server.transfers(), 1);
      assert.equal((await downloadFile({ ...args, force: true })).skipped, false);
      assert.equal(server.transfers(), 2);
    });
  } finally {
    await server.close();
  }
});

test('two concurrent downloads of one file make one transfer and both succeed', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.chunkDelayMs = 20;
      const dest = path.join(dir, 'd');
      const args = { url: server.fileUrl('data.bin'), dest, quiet: true, retry: fast, env: noProxyEnv, lock: { pollMs: 10 } };
      const [a, b] = await Promise.all([downloadFile(args), downloadFile(args)]);
      assert.equal(server.transfers(), 1);
      assert.deepEqual([a.skipped, b.skipped].sort(), [false, true]);
      assert.equal(sha256(await fsp.readFile(dest)), sha256(BODY));
    });
  } finally {
    await server.close();
  }
});

test('a lock left by a dead process is taken over', async () => {
  await withTmp(async (dir) => {
    const lock = path.join(dir, 'x.lock');
    // A pid that cannot be alive: the child has exited by the time we use it.
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    writeFileSync(lock, JSON.stringify({ pid: deadPid, hostname: os.hostname(), createdAt: new Date().toISOString() }));
    const value = await withFileLock(lock, async () => readFileSync(lock, 'utf8'), { timeoutMs: 2000, pollMs: 10 });
    assert.equal(JSON.parse(value).pid, process.pid);
    await assert.rejects(fsp.stat(lock), /ENOENT/);
  });
});

/** Runs `fn` with a file server holding data.bin, a test proxy (demanding `auth` if given) and a temporary folder. */
async function withProxiedServer(auth: { username: string; password: string } | undefined, fn: (url: string, proxy: TestProxy, dir: string) => Promise<void>): Promise<void> {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  const proxy = await startTestProxy(auth);
  try {
    await withTmp((dir) => fn(server.fileUrl('data.bin'), proxy, dir));
  } finally {
    await proxy.close();
    await server.close();
  }
}

test('each scheme reads its own proxy variable, lowercase first, a scheme-less value meaning http://', async () => {
  await withProxiedServer(undefined, async (url, proxy, dir) => {
    const get = (name: string, env: NodeJS.ProcessEnv): Promise<unknown> => downloadFile({ url, dest: path.join(dir, name), quiet: true, retry: fast, env });
    // A proxy on a closed port would fail the download: the variable that wins is the working one.
    await get('a', { http_proxy: proxy.url, HTTP_PROXY: 'http://127.0.0.1:9' });
    await get('b', { HTTP_PROXY: proxy.url.replace('http://', '') });
    await get('c', { HTTPS_PROXY: 'http://127.0.0.1:9' });
    assert.deepEqual(proxy.log.map((e) => [e.method, e.target]), [['GET', url], ['GET', url]]);
    assert.equal(sha256(await fsp.readFile(path.join(dir, 'c'))), sha256(BODY));
  });
});

test('NO_PROXY sends a listed host (or host:port, or everything with *) direct, and only those', async () => {
  await withProxiedServer(undefined, async (url, proxy, dir) => {
    const { host, hostname } = new URL(url);
    const cases: Array<[string, boolean]> = [
      [`internal.example, .corp.test ${hostname}`, false],
      [host, false],
      ['*', false],
      [`${hostname}:9`, true],
      ['example.com,127.0.0.2', true],
    ];
    for (const [i, [noProxy, proxied]] of cases.entries()) {
      const before = proxy.log.length;
      await downloadFile({ url, dest: path.join(dir, String(i)), quiet: true, retry: fast, env: { HTTP_PROXY: proxy.url, NO_PROXY: noProxy } });
      assert.equal(proxy.log.length - before, proxied ? 1 : 0, `NO_PROXY=${noProxy}`);
    }
  });
});

test('a proxy that refuses the credentials fails at once with its status, naming the variable but not the password', async () => {
  await withProxiedServer({ username: 'pu', password: 'right-pw' }, async (url, proxy, dir) => {
    const env = { HTTP_PROXY: proxy.url.replace('http://', 'http://pu:wrong-secret-pw@') };
    await assert.rejects(downloadFile({ url, dest: path.join(dir, 'a'), quiet: true, retry: fast, env }), (err: unknown) => {
      assert.ok(err instanceof DownloadError);
      assert.equal(err.status, 407);
      assert.match(err.message, /^Proxy http:\/\/\*\*\*@127\.0\.0\.1:\d+\/ refused GET .*: HTTP 407\. Check HTTP_PROXY/);
      assert.ok(!`${err.message}\n${err.stack}`.includes('wrong-secret-pw'));
      return true;
    });
    assert.equal(proxy.log.length, 1, 'no retry');
  });
});

test('a proxy variable that is not a URL fails at once, without printing its password', async () => {
  await withTmp(async (dir) => {
    const env = { HTTPS_PROXY: 'http://pu:bad-secret-pw@[proxy' };
    await assert.rejects(downloadFile({ url: 'http://127.0.0.1:9/x', dest: path.join(dir, 'a'), quiet: true, retry: fast, env }), (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.equal(err.message, 'HTTPS_PROXY is not a valid proxy URL (http://***@[proxy): set it to a URL like http://proxy.example:3128, or unset it.');
      return true;
    });
  });
});

test('http downloads go through HTTP_PROXY in absolute form, and NO_PROXY bypasses it', async () => {
  const server = await startKaggleServer({ files: { 'data.bin': BODY } });
  const proxy = await startTestProxy({ username: 'pu', password: 'proxy-secret-pw' });
  try {
    await withTmp(async (dir) => {
      const proxyUrl = proxy.url.replace('http://', 'http://pu:proxy-secret-pw@');
      const dest = path.join(dir, 'a');
      await downloadFile({ url: server.fileUrl('data.bin'), dest, quiet: true, retry: fast, env: { HTTP_PROXY: proxyUrl } });
      assert.equal(sha256(await fsp.readFile(dest)), sha256(BODY));
      assert.deepEqual(proxy.log.map((e) => [e.method, e.target, e.authorized]), [['GET', server.fileUrl('data.bin'), true]]);

      await downloadFile({ url: server.fileUrl('data.bin'), dest: path.join(dir, 'b'), quiet: true, retry: fast, env: { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } });
      assert.equal(proxy.log.length, 1, 'NO_PROXY host went direct');
    });
  } finally {
    await proxy.close();
    await server.close();
  }
});

function selfSignedCert(dir: string): { key: string; cert: string } | undefined {
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'),
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(path.join(dir, 'k.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'c.pem'), 'utf8') };
  } catch {
    return undefined;
  }
}

test('https downloads tunnel through HTTPS_PROXY with CONNECT and verify the origin certificate', async (t) => {
  await withTmp(async (dir) => {
    const tls = selfSignedCert(dir);
    if (tls === undefined) {
      t.skip('openssl is not available to make a test certificate');
      return;
    }
    const server = await startKaggleServer({ files: { 'data.bin': BODY }, tls });
    const proxy = await startTestProxy();
    try {
      const dest = path.join(dir, 'a');
      const url = server.fileUrl('data.bin');
      await downloadFile({ url, dest, quiet: true, retry: fast, env: { HTTPS_PROXY: proxy.url }, ca: tls.cert });
      assert.equal(sha256(await fsp.readFile(dest)), sha256(BODY));
      assert.deepEqual(proxy.log.map((e) => [e.method, e.target]), [['CONNECT', new URL(url).host]]);
      // Without the CA the tunnel still opens but TLS verification refuses the origin.
      await assert.rejects(
        downloadFile({ url, dest: path.join(dir, 'b'), quiet: true, retry: { retries: 0 }, env: { HTTPS_PROXY: proxy.url } }),
        DownloadError,
      );
    } finally {
      await proxy.close();
      await server.close();
    }
  });
});
