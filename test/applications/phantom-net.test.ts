import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PhantomNet, addPhantomNetTop, phantomSourceWeightsDir, phantomSourceWeightsFile, readPhantomSourceManifest } from '../../src/applications/phantom-net';
import { saveWeightsToH5 } from '../../src/applications/save-weights';
import { loadWeightsFromH5 } from '../../src/applications/load-weights';
import { WeightsFormatError } from '../../src/applications/errors';
import { weightsInfo } from '../../src/applications/weights-info';
import { hashFile } from '../../src/data/get-file';
import { PHANTOM_SOURCE_CLASSES } from '../../src/data/phantom-source';
import { phantomSourceSet } from '../../src/preprocessing/phantom-source-set';
import { initBackend } from '../../src/runtime/backend';
import { arraySource } from '../../src/training/array-source';
import { evaluate } from '../../src/training/evaluate';
import { pretrainPhantomSource, PHANTOM_SOURCE_FILES } from '../../src/training/pretrain';

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

async function heldOutAccuracy(model: tf.LayersModel, manifest: ReturnType<typeof readPhantomSourceManifest>): Promise<number> {
  const set = phantomSourceSet({ count: manifest.pretraining.heldOutImages, start: manifest.pretraining.heldOutStart, seed: manifest.pretraining.seed });
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const logs = await evaluate(model, arraySource({ xs: set.xs, shape: set.shape, labels: set.labels, numClasses: 5, batchSize: 100, shuffle: false }));
  return logs.accuracy;
}

test('the bundled phantom-source weights match their manifest: task, classes, size and sha256 of both files', async () => {
  const dir = phantomSourceWeightsDir();
  const manifest = readPhantomSourceManifest(dir);
  assert.equal(manifest.name, 'phantom-source');
  assert.deepEqual(manifest.classes, [...PHANTOM_SOURCE_CLASSES]);
  assert.deepEqual(manifest.inputShape, [64, 64, 1]);
  assert.ok(manifest.pretraining.trainImages >= 1000 && manifest.pretraining.epochs >= 1);
  assert.ok(manifest.heldOutAccuracy > 0.5, `held-out source accuracy ${manifest.heldOutAccuracy} is well above chance (0.2)`);
  let bytes = 0;
  for (const entry of [manifest.files.top, manifest.files.notop]) {
    const file = path.join(dir, entry.file);
    assert.equal(await hashFile(file, 'sha256'), entry.sha256, `${entry.file} sha256`);
    bytes += fs.statSync(file).size;
  }
  assert.ok(bytes <= 5 * 1024 * 1024, `weights are ${bytes} bytes, at most 5 MB`);
});

test('loading the bundled weights by name reproduces the recorded held-out source accuracy', async () => {
  await initBackend({ quiet: true });
  const manifest = readPhantomSourceManifest();
  const model = await PhantomNet({ weights: 'phantom-source' });
  try {
    assert.equal(weightsInfo(model)?.kind, 'bundled');
    const acc = await heldOutAccuracy(model, manifest);
    assert.ok(Math.abs(acc - manifest.heldOutAccuracy) <= 0.005, `held-out accuracy ${acc} vs recorded ${manifest.heldOutAccuracy}`);
  } finally {
    model.dispose();
  }
});

test('a damaged weights file is refused with a WeightsFormatError naming it and saying how to rebuild', async () => {
  const dir = tmp('phantom-weights-');
  try {
    const src = phantomSourceWeightsDir();
    for (const f of Object.values(PHANTOM_SOURCE_FILES)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const file = path.join(dir, PHANTOM_SOURCE_FILES.notop);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 10] ^= 0xff;
    fs.writeFileSync(file, bytes);
    await assert.rejects(phantomSourceWeightsFile(false, dir), (e: unknown) =>
      e instanceof WeightsFormatError && e.message.includes(file) && /does not match its manifest/.test(e.message) && /transferlab pretrain/.test(e.message));
    await assert.rejects(PhantomNet({ includeTop: false, weights: 'phantom-source', weightsDir: dir }), WeightsFormatError);
    fs.rmSync(path.join(dir, 'manifest.json'));
    await assert.rejects(PhantomNet({ weights: 'phantom-source', weightsDir: dir }), /manifest of the 'phantom-source' weights/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('saveWeightsToH5 then loadWeightsFromH5 restores every value bit for bit', async () => {
  const dir = tmp('phantom-h5-');
  const a = await PhantomNet({ seed: 1 });
  const b = await PhantomNet({ seed: 2 });
  try {
    const file = path.join(dir, 'w.h5');
    assert.equal(await saveWeightsToH5(a, file), a.weights.length);
    await loadWeightsFromH5(b, file);
    a.weights.forEach((w, i) => assert.deepEqual(Array.from(b.weights[i].read().dataSync()), Array.from(w.read().dataSync()), w.name));
  } finally {
    a.dispose();
    b.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('PhantomNet checks its arguments: 1 channel and the 5-class top with phantom-source weights', async () => {
  await assert.rejects(PhantomNet({ weights: 'phantom-source', inputShape: [64, 64, 3] }), /1 channel/);
  await assert.rejects(PhantomNet({ weights: 'phantom-source', classes: 4 }), /5 when using 'phantom-source'/);
  await assert.rejects(PhantomNet({ weights: '/no/such/file.h5' }), /'phantom-source'.*null.*path of an existing weights file/);
  const base = await PhantomNet({ includeTop: false });
  const model = addPhantomNetTop(base, { classes: 4, seed: 3 });
  try {
    assert.deepEqual(base.outputs[0].shape, [null, 4, 4, 64]);
    assert.deepEqual(model.outputs[0].shape, [null, 4]);
    assert.equal(model.layers.length, base.layers.length + 3);
  } finally {
    model.dispose();
  }
});

test('a shortened pretraining run writes loadable weights and a manifest whose held-out accuracy reproduces', { timeout: 300_000 }, async () => {
  const dir = tmp('pretrain-');
  const before = tf.memory().numTensors;
  try {
    const manifest = await pretrainPhantomSource({ outDir: dir, trainImages: 40, validationImages: 10, heldOutImages: 20, epochs: 1, batchSize: 10, verbose: 0 });
    assert.deepEqual(fs.readdirSync(dir).sort(), [PHANTOM_SOURCE_FILES.manifest, PHANTOM_SOURCE_FILES.top, PHANTOM_SOURCE_FILES.notop].sort());
    assert.deepEqual(readPhantomSourceManifest(dir), manifest);
    assert.equal(manifest.pretraining.trainImages, 40);
    const model = await PhantomNet({ weights: 'phantom-source', weightsDir: dir });
    try {
      assert.ok(Math.abs((await heldOutAccuracy(model, manifest)) - manifest.heldOutAccuracy) < 1e-6);
    } finally {
      model.dispose();
    }
    const base = await PhantomNet({ includeTop: false, weights: 'phantom-source', weightsDir: dir });
    base.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
