import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { textOf, type Cell, type Output } from '../support/notebook-output';

const root = path.resolve(__dirname, '..', '..', '..');
const notebook = path.join(root, 'notebooks', '01-transfer-learning-chest-ct.ipynb');

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
    ], {
      cwd: root, encoding: 'utf8',
      // Offline for certain: no Kaggle credentials, no cached ImageNet weights, downloads refused at once.
      env: { ...process.env, KAGGLE_USERNAME: '', KAGGLE_KEY: '', KAGGLE_CONFIG_DIR: out, KERAS_HOME: out, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' },
    });
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

    // Offline the notebook says, in its own output, that the base is random and what that means.
    assert.match(stdout, /^NOTE: the base network is RANDOM\. The ImageNet weights could not be loaded \(see the warning above\), so it holds a seeded random initialisation \(seed 42\)\.$/m);
    assert.match(stdout, /^Nothing below is transfer learning: /m);
    // The baselines a reader needs, before training.
    const adeno = 'adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib';
    assert.match(stdout, /^Baselines for 4 classes \(what a model that learned nothing scores\):$/m);
    assert.match(stdout, /^ {2}chance \(a uniform guess\) +25\.0% {2}its loss: ln 4 = 1\.386$/m);
    assert.match(stdout, new RegExp(`^  majority class of train +25\\.0%  always '${adeno.replace(/\./g, '\\.')}' \\(${perClass} of ${4 * perClass}\\)$`, 'm'));
    assert.match(stdout, new RegExp(`^  majority class of validation +25\\.0%  always '${adeno.replace(/\./g, '\\.')}' \\(${perClass} of ${4 * perClass}\\)$`, 'm'));
    assert.match(stdout, /^ {2}before training, validation +\d+\.\d% {2}loss \d\.\d{3}$/m);
    assert.match(stdout, /^Features the head receives \(8 images, after average pooling\): size \S+ \(root mean square\), differences between images \S+ \(\d+% of their size\)\.$/m);
    // After fit: a plain verdict, and why a frozen random base cannot do better.
    assert.match(stdout, new RegExp(`^After ${epochs} epochs: validation accuracy \\d+\\.\\d%; majority baseline 25\\.0% \\(always '${adeno.replace(/\./g, '\\.')}'\\), chance 25\\.0%\\.$`, 'm'));
    assert.match(stdout, /^Verdict: the model did NOT beat the majority baseline\b.* on 8 images\)\.$/m);
    assert.match(stdout, /^Why: the base is random \(the pretrained weights could not be loaded\) and frozen, so it has learned nothing that could transfer\.$/m);
    assert.match(stdout, /^Measured above: the features it hands the head are \S+ in size and differ between images by only \S+ \(\d+% of their size\): nearly the same vector for every slice\.$/m);
    // On the test set too.
    assert.match(stdout, /^Test accuracy \d+\.\d%; majority baseline 25\.0% \(always 'adenocarcinoma'\), chance 25\.0%\.$/m);
    assert.equal((stdout.match(/^Verdict: /gm) ?? []).length, 2, 'a verdict after fit and one on the test set');

    const figures = outputs.filter((o) => o.output_type === 'display_data' && o.data?.['application/vnd.plotly.v1+json']);
    assert.equal(figures.length, 2, 'loss and accuracy figures');
    for (const fig of figures) {
      assert.match(String(fig.data?.['image/svg+xml']), /^<svg[\s\S]*<\/svg>\s*$/, 'each figure carries a static SVG');
      assert.match(String(fig.data?.['text/html']), /Plotly/);
    }
    // Baselines drawn as dashed lines; axes from 0, accuracy up to 1.
    type Plotly = { data: Array<{ name: string; y: number[] }>; layout: { yaxis: { range?: number[] } } };
    const [lossFig, accFig] = figures.map((f) => f.data?.['application/vnd.plotly.v1+json'] as Plotly);
    assert.deepEqual(accFig!.data.map((t) => t.name), ['accuracy', 'val_accuracy', 'majority class 25.0%', 'chance 25.0%']);
    assert.deepEqual(accFig!.layout.yaxis.range, [0, 1]);
    assert.deepEqual(lossFig!.data.map((t) => t.name).slice(2), ['uniform guess (ln 4)']);
    assert.equal(lossFig!.layout.yaxis.range?.[0], 0);
    for (const fig of figures) assert.match(String(fig.data?.['image/svg+xml']), /stroke-dasharray/, 'the static SVG draws the baselines too');

    const testCount = 4 * perClass;
    assert.match(stdout, new RegExp(`^Predicted ${testCount} test images\\.$`, 'm'), 'a prediction for every test image');
    assert.match(stdout, new RegExp(`^The matrix holds ${testCount} predictions\\.$`, 'm'), 'confusion matrix cells sum to the test count');
    assert.match(stdout, /^Test accuracy: \d+\.\d%$/m);

    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'run', 'metrics.json'), 'utf8')) as {
      dataset: string; epochs: number; testSamples: number; history: Record<string, number[]>; weights: string; weightsInfo: { kind: string; reason: string };
      majorityBaseline: number; baselines: { chance: number; majority: Record<string, { share: number }>; beforeTraining: { split: string }; verdicts: Record<string, { beatMajority: boolean }> };
    };
    assert.equal(metrics.dataset, 'phantom');
    assert.equal(metrics.epochs, epochs);
    assert.equal(metrics.testSamples, testCount);
    assert.equal(metrics.history.val_loss.length, epochs);
    assert.equal(metrics.weights, 'random-fallback');
    assert.match(metrics.weightsInfo.reason, /^Could not obtain the pretrained weights/);
    assert.equal(metrics.majorityBaseline, 0.25);
    assert.equal(metrics.baselines.chance, 0.25);
    assert.deepEqual(Object.keys(metrics.baselines.majority), ['train', 'validation', 'test']);
    assert.equal(metrics.baselines.beforeTraining.split, 'validation');
    assert.deepEqual(Object.fromEntries(Object.entries(metrics.baselines.verdicts).map(([k, v]) => [k, v.beatMajority])), { validation: false, test: false });

    const html = fs.readFileSync(path.join(out, '01-transfer-learning-chest-ct.html'), 'utf8');
    assert.ok(html.includes('<svg'), 'the HTML carries the static figures');
    assert.ok((html.match(/transferlab:plotly-loader/g) ?? []).length >= 1, 'the HTML carries plotly for offline viewing');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
