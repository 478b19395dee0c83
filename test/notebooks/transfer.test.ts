import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { textOf, type Cell, type Output } from '../support/notebook-output';

const root = path.resolve(__dirname, '..', '..', '..');
const notebook = path.join(root, 'notebooks', '02-measured-transfer-offline.ipynb');

test('notebook 02 measures scratch, feature extraction and fine-tuning offline and shows the comparison', { timeout: 600_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'transfer-nb-'));
  try {
    const run = spawnSync(process.execPath, [
      path.join(root, 'bin', 'transferlab.js'), 'run', notebook,
      '--output', out, '--timeout', '300',
      '--param', 'phantomPerClass=6', '--param', "labelsPerClass=[2,'all']", '--param', 'seeds=[0]',
      '--param', 'headSteps=3', '--param', 'fineTuneSteps=3', '--param', 'batchSize=8',
    ], { cwd: root, encoding: 'utf8', env: { ...process.env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' } });
    assert.equal(run.status, 0, `runner failed:\n${run.stderr}\n${run.stdout}`);

    const executed = JSON.parse(fs.readFileSync(path.join(out, '02-measured-transfer-offline.ipynb'), 'utf8')) as { cells: Cell[] };
    const code = executed.cells.filter((c) => c.cell_type === 'code');
    assert.ok(code.every((c) => typeof c.execution_count === 'number'), 'every code cell executed');
    const outputs = code.flatMap((c) => c.outputs ?? []);
    assert.ok(!outputs.some((o) => o.output_type === 'error'), 'no error output');
    const stdout = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stdout').map(textOf).join('');

    assert.match(stdout, /^Task B: Where is the lesion\?/m);
    assert.match(stdout, /^Held-out accuracy on task B: \d+\.\d% over \d+ slices \(chance 20%\)\.$/m);
    assert.match(stdout, /^72 images extracted and found: 24 train, 24 validation, 24 test\.$/m);
    assert.match(stdout, /^Test split: chance 25\.0%; majority class '.+' 25\.0% \(6 of 24\)\.$/m);
    // One progress line per method, K and seed, each accuracy a number in [0, 100] %.
    const rows = [...stdout.matchAll(/^K=(\S+) +seed 0 +(scratch|feature-extraction|fine-tuning) +test accuracy (\d+\.\d)%/gm)];
    assert.deepEqual(rows.map((m) => `${m[1]} ${m[2]}`), ['2 scratch', '2 feature-extraction', '2 fine-tuning', 'all scratch', 'all feature-extraction', 'all fine-tuning']);
    for (const m of rows) assert.ok(Number(m[3]) >= 0 && Number(m[3]) <= 100);
    assert.match(stdout, /^Mean test accuracy over seeds \(majority baseline 25\.0%\):$/m);
    assert.match(stdout, /^ {2}K = 2: scratch \d+\.\d%, feature extraction \d+\.\d% \([+-]\d+\.\d points\), fine-tuning \d+\.\d% \([+-]\d+\.\d points\)$/m);

    const html = outputs.filter((o) => o.output_type === 'display_data').map((o) => String(o.data?.['text/html'] ?? '')).join('\n');
    assert.match(html, /<table[\s\S]*mean test accuracy[\s\S]*<\/table>/, 'the summary table');
    assert.match(html, /logistic regression on frozen features/, 'the classical-classifier table');
    type Plotly = { data: Array<{ name: string; x: number[]; y: number[] }>; layout: { yaxis: { range?: number[] } } };
    const figures = outputs.map((o) => o.data?.['application/vnd.plotly.v1+json'] as Plotly | undefined).filter((f): f is Plotly => f !== undefined);
    assert.equal(figures.length, 2, 'the K plot and the learning curves');
    const [kPlot, curves] = figures;
    assert.deepEqual(kPlot!.data.map((t) => t.name), [
      'scratch (mean)', 'scratch (each seed)', 'feature-extraction (mean)', 'feature-extraction (each seed)', 'fine-tuning (mean)', 'fine-tuning (each seed)',
      'majority class 25.0%', 'chance 25.0%',
    ]);
    assert.deepEqual(kPlot!.layout.yaxis.range, [0, 1]);
    for (const t of kPlot!.data) for (const y of t.y) assert.ok(y >= 0 && y <= 1, `${t.name}: ${y} in [0, 1]`);
    assert.ok(curves!.data.some((t) => t.name === 'fine-tuning starts'), 'a marker where fine-tuning starts');

    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
      weights: string; majorityBaseline: number; results: Array<{ method: string; labelsPerClass: number | string; seed: number; testAccuracy: number }>;
    };
    assert.equal(metrics.weights, 'phantom-source');
    assert.equal(metrics.majorityBaseline, 0.25);
    assert.equal(metrics.results.length, 6, 'one row per method, K and seed');
    for (const r of metrics.results) {
      assert.ok(['scratch', 'feature-extraction', 'fine-tuning'].includes(r.method));
      assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
      assert.equal(r.seed, 0);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
