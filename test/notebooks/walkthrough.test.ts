import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const notebook = path.join(root, 'notebooks', '01-transfer-learning-chest-ct.ipynb');

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, unknown> }
interface Cell { cell_type: string; source: string | string[]; outputs?: Output[]; execution_count?: number | null; metadata?: { tags?: string[] } }

const textOf = (o: Output): string => [o.text ?? ''].flat().join('');

test('the walkthrough runs headless on the embedded phantom and shows what a reader expects', { timeout: 600_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'walkthrough-'));
  try {
    const perClass = 2;
    const epochs = 2;
    const run = spawnSync(process.execPath, [
      path.join(root, 'bin', 'transferlab.js'), 'run', notebook,
      '--output', out, '--timeout', '300',
      '--param', 'datasetSource=phantom', '--param', `phantomPerClass=${perClass}`, '--param', `epochs=${epochs}`,
      '--param', 'imageSize=75', '--param', 'batchSize=4', '--param', 'stepsPerEpoch=1',
      '--param', `outputDir=${JSON.stringify(path.join(out, 'run'))}`,
    ], { cwd: root, encoding: 'utf8', env: { ...process.env, KAGGLE_USERNAME: '', KAGGLE_KEY: '', KAGGLE_CONFIG_DIR: out } });
    assert.equal(run.status, 0, `runner failed:\n${run.stderr}\n${run.stdout}`);

    const executed = JSON.parse(fs.readFileSync(path.join(out, '01-transfer-learning-chest-ct.ipynb'), 'utf8')) as { cells: Cell[] };
    const code = executed.cells.filter((c) => c.cell_type === 'code');
    assert.ok(code.every((c) => typeof c.execution_count === 'number'), 'every code cell executed');
    const outputs = code.flatMap((c) => c.outputs ?? []);
    const stdout = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stdout').map(textOf).join('');
    assert.ok(!outputs.some((o) => o.output_type === 'error'), 'no error output');

    assert.match(stdout, /^Backend: (wasm|cpu|tensorflow|tensorflow-gpu)\b.*$/m, 'the backend line');
    const found = stdout.match(/^Found \d+ images belonging to 4 classes\.$/gm) ?? [];
    assert.deepEqual(found, Array(3).fill(`Found ${4 * perClass} images belonging to 4 classes.`), 'train, valid and test splits');
    assert.match(stdout, /^Total params: 23,116,580 /m, 'summary totals the walkthrough model');
    assert.match(stdout, /^Trainable params: [\d,]+ /m);
    assert.match(stdout, /^Non-trainable params: [\d,]+ /m);
    assert.match(stdout, new RegExp(`^History has ${epochs} epochs: loss, accuracy, val_loss, val_accuracy`, 'm'));

    const figures = outputs.filter((o) => o.output_type === 'display_data' && o.data?.['application/vnd.plotly.v1+json']);
    assert.equal(figures.length, 2, 'loss and accuracy figures');
    for (const fig of figures) {
      assert.match(String(fig.data?.['image/svg+xml']), /^<svg[\s\S]*<\/svg>\s*$/, 'each figure carries a static SVG');
      assert.match(String(fig.data?.['text/html']), /Plotly/);
    }

    const testCount = 4 * perClass;
    assert.match(stdout, new RegExp(`^Predicted ${testCount} test images\\.$`, 'm'), 'a prediction for every test image');
    assert.match(stdout, new RegExp(`^The matrix holds ${testCount} predictions\\.$`, 'm'), 'confusion matrix cells sum to the test count');
    assert.match(stdout, /^Test accuracy: \d+\.\d%$/m);

    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'run', 'metrics.json'), 'utf8')) as { dataset: string; epochs: number; testSamples: number; history: Record<string, number[]> };
    assert.equal(metrics.dataset, 'phantom');
    assert.equal(metrics.epochs, epochs);
    assert.equal(metrics.testSamples, testCount);
    assert.equal(metrics.history.val_loss.length, epochs);

    const html = fs.readFileSync(path.join(out, '01-transfer-learning-chest-ct.html'), 'utf8');
    assert.ok(html.includes('<svg'), 'the HTML carries the static figures');
    assert.ok((html.match(/transferlab:plotly-loader/g) ?? []).length >= 1, 'the HTML carries plotly for offline viewing');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
