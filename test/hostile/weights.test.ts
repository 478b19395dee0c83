// Weights files that are not HDF5 (issue 15: R9): an HTML page or an empty file saved where the
// .h5 should be. Run in a child process so that any HDF5-DIAG output of the native library is seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

test('R9: loadWeightsFromH5 on an HTML page or a zero-byte file is a WeightsFormatError naming the path, without HDF5-DIAG output', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tl-hostile-h5-'));
  try {
    const html = path.join(dir, 'page.h5');
    const empty = path.join(dir, 'empty.h5');
    await fsp.writeFile(html, '<!DOCTYPE html><html><body>Sign in to continue</body></html>');
    await fsp.writeFile(empty, '');
    const lw = path.resolve(__dirname, '../../src/applications/load-weights.js');
    const script = `
      const tf = require('@tensorflow/tfjs');
      const { loadWeightsFromH5 } = require(${JSON.stringify(lw)});
      (async () => {
        const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
        const out = [];
        for (const f of ${JSON.stringify([html, empty])}) {
          try { await loadWeightsFromH5(model, f); out.push({ ok: true }); }
          catch (e) { out.push({ name: e.name, path: e.path, message: e.message }); }
        }
        console.log(JSON.stringify(out));
      })();`;
    const child = spawn(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.ok(!/HDF5-DIAG/.test(stdout + stderr), stdout + stderr);
    const results = JSON.parse(stdout.trim().split('\n').pop() as string) as Array<{ name: string; path: string; message: string }>;
    assert.equal(results[0].name, 'WeightsFormatError');
    assert.equal(results[0].path, html);
    assert.match(results[0].message, /Expected a Keras \.h5 weights file at .*page\.h5 but it is an HTML page/);
    assert.equal(results[1].name, 'WeightsFormatError');
    assert.equal(results[1].path, empty);
    assert.match(results[1].message, /empty\.h5 but it is empty \(0 bytes\)/);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
