// Hostile servers against the download core, getFile and the Kaggle client (issue 15: R1–R4, R12,
// R13). Every server is real (raw TCP or node:http on 127.0.0.1); each test asserts that the call
// settles quickly with a typed error or a correct file, and that nothing half-written sits at the
// destination or is marked complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DOWNLOAD_DEFAULTS, downloadFile } from '../../src/data/download';
import { DownloadError, DownloadTimeoutError, UnexpectedContentError } from '../../src/data/errors';
import { getFile } from '../../src/data/get-file';
import { datasetsDownload } from '../../src/data/kaggle';
import { HDF5_SIGNATURE } from '../../src/data/content-check';
import { fixtureBytes, makeDatasetZip, sha256 } from '../support/kaggle-server';
import { startRawServer } from '../support/raw-server';

const env: NodeJS.ProcessEnv = {};
const fast = { retries: 3, minDelayMs: 5, maxDelayMs: 20 };

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-hostile-dl-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The files left in `dir` (nothing at dest, no lock, no completion record unless expected). */
async function listing(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort();
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; result?: T; error?: unknown }> {
  const t0 = Date.now();
  try {
    const result = await p;
    return { ms: Date.now() - t0, result };
  } catch (error) {
    return { ms: Date.now() - t0, error };
  }
}

test('R1: 200 with Content-Length 2000000, 1 MiB sent, Range ignored: bounded attempts, then a DownloadError', async () => {
  const mib = Buffer.alloc(1 << 20, 7);
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\nContent-Type: application/octet-stream\r\n\r\n');
    socket.write(mib, () => server.track(setTimeout(() => socket.destroy(), 10)));
  });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'big.bin');
      const r = await timed(downloadFile({ url: `${server.origin}/big.bin`, dest, retry: fast, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError, String(r.error));
      assert.match((r.error as Error).message, /failed after 4 attempts/);
      assert.equal(server.requests.length, 4, 'retries: 3 means 4 attempts, whatever was received');
      assert.ok(!(await listing(dir)).includes('big.bin') && !(await listing(dir)).includes('big.bin.lock'));
    });
  } finally {
    await server.close();
  }
});

test('R1: a stall after 100 bytes with a short timeoutMs is retried a bounded number of times', async () => {
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n' + 'x'.repeat(100));
  });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'stall.bin');
      const r = await timed(downloadFile({ url: `${server.origin}/s`, dest, retry: { ...fast, retries: 2 }, timeoutMs: 200, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError);
      assert.equal(server.requests.length, 3);
      assert.ok(r.ms < 5000, `settled in ${r.ms} ms`);
      assert.ok(!(await listing(dir)).includes('stall.bin'));
    });
  } finally {
    await server.close();
  }
});

test('R1: a dropped chunked body from a server that ignores Range ends after the retries', async () => {
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    socket.write('4000\r\n' + 'y'.repeat(0x4000) + '\r\n', () => server.track(setTimeout(() => socket.destroy(), 10)));
  });
  try {
    await withTmp(async (dir) => {
      const r = await timed(downloadFile({ url: `${server.origin}/c`, dest: path.join(dir, 'c.bin'), retry: fast, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError);
      assert.equal(server.requests.length, 4);
    });
  } finally {
    await server.close();
  }
});

test('R1: real progress resets the count but maxAttempts caps the attempts in all', async () => {
  // Honours Range but sends only 10 more bytes each time: every attempt is progress.
  const body = fixtureBytes(10_000, 'trickle-progress');
  const server = await startRawServer((socket, req) => {
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const status = m ? '206 Partial Content' : '200 OK';
    const range = m ? `Content-Range: bytes ${start}-${body.length - 1}/${body.length}\r\n` : '';
    socket.write(`HTTP/1.1 ${status}\r\nAccept-Ranges: bytes\r\nContent-Length: ${body.length - start}\r\n${range}\r\n`);
    socket.write(body.subarray(start, start + 10), () => server.track(setTimeout(() => socket.destroy(), 5)));
  });
  try {
    await withTmp(async (dir) => {
      const r = await timed(downloadFile({ url: `${server.origin}/p`, dest: path.join(dir, 'p.bin'), retry: { ...fast, retries: 1, maxAttempts: 6 }, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError);
      assert.match((r.error as Error).message, /failed after 6 attempts/);
      assert.equal(server.requests.length, 6);
    });
  } finally {
    await server.close();
  }
});

test('R2: headers then 10 of 5000 bytes and a destroyed socket: the promise rejects, no lock or file is left', async () => {
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n0123456789');
    socket.destroy();
  });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'r2.bin');
      const r = await timed(downloadFile({ url: `${server.origin}/r2`, dest, retry: { ...fast, retries: 2 }, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError, String(r.error));
      assert.ok(r.ms < 3000);
      const left = await listing(dir);
      assert.ok(!left.includes('r2.bin') && !left.includes('r2.bin.lock'), left.join(','));
    });
  } finally {
    await server.close();
  }
});

