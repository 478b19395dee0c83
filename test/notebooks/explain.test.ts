import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { textOf, type Cell, type Output } from '../support/notebook-output';

const root = path.resolve(__dirname, '..', '..', '..');
const notebook = path.join(root, 'notebooks', '03-where-does-it-look.ipynb');

test('notebook 03 trains three models, scores their Grad-CAM maps against the phantom lesion boxes, saves and reloads the fine-tuned one', { timeout: 600_000 }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-nb-'));
  try {
    const run = spawnSync(process.execPath, [
      path.join(root, 'bin', 'transferlab.js'), 'run', notebook,
      '--output', out, '--timeout', '300',
      '--param', 'phantomPerClass=6', '--param', 'headSteps=3', '--param', 'fineTuneSteps=3', '--param', 'batchSize=8',
    ], { cwd: root, encoding: 'utf8', env: { ...process.env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' } });
    assert.equal(run.status, 0, `runner failed:\n${run.stderr}\n${run.stdout}`);

    const executed = JSON.parse(fs.readFileSync(path.join(out, '03-where-does-it-look.ipynb'), 'utf8')) as { cells: Cell[] };
    const code = executed.cells.filter((c) => c.cell_type === 'code');
    assert.ok(code.every((c) => typeof c.execution_count === 'number'), 'every code cell executed');
    const outputs = code.flatMap((c) => c.outputs ?? []);
    assert.ok(!outputs.some((o) => o.output_type === 'error'), 'no error output');
    const stdout = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stdout').map(textOf).join('');

    assert.match(stdout, /^72 images extracted and found: 24 train, 24 validation, 24 test\.$/m);
    assert.match(stdout, /^18 of 24 test images have a lesion box; a box covers \d+\.\d% of the 64×64 image on average/m);
    const rows = [...stdout.matchAll(/^(scratch|feature-extraction|fine-tuning) +test accuracy (\d+\.\d)%/gm)];
    assert.deepEqual(rows.map((m) => m[1]), ['scratch', 'feature-extraction', 'fine-tuning']);
    // The learning verdict is always printed, whichever way it goes.
    assert.match(stdout, /^(All three beat the majority baseline|Did NOT beat the majority baseline)/m);
    // One scored sentence per method, with the chance level as a multiple.
    const scoredLines = [...stdout.matchAll(/^(scratch|feature-extraction|fine-tuning): the heat-map peak falls inside the true box for (\d+) of 18 images \((\d+\.\d)%\), (\d+\.\d)× the (\d+\.\d)% a random point would hit/gm)];
    assert.deepEqual(scoredLines.map((m) => m[1]), ['scratch', 'feature-extraction', 'fine-tuning']);
    assert.match(stdout, /^Saved .*fine-tuned\.tlm; the three models in memory are disposed\.$/m);
    assert.match(stdout, /^Loaded: PhantomNet fine-tuned from 'phantom-source' on 24 phantom images \(seed 0\); classes adenocarcinoma, large\.cell\.carcinoma, normal, squamous\.cell\.carcinoma; input 64×64 grayscale\.$/m);
    assert.match(stdout, /^.*\/test\/[a-z.]+\/[^:]+: [a-z.]+ \(\d+\.\d%\); next: [a-z.]+ \(\d+\.\d%\), [a-z.]+ \(\d+\.\d%\)$/m);
    assert.match(stdout, /Same probabilities as before saving: yes, bit for bit\./);

    const displays = outputs.filter((o) => o.output_type === 'display_data');
    const pngs = displays.filter((o) => typeof o.data?.['image/png'] === 'string');
    assert.ok(pngs.length >= 2, 'overlay grids of right and wrong predictions');
    assert.ok(pngs.some((o) => /Image grid: \d+ images.*· true /.test(String(o.data?.['text/plain']))), 'captions carry the prediction and the truth');
    const html = displays.map((o) => String(o.data?.['text/html'] ?? '')).join('\n');
    assert.match(html, /<table[\s\S]*pointing game[\s\S]*× chance[\s\S]*<\/table>/, 'the score table');

    assert.ok(fs.existsSync(path.join(out, 'fine-tuned.tlm')), 'the saved model next to the executed notebook');
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
      methods: Array<{ method: string; testAccuracy: number; pointingGame: number; pointingChance: number; lesionImages: number }>;
    };
    assert.deepEqual(metrics.methods.map((m) => m.method), ['scratch', 'feature-extraction', 'fine-tuning']);
    for (const m of metrics.methods) {
      for (const v of [m.testAccuracy, m.pointingGame, m.pointingChance]) assert.ok(v >= 0 && v <= 1, `${m.method}: ${v}`);
      assert.equal(m.lesionImages, 18);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
