import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelSpecModule, packageRoot } from '../../src/cli/paths';

test("npm run setup registers this checkout's kernel and the notebooks' alias, and checks it by running a cell", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-jupyter-'));
  try {
    const res = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(packageRoot(), 'kernel-setup', 'setup.js')], { env: { ...process.env, JUPYTER_DATA_DIR: dataDir, PYTHONNOUSERSITE: '1' }, timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });
    const name = kernelSpecModule().kernelNameFor(packageRoot());
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stdout.includes(`Registered kernelspec '${name}' in `), res.stdout);
    assert.match(res.stdout, /^Registered kernelspec 'transferlab' \(the notebooks' kernel name\) in /m);
    assert.ok(res.stdout.includes(`Kernel '${name}' ready: TypeScript 5.0.4 via tslab 1.0.22 (node v`), res.stdout);
    for (const dir of [name, 'transferlab']) {
      const spec = JSON.parse(fs.readFileSync(path.join(dataDir, 'kernels', dir, 'kernel.json'), 'utf8'));
      assert.deepEqual(spec.argv, [process.execPath, path.join(packageRoot(), 'kernel-setup', 'kernel.js'), '--config-path', '{connection_file}']);
      assert.deepEqual(spec.metadata, { transferlab: { root: packageRoot() } });
    }
    assert.ok(fs.existsSync(fs.readFileSync(path.join(packageRoot(), '.cache', 'python-path'), 'utf8').trim()));
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('npm run setup explains what is missing when TRANSFERLAB_PYTHON lacks Jupyter', async () => {
  const res = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [path.join(packageRoot(), 'kernel-setup', 'setup.js'), '--no-verify'], { env: { ...process.env, TRANSFERLAB_PYTHON: '/nonexistent/python3' } }, (error, _stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stderr }),
    );
  });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /^npm run setup failed: TRANSFERLAB_PYTHON=\/nonexistent\/python3 cannot run the notebooks: spawnSync \/nonexistent\/python3 ENOENT\. Install jupyter_client, nbformat, nbconvert, nbclient into it or unset it\.$/m);
});