test('R2: a script awaiting that download prints the error and exits non-zero (not 0 with nothing printed)', async () => {
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n0123456789');
    socket.destroy();
  });
  try {
    await withTmp(async (dir) => {
      const mod = path.resolve(__dirname, '../../src/data/download.js');
      const script = `require(${JSON.stringify(mod)}).downloadFile({ url: ${JSON.stringify(`${server.origin}/x`)}, dest: ${JSON.stringify(path.join(dir, 'x'))}, quiet: true, env: {}, retry: { retries: 1, minDelayMs: 5 } }).then(() => console.log('resolved'), (e) => { console.error(e.name + ': ' + e.message); process.exitCode = 3; });`;
      // Asynchronously: a synchronous spawn would block the server in this process.
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 3, err);
      assert.match(err, /DownloadError: Download of .* failed after 2 attempts/);
    });
  } finally {
    await server.close();
  }
});

/** A node:http server whose routes the test sets: path → handler. */
async function startRoutes(routes: Record<string, http.RequestListener>): Promise<{ origin: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    hits.push(p);
    const h = routes[p];
    if (h === undefined) res.writeHead(404).end('no');
    else h(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const LOGIN = Buffer.from('<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in.</body></html>\n\n\n');

test('R3: datasetsDownload refuses a redirect to a 94-byte text/html page, marks nothing complete, and a later run downloads', async () => {
  assert.equal(LOGIN.length, 94);
  const zip = makeDatasetZip({ 'a/1.bin': 1000 });
  let serveZip = false;
  const routes: Record<string, http.RequestListener> = {
    '/api/v1/datasets/download/owner/data': (_req, res) => res.writeHead(302, { Location: serveZip ? '/storage/data.zip' : '/login' }).end(),
    '/login': (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': LOGIN.length }).end(LOGIN),
    '/storage/data.zip': (_req, res) => res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': zip.length }).end(zip),
  };
  const server = await startRoutes(routes);
  try {
    await withTmp(async (dir) => {
      const creds = { KAGGLE_USERNAME: 'u', KAGGLE_KEY: 'k-123456789' };
      const args = { path: dir, baseUrl: `${server.origin}/api/v1`, env: creds, quiet: true, retry: fast };
      await assert.rejects(datasetsDownload('owner/data', args), (err: unknown) => {
        assert.ok(err instanceof UnexpectedContentError, String(err));
        assert.match(err.message, /HTML page \(text\/html; charset=utf-8, 94 bytes/);
        assert.match(err.message, /redirected to http:\/\/127\.0\.0\.1:\d+\/login/);
        assert.match(err.message, /Nothing was saved/);
        return true;
      });
      assert.deepEqual(await listing(dir), [], 'no zip, no .part, no completion record, no lock');
      serveZip = true;
      const res = await datasetsDownload('owner/data', args);
      assert.equal(res.skipped, false);
      assert.equal(sha256(await fsp.readFile(res.zipPath)), sha256(zip));
    });
  } finally {
    await server.close();
  }
});

test('R3: a login page already cached as the dataset (with a completion record) is downloaded again, not trusted', async () => {
  const zip = makeDatasetZip({ 'a/1.bin': 1000 });
  const server = await startRoutes({
    '/api/v1/datasets/download/owner/data': (_req, res) => res.writeHead(302, { Location: '/storage/data.zip' }).end(),
    '/storage/data.zip': (_req, res) => res.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': zip.length }).end(zip),
  });
  try {
    await withTmp(async (dir) => {
      // What an earlier version left: the page saved as the zip, with a record that says complete.
      await fsp.writeFile(path.join(dir, 'data.zip'), LOGIN);
      await fsp.writeFile(path.join(dir, '.data.zip.download.json'), JSON.stringify({ dataset: 'owner/data', bytes: LOGIN.length, completedAt: 'x' }));
      const lines: string[] = [];
      const res = await datasetsDownload('owner/data', { path: dir, baseUrl: `${server.origin}/api/v1`, env: { KAGGLE_USERNAME: 'u', KAGGLE_KEY: 'k-123456789' }, progressMode: 'silent', log: (m) => lines.push(m), retry: fast, unzip: true });
      assert.equal(res.skipped, false);
      assert.equal(sha256(await fsp.readFile(res.zipPath)), sha256(zip));
      assert.ok(lines.some((l) => /cannot be used \(it is an HTML page/.test(l)), lines.join('\n'));
      assert.equal((await fsp.readFile(path.join(dir, 'a', '1.bin'))).length, 1000);
    });
  } finally {
    await server.close();
  }
});

test('R3: getFile(…, { extract: true }) without a hash refuses an HTML page and re-downloads a cached one', async () => {
  const zip = makeDatasetZip({ 'f/1.bin': 500 });
  let good = false;
  const server = await startRoutes({
    '/flowers.zip': (_req, res) => {
      if (good) res.writeHead(200, { 'Content-Type': 'application/zip' }).end(zip);
      else res.writeHead(200, { 'Content-Type': 'text/html' }).end(LOGIN);
    },
  });
  try {
    await withTmp(async (dir) => {
      const url = `${server.origin}/flowers.zip`;
      await assert.rejects(getFile('flowers', url, { extract: true, cacheDir: dir, quiet: true, env, retry: fast }), UnexpectedContentError);
      assert.deepEqual(await listing(path.join(dir, 'datasets')), []);
      // A copy cached by an earlier version: re-downloaded because it is not a zip.
      await fsp.writeFile(path.join(dir, 'datasets', 'flowers_archive'), LOGIN);
      good = true;
      const out = await getFile('flowers', url, { extract: true, cacheDir: dir, quiet: true, env, retry: fast });
      assert.equal((await fsp.readFile(path.join(out, 'f', '1.bin'))).length, 500);
    });
  } finally {
    await server.close();
  }
});

test('R3: an .h5 destination refuses an HTML body, a zero-byte body and a body without the HDF5 signature', async () => {
  const h5 = Buffer.concat([HDF5_SIGNATURE, fixtureBytes(2000, 'h5')]);
  let body: Buffer = LOGIN;
  let type = 'application/octet-stream';
  const server = await startRoutes({ '/w.h5': (_req, res) => res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length }).end(body) });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'w.h5');
      const get = (): Promise<unknown> => downloadFile({ url: `${server.origin}/w.h5`, dest, retry: fast, env, quiet: true });
      for (const [b, pattern] of [[LOGIN, /HTML page/], [Buffer.alloc(0), /empty \(0 bytes\)/], [fixtureBytes(3000, 'junk'), /no HDF5 signature/]] as const) {
        body = b;
        await assert.rejects(get(), (err: unknown) => err instanceof UnexpectedContentError && pattern.test(err.message) && err.path === dest);
        assert.deepEqual(await listing(dir), []);
      }
      body = h5;
      type = 'application/x-hdf5';
      await get();
      assert.equal(sha256(await fsp.readFile(dest)), sha256(h5));
    });
  } finally {
    await server.close();
  }
});

