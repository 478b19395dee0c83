import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findKaggleCredentials, hasKaggleCredentials, loadKaggleCredentials } from '../../src/data/credentials';
import { CredentialsError, DatasetNotFoundError, ForbiddenError, UnauthorizedError } from '../../src/data/errors';
import { datasetsDownload } from '../../src/data/kaggle';
import { CANARY_KEY, TEST_USERNAME, makeDatasetZip, sha256, startKaggleServer } from '../support/kaggle-server';

const fast = { retries: 4, minDelayMs: 5, maxDelayMs: 20 };
const ZIP = makeDatasetZip();
const DATASET = 'mohamedhanyyy/chest-ctscan-images';

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-kaggle-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** An environment with the test credentials and no proxies, HOME in `home`. */
function envFor(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: home, KAGGLE_USERNAME: TEST_USERNAME, KAGGLE_KEY: CANARY_KEY, ...extra };
}

async function writeKaggleJson(dir: string, content: string, mode: number): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'kaggle.json');
  await fsp.writeFile(file, content, { mode });
  await fsp.chmod(file, mode);
  return file;
}

test('credentials come from KAGGLE_USERNAME/KAGGLE_KEY before kaggle.json', async () => {
  await withTmp(async (home) => {
    await writeKaggleJson(path.join(home, '.kaggle'), JSON.stringify({ username: 'fromfile', key: 'k' }), 0o600);
    const env = { HOME: home, KAGGLE_USERNAME: 'fromenv', KAGGLE_KEY: CANARY_KEY };
    assert.deepEqual(findKaggleCredentials({ env }), { username: 'fromenv', source: 'env' });
    const file = path.join(home, '.kaggle', 'kaggle.json');
    assert.deepEqual(findKaggleCredentials({ env: { HOME: home } }), { username: 'fromfile', source: 'file', path: file });
  });
});

test('KAGGLE_CONFIG_DIR replaces ~/.kaggle as the folder of kaggle.json', async () => {
  await withTmp(async (home) => {
    await writeKaggleJson(path.join(home, '.kaggle'), JSON.stringify({ username: 'home', key: 'k' }), 0o600);
    const file = await writeKaggleJson(path.join(home, 'cfg'), JSON.stringify({ username: 'cfg', key: 'k' }), 0o600);
    assert.deepEqual(findKaggleCredentials({ env: { HOME: home, KAGGLE_CONFIG_DIR: path.join(home, 'cfg') } }), { username: 'cfg', source: 'file', path: file });
  });
});

test('a kaggle.json readable by others gives a warning with the chmod 600 fix, a private one none', async () => {
  await withTmp(async (home) => {
    const file = await writeKaggleJson(path.join(home, '.kaggle'), JSON.stringify({ username: 'u', key: CANARY_KEY }), 0o644);
    const warnings: string[] = [];
    findKaggleCredentials({ env: { HOME: home }, warn: (m) => warnings.push(m) });
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(`chmod 600 ${file}`), warnings[0]);
    assert.ok(!warnings[0].includes(CANARY_KEY));
    await fsp.chmod(file, 0o600);
    warnings.length = 0;
    findKaggleCredentials({ env: { HOME: home }, warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, []);
  });
});

test('a malformed kaggle.json is an error naming the file and not echoing its contents', async () => {
  await withTmp(async (home) => {
    const file = await writeKaggleJson(path.join(home, '.kaggle'), `{"username": "u", "key": "${CANARY_KEY}"`, 0o600);
    assert.throws(
      () => findKaggleCredentials({ env: { HOME: home } }),
      (err: unknown) => err instanceof CredentialsError && err.path === file && err.message.includes(file) && !err.message.includes(CANARY_KEY),
    );
    await writeKaggleJson(path.join(home, '.kaggle'), JSON.stringify({ user: 'u', token: CANARY_KEY }), 0o600);
    assert.throws(() => findKaggleCredentials({ env: { HOME: home } }), /is malformed: expected JSON like \{"username"/);
    assert.equal(hasKaggleCredentials({ HOME: home }), false);
  });
});

test('without any credentials, findKaggleCredentials is null and datasetsDownload lists both ways to provide them', async () => {
  await withTmp(async (home) => {
    const env = { HOME: home };
    assert.equal(findKaggleCredentials({ env }), null);
    assert.equal(hasKaggleCredentials(env), false);
    await assert.rejects(datasetsDownload(DATASET, { env, path: home, quiet: true }), (err: unknown) => {
      assert.ok(err instanceof CredentialsError);
      assert.match(err.message, /KAGGLE_USERNAME and KAGGLE_KEY/);
      assert.match(err.message, /~\/\.kaggle\/kaggle\.json/);
      assert.match(err.message, /KAGGLE_CONFIG_DIR/);
      return true;
    });
    assert.throws(() => loadKaggleCredentials({ env: { HOME: home, KAGGLE_USERNAME: 'u' } }), /KAGGLE_USERNAME is set but KAGGLE_KEY is not/);
  });
});

test('datasetsDownload follows the redirect to storage without Authorization and writes <slug>.zip byte-identical', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP } });
  try {
    await withTmp(async (dir) => {
      const res = await datasetsDownload(DATASET, { path: dir, quiet: true, env: envFor(dir, { KAGGLE_API_BASE_URL: server.baseUrl }), retry: fast });
      assert.equal(res.zipPath, path.join(dir, 'chest-ctscan-images.zip'));
      assert.equal(res.skipped, false);
      assert.equal(res.bytes, ZIP.length);
      assert.equal(sha256(await fsp.readFile(res.zipPath)), sha256(ZIP));
      assert.deepEqual(
        server.log.map((e) => [e.server, e.status, e.authorization]),
        [['api', 302, true], ['storage', 200, false]],
      );
      assert.match(server.log[0].url, /^\/api\/v1\/datasets\/download\/mohamedhanyyy\/chest-ctscan-images$/);
    });
  } finally {
    await server.close();
  }
});

