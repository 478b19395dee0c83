// Hostile credentials (issue 15: R10): whitespace pasted around or inside a Kaggle user name or key.
// A real fake-Kaggle server on 127.0.0.1 checks what is actually sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadKaggleCredentials, hasKaggleCredentials } from '../../src/data/credentials';
import { CredentialsError } from '../../src/data/errors';
import { datasetsDownload } from '../../src/data/kaggle';
import { CANARY_KEY, TEST_USERNAME, makeDatasetZip, startKaggleServer } from '../support/kaggle-server';

async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-hostile-cred-'));
  try {
    return await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test("R10: KAGGLE_USERNAME=' tester ' and KAGGLE_KEY=' KEY\\n' are trimmed with a warning (never the key) and accepted by the server", async () => {
  const server = await startKaggleServer({ datasets: { 'owner/data': makeDatasetZip({ 'a/1.bin': 100 }) } });
  try {
    await withTmp(async (dir) => {
      const lines: string[] = [];
      const env = { KAGGLE_USERNAME: ` ${TEST_USERNAME} `, KAGGLE_KEY: ` ${CANARY_KEY}\n` };
      const res = await datasetsDownload('owner/data', { path: dir, baseUrl: server.baseUrl, env, progressMode: 'silent', log: (m) => lines.push(m), retry: { retries: 0 } });
      assert.equal(res.skipped, false);
      assert.ok(lines.some((l) => /Removed leading\/trailing whitespace from the environment variable KAGGLE_KEY/.test(l)), lines.join('\n'));
      assert.ok(lines.some((l) => /KAGGLE_USERNAME/.test(l)));
      assert.ok(!lines.join('\n').includes(CANARY_KEY), 'the key is never printed');
    });
  } finally {
    await server.close();
  }
});

test("R10: KAGGLE_KEY='   ' (only whitespace) and a key with whitespace inside are CredentialsErrors before any request", () => {
  assert.throws(() => loadKaggleCredentials({ env: { KAGGLE_USERNAME: 'alice', KAGGLE_KEY: '   ' } }), (err: unknown) => err instanceof CredentialsError && /KAGGLE_KEY is set but holds only whitespace/.test(err.message));
  assert.equal(hasKaggleCredentials({ KAGGLE_USERNAME: 'alice', KAGGLE_KEY: '   ' }), false);
  assert.throws(
    () => loadKaggleCredentials({ env: { KAGGLE_USERNAME: 'alice', KAGGLE_KEY: 'abc def-secret' } }),
    (err: unknown) => err instanceof CredentialsError && /KAGGLE_KEY contains whitespace inside the value/.test(err.message) && !err.message.includes('def-secret'),
  );
});

test('R10: a kaggle.json with a key ending in a newline is trimmed; one with a blank key is malformed', async () => {
  await withTmp(async (dir) => {
    const file = path.join(dir, 'kaggle.json');
    await fsp.writeFile(file, JSON.stringify({ username: 'alice', key: 'k-0123\n' }), { mode: 0o600 });
    const warnings: string[] = [];
    const c = loadKaggleCredentials({ env: { KAGGLE_CONFIG_DIR: dir }, warn: (m) => warnings.push(m) });
    assert.equal(c.key, 'k-0123');
    assert.match(warnings.join('\n'), new RegExp(`the "key" field of ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    await fsp.writeFile(file, JSON.stringify({ username: 'alice', key: ' \t ' }), { mode: 0o600 });
    assert.throws(() => loadKaggleCredentials({ env: { KAGGLE_CONFIG_DIR: dir } }), (err: unknown) => err instanceof CredentialsError && err.path === file && /malformed/.test(err.message));
  });
});