test('R3: a truncated zip whose size the server did not declare is refused, not cached', async () => {
  const zip = makeDatasetZip({ 'a/1.bin': 5000 });
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n');
    socket.end(zip.subarray(0, zip.length - 30));
  });
  try {
    await withTmp(async (dir) => {
      await assert.rejects(downloadFile({ url: `${server.origin}/t.zip`, dest: path.join(dir, 't.zip'), retry: fast, env, quiet: true }), (err: unknown) => err instanceof UnexpectedContentError && /end-of-central-directory|central directory/.test(err.message));
      assert.deepEqual(await listing(dir), []);
    });
  } finally {
    await server.close();
  }
});

test('a compressed body that was not asked for (Content-Encoding: gzip) is refused', async () => {
  const server = await startRawServer((socket) => {
    socket.end('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd');
  });
  try {
    await withTmp(async (dir) => {
      await assert.rejects(downloadFile({ url: `${server.origin}/g.bin`, dest: path.join(dir, 'g.bin'), retry: fast, env, quiet: true }), (err: unknown) => err instanceof UnexpectedContentError && /Content-Encoding: gzip/.test(err.message));
      assert.deepEqual(await listing(dir), []);
    });
  } finally {
    await server.close();
  }
});

test('a 206 to a plain GET with a partial Content-Range is continued to the full file, not saved short', async () => {
  const body = fixtureBytes(3000, 'partial-206');
  const server = await startRawServer((socket, req) => {
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = Math.min(body.length, start + 1000);
    socket.end(Buffer.concat([
      Buffer.from(`HTTP/1.1 206 Partial Content\r\nAccept-Ranges: bytes\r\nContent-Range: bytes ${start}-${end - 1}/${body.length}\r\nContent-Length: ${end - start}\r\n\r\n`),
      body.subarray(start, end),
    ]));
  });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'p.bin');
      const res = await downloadFile({ url: `${server.origin}/p`, dest, retry: fast, env, quiet: true });
      assert.equal(res.bytes, 3000);
      assert.equal(sha256(await fsp.readFile(dest)), sha256(body));
    });
  } finally {
    await server.close();
  }
});