test('401, 403 and 404 are distinct errors naming the dataset and are not retried', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP, 'owner/private': ZIP }, forbidden: ['owner/private'] });
  try {
    await withTmp(async (dir) => {
      const base = { path: dir, quiet: true, baseUrl: server.baseUrl, retry: fast };
      await assert.rejects(
        datasetsDownload(DATASET, { ...base, env: envFor(dir, { KAGGLE_KEY: 'wrong-key-000' }) }),
        (err: unknown) => err instanceof UnauthorizedError && err.status === 401 && err.dataset === DATASET && /Create New Token/.test(err.message),
      );
      await assert.rejects(
        datasetsDownload('owner/private', { ...base, env: envFor(dir) }),
        (err: unknown) => err instanceof ForbiddenError && err.status === 403 && /owner\/private/.test(err.message) && /accept its rules/.test(err.message),
      );
      await assert.rejects(
        datasetsDownload('owner/nothing-here', { ...base, env: envFor(dir) }),
        (err: unknown) => err instanceof DatasetNotFoundError && err.status === 404 && /owner\/nothing-here/.test(err.message),
      );
      assert.equal(server.log.length, 3, 'one request each');
      assert.deepEqual(await fsp.readdir(dir), []);
    });
  } finally {
    await server.close();
  }
});

test('a bad dataset name is rejected before any request', async () => {
  await assert.rejects(datasetsDownload('chest-ctscan-images'), /Expected 'owner\/slug'.*for dataset but received 'chest-ctscan-images' of type string/);
});

test('an API 5xx and a dropped storage connection are retried and resumed to an identical zip', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.failures = [{ status: 503, on: 'api' }];
      server.behaviour.dropAfterBytes = [100_000];
      const res = await datasetsDownload(DATASET, { path: dir, quiet: true, baseUrl: server.baseUrl, env: envFor(dir), retry: fast });
      assert.equal(sha256(await fsp.readFile(res.zipPath)), sha256(ZIP));
      const storage = server.log.filter((e) => e.server === 'storage');
      assert.deepEqual(storage.map((e) => e.status), [200, 206]);
      assert.equal(storage[1].range, `bytes=${storage[0].bytes}-`);
    });
  } finally {
    await server.close();
  }
});

test('a complete zip is skipped, force downloads again, and a truncated foreign zip is replaced', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP } });
  try {
    await withTmp(async (dir) => {
      const args = { path: dir, quiet: true, baseUrl: server.baseUrl, env: envFor(dir), retry: fast };
      await datasetsDownload(DATASET, args);
      const again = await datasetsDownload(DATASET, args);
      assert.equal(again.skipped, true);
      assert.equal(again.bytes, ZIP.length);
      assert.equal(server.transfers(), 1);
      assert.equal((await datasetsDownload(DATASET, { ...args, force: true })).skipped, false);
      assert.equal(server.transfers(), 2);

      // A zip left by another tool, without our record: kept when complete, replaced when truncated.
      await fsp.rm(path.join(dir, '.chest-ctscan-images.zip.download.json'));
      assert.equal((await datasetsDownload(DATASET, args)).skipped, true);
      await fsp.writeFile(path.join(dir, 'chest-ctscan-images.zip'), ZIP.subarray(0, 1000));
      assert.equal((await datasetsDownload(DATASET, args)).skipped, false);
      assert.equal(sha256(await fsp.readFile(path.join(dir, 'chest-ctscan-images.zip'))), sha256(ZIP));
    });
  } finally {
    await server.close();
  }
});

