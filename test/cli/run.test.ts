// Runs real notebooks through Jupyter and this project's tslab kernel (a kernel start is ~3 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cellText, fixtures, readJson, runCli, tempDir } from './support';

test('runs the getting-started and nested notebooks, which import transferlab with its types', async () => {
  const out = tempDir();
  try {
    const res = await runCli(['run', 'notebooks/00-getting-started.ipynb', 'notebooks/extras/00-nested-import.ipynb', '--output', out]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /^\[1\/3\] cell 3 "import \{ formatBytes, tf \} from 'transferlab';" \d+\.\ds$/m);
    assert.match(res.stderr, /^\[3\/3\] cell 7 "const total = tf\.tidy\(\(\) => \{" \d+\.\ds$/m);
    assert.match(res.stdout, /^Ran notebooks\/00-getting-started\.ipynb: 3\/3 code cells in \d+\.\ds$/m);
    assert.match(res.stdout, /^transferlab run: 2 notebooks ran successfully in \d+\.\ds\.$/m);
    for (const name of ['00-getting-started', '00-nested-import']) {
      assert.ok(res.stdout.includes(path.join(out, `${name}.ipynb`)), `stdout names ${name}.ipynb`);
      assert.match(fs.readFileSync(path.join(out, `${name}.html`), 'utf8'), /<html/);
    }
    const started = readJson(path.join(out, '00-getting-started.ipynb'));
    const code = started.cells.filter((c) => c.cell_type === 'code');
    assert.deepEqual(code.map((c) => c.execution_count), [1, 2, 3]);
    assert.match(cellText(code[0]), /TensorFlow\.js 4\.22\.0, backend '(tensorflow-gpu|tensorflow|wasm)'/, 'initBackend() picked a fast backend');
    assert.doesNotMatch(code.map(cellText).join(''), /install our node backend/i, "no TF.js 'install the node backend' warning");
    assert.match(cellText(code[2]), /sum of a 3x3 random matrix: \d+\.\d{4}\ntensors still allocated: 0/);
    const nested = readJson(path.join(out, '00-nested-import.ipynb'));
    assert.match(cellText(nested.cells[1]), /^formatBytes\(1536\) = 1\.5 KB; TensorFlow\.js 4\.22\.0/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('injects number, string, boolean and array parameters after the parameters cell, and keeps display updates', async () => {
  const out = tempDir();
  try {
    const res = await runCli([
      'run', path.join(fixtures, 'params.ipynb'), '--no-html', '--output', out,
      '--param', 'count=3', '--param', 'label=hello world', '--param', 'verbose=true',
      '--param', 'sizes=[2048, 5]', '--param', "names=['a','b']",
    ]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /^\[3\/6\] injected parameters cell "count = 3;" \d+\.\ds$/m);
    assert.equal(fs.existsSync(path.join(out, 'params.html')), false, '--no-html skips the HTML');
    const nb = readJson(path.join(out, 'params.ipynb'));
    assert.deepEqual(nb.cells[3].metadata.tags, ['injected-parameters']);
    const printed = JSON.parse(cellText(nb.cells[4]));
    assert.deepEqual(printed, { count: 3, total: 6, label: 'hello world', verbose: true, sizes: [2048, 5], names: ['a', 'b'], size: '2.0 KB' });
    // An updatable display (createDisplayHandle, as progress bars use) keeps only its last content,
    // even when a later cell updates it.
    assert.deepEqual(nb.cells[5].outputs, [{ output_type: 'display_data', data: { 'text/plain': ['step 3 of 3'] }, metadata: {} }]);
    assert.equal(cellText(nb.cells[6]), 'updated\n');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