test('R4: 1 byte every 300 ms fails by the minimum-speed rule, and the defaults are documented', async () => {
  assert.equal(DOWNLOAD_DEFAULTS.minBytesPerSecond, 1024);
  assert.equal(DOWNLOAD_DEFAULTS.speedWindowMs, 30_000);
  assert.equal(DOWNLOAD_DEFAULTS.deadlineMs, 3_600_000);
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
    const t = server.track(setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write('z')), 300));
  });
  try {
    await withTmp(async (dir) => {
      const r = await timed(downloadFile({ url: `${server.origin}/slow`, dest: path.join(dir, 's'), retry: { ...fast, retries: 1 }, minSpeed: { bytesPerSecond: 100, windowMs: 600 }, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError, String(r.error));
      assert.match((r.error as Error).message, /slower than the minimum of 100 bytes\/s/);
      assert.ok(r.ms < 4000, `${r.ms} ms`);
      assert.equal(server.requests.length, 2);
    });
  } finally {
    await server.close();
  }
});

test('R4: the overall deadline ends a server that trickles fast enough but never finishes', async () => {
  const server = await startRawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n');
    const t = server.track(setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write(Buffer.alloc(2000, 1))), 20));
  });
  try {
    await withTmp(async (dir) => {
      const dest = path.join(dir, 'd.bin');
      const r = await timed(downloadFile({ url: `${server.origin}/d`, dest, retry: fast, deadlineMs: 800, env, quiet: true }));
      assert.ok(r.error instanceof DownloadTimeoutError, String(r.error));
      assert.equal((r.error as DownloadTimeoutError).deadlineMs, 800);
      assert.ok(r.ms >= 750 && r.ms < 2000, `${r.ms} ms`);
      const left = await listing(dir);
      assert.ok(!left.includes('d.bin') && !left.includes('d.bin.lock'), left.join(','));
    });
  } finally {
    await server.close();
  }
});

test('R4: a server that accepts and never answers, or trickles its headers, settles by timeoutMs and the deadline', async () => {
  const silent = await startRawServer(() => undefined);
  const trickle = await startRawServer((socket) => {
    const head = 'HTTP/1.1 200 OK\r\nX-Slow: ' + 'a'.repeat(1000);
    let i = 0;
    const t = trickle.track(setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write(head[i++ % head.length])), 50));
  });
  try {
    await withTmp(async (dir) => {
      const a = await timed(downloadFile({ url: `${silent.origin}/a`, dest: path.join(dir, 'a'), retry: { ...fast, retries: 5 }, timeoutMs: 10_000, deadlineMs: 600, env, quiet: true }));
      assert.ok(a.error instanceof DownloadTimeoutError, String(a.error));
      assert.ok(a.ms < 1500, `${a.ms} ms`);
      const b = await timed(downloadFile({ url: `${trickle.origin}/b`, dest: path.join(dir, 'b'), retry: { ...fast, retries: 1 }, timeoutMs: 400, env, quiet: true }));
      assert.ok(b.error instanceof DownloadError, String(b.error));
      assert.match((b.error as Error).message, /no response headers within 400 ms/);
      assert.ok(b.ms < 2500, `${b.ms} ms`);
    });
  } finally {
    await silent.close();
    await trickle.close();
  }
});