test('two concurrent datasetsDownload calls share one transfer and both return the zip', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP } });
  try {
    await withTmp(async (dir) => {
      server.behaviour.chunkDelayMs = 20;
      const args = { path: dir, quiet: true, baseUrl: server.baseUrl, env: envFor(dir), retry: fast, lock: { pollMs: 10 } };
      const [a, b] = await Promise.all([datasetsDownload(DATASET, args), datasetsDownload(DATASET, args)]);
      assert.equal(server.transfers(), 1);
      assert.equal(a.zipPath, b.zipPath);
      assert.deepEqual([a.skipped, b.skipped].sort(), [false, true]);
      assert.equal(sha256(await fsp.readFile(a.zipPath)), sha256(ZIP));
    });
  } finally {
    await server.close();
  }
});

function runChild(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

test('the key appears nowhere in the output of a real run: progress, logs, errors and stacks', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP, 'owner/private': ZIP }, forbidden: ['owner/private'] });
  try {
    await withTmp(async (dir) => {
      const kaggle = path.join(__dirname, '..', '..', 'src', 'data', 'kaggle');
      const script = `
        const util = require('node:util');
        const { datasetsDownload, findKaggleCredentials } = require(${JSON.stringify(kaggle)});
        const report = (label, err) => { console.log(label, err.message); console.error(err.stack); console.log(util.inspect(err)); };
        (async () => {
          console.log(findKaggleCredentials());
          const retry = { retries: 1, minDelayMs: 5, maxDelayMs: 10 };
          const ok = await datasetsDownload('${DATASET}', { path: ${JSON.stringify(dir)}, retry, progressMode: 'lines' });
          console.log(JSON.stringify(ok));
          await datasetsDownload('owner/private', { path: ${JSON.stringify(dir)}, retry }).catch((e) => report('403', e));
          process.env.KAGGLE_USERNAME = 'someone-else';
          await datasetsDownload('${DATASET}', { path: ${JSON.stringify(dir)}, retry, force: true }).catch((e) => report('401', e));
          process.env.KAGGLE_USERNAME = '${TEST_USERNAME}';
          process.env.HTTP_PROXY = 'http://pu:proxy-secret-pw@127.0.0.1:9';
          await datasetsDownload('${DATASET}', { path: ${JSON.stringify(dir)}, retry, force: true }).catch((e) => report('proxy', e));
        })();`;
      const out = await runChild(script, {
        PATH: process.env.PATH,
        HOME: dir,
        KAGGLE_USERNAME: TEST_USERNAME,
        KAGGLE_KEY: CANARY_KEY,
        KAGGLE_API_BASE_URL: server.baseUrl,
      });
      assert.match(out, /username: 'tester'/);
      assert.match(out, /"skipped":false/);
      assert.match(out, /403 Kaggle refused/);
      assert.match(out, /401 Kaggle rejected/);
      assert.match(out, /proxy .*failed/);
      assert.match(out, /chest-ctscan-images\.zip \|/, 'progress lines were printed');
      const token = Buffer.from(`${TEST_USERNAME}:${CANARY_KEY}`).toString('base64');
      for (const secret of [CANARY_KEY, token, 'proxy-secret-pw']) {
        assert.equal(out.split(secret).length - 1, 0, `${secret.slice(0, 6)}... leaked:\n${out}`);
      }
    });
  } finally {
    await server.close();
  }
});

test('unzip extracts the dataset next to the zip once and keeps the zip', async () => {
  const server = await startKaggleServer({ datasets: { [DATASET]: ZIP } });
  try {
    await withTmp(async (dir) => {
      const args = { path: dir, quiet: true, unzip: true, baseUrl: server.baseUrl, env: envFor(dir), retry: fast };
      const res = await datasetsDownload(DATASET, args);
      assert.equal(res.extractedTo, dir);
      assert.equal((await fsp.stat(path.join(dir, 'train', 'a', '1.bin'))).size, 200_000);
      assert.equal((await fsp.stat(path.join(dir, 'train', 'b', '2.bin'))).size, 100_000);
      await fsp.rm(path.join(dir, 'train', 'b', '2.bin'));
      const again = await datasetsDownload(DATASET, args);
      assert.equal(again.skipped, true);
      await assert.rejects(fsp.stat(path.join(dir, 'train', 'b', '2.bin')), /ENOENT/, 'not extracted a second time');
      await fsp.stat(res.zipPath);
    });
  } finally {
    await server.close();
  }
});