test('R12: an ftp:// URL (or a redirect to one) fails at once with a clear error, no retries', async () => {
  await withTmp(async (dir) => {
    const r = await timed(downloadFile({ url: 'ftp://example.com/data.zip', dest: path.join(dir, 'x'), env }));
    assert.ok(r.error instanceof DownloadError);
    assert.match((r.error as Error).message, /Expected an http: or https: URL but received ftp:\/\/example\.com\/data\.zip \(protocol ftp:\)/);
    assert.ok(r.ms < 200);
    await assert.rejects(getFile('x.zip', 'file:///etc/passwd', { cacheDir: dir, quiet: true, env }), /Expected an http: or https: URL/);
  });
  const server = await startRoutes({ '/r': (_req, res) => res.writeHead(302, { Location: 'ftp://example.com/x' }).end() });
  try {
    await withTmp(async (dir) => {
      await assert.rejects(downloadFile({ url: `${server.origin}/r`, dest: path.join(dir, 'x'), retry: fast, env, quiet: true }), /redirected to ftp:\/\/example\.com\/x, which is not an http\(s\) URL/);
      assert.deepEqual(server.hits, ['/r']);
    });
  } finally {
    await server.close();
  }
});

test("R13: getFile('..', url) and getFile('.', url) are refused; a folder at the destination is never a complete file", async () => {
  await withTmp(async (dir) => {
    for (const name of ['..', '.']) {
      await assert.rejects(getFile(name, 'http://127.0.0.1:9/x', { cacheDir: dir, quiet: true, env }), (err: unknown) => err instanceof TypeError && /not '\.' or '\.\.'/.test(err.message));
    }
    await assert.rejects(getFile(null, 'http://127.0.0.1:9/a/..', { cacheDir: dir, quiet: true, env }), TypeError);
    await fsp.mkdir(path.join(dir, 'folder'));
    await assert.rejects(downloadFile({ url: 'http://127.0.0.1:9/x', dest: path.join(dir, 'folder'), env, quiet: true }), /that path is a folder/);
  });
});

test('a redirect loop fails at once, and a connection reset before any header is retried a bounded number of times', async () => {
  const loop = await startRoutes({ '/a': (_req, res) => res.writeHead(302, { Location: '/b' }).end(), '/b': (_req, res) => res.writeHead(302, { Location: '/a' }).end() });
  const reset = await startRawServer((socket) => socket.destroy());
  try {
    await withTmp(async (dir) => {
      await assert.rejects(downloadFile({ url: `${loop.origin}/a`, dest: path.join(dir, 'x'), retry: fast, maxRedirects: 5, env, quiet: true }), /Too many redirects \(5\)/);
      assert.equal(loop.hits.length, 6);
      const r = await timed(downloadFile({ url: `${reset.origin}/r`, dest: path.join(dir, 'y'), retry: { ...fast, retries: 2 }, env, quiet: true }));
      assert.ok(r.error instanceof DownloadError);
      assert.equal(reset.requests.length, 3);
      assert.deepEqual(await listing(dir), []);
    });
  } finally {
    await loop.close();
    await reset.close();
  }
});

test('waiting for a lock that a live process holds forever settles by the deadline', async () => {
  await withTmp(async (dir) => {
    const dest = path.join(dir, 'locked.bin');
    // This process is alive and keeps touching nothing: the lock stays fresh for staleMs.
    await fsp.writeFile(`${dest}.lock`, JSON.stringify({ pid: process.pid, hostname: os.hostname(), createdAt: new Date().toISOString() }));
    const r = await timed(downloadFile({ url: 'http://127.0.0.1:9/x', dest, deadlineMs: 500, lock: { pollMs: 20 }, env, quiet: true }));
    assert.ok(r.error instanceof Error && /Waited \d+ ms for the lock/.test(r.error.message), String(r.error));
    assert.ok(r.ms < 1500, `${r.ms} ms`);
  });
});
