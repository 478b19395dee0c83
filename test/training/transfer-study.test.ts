import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { arraySource } from '../../src/training/array-source';
import { fitLogisticRegression } from '../../src/training/classical';
import { describeTransfer, sampleLabelsPerClass, summarizeTransfer, transferStudy, type LabelledImages, type TransferResult } from '../../src/training/transfer-study';
import { createRandom } from '../../src/util/random';

/** A learnable toy set at 16×16×1: class c has a bright square in quadrant c. */
function toy(n: number, seed: number): LabelledImages {
  const rng = createRandom(seed);
  const xs = new Float32Array(n * 256);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    labels[i] = c;
    for (let p = 0; p < 256; p++) xs[i * 256 + p] = rng.uniform(0, 0.3);
    const [oy, ox] = [(c >> 1) * 8 + 2, (c & 1) * 8 + 2];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) xs[i * 256 + (oy + y) * 16 + ox + x] += 0.7;
  }
  return { xs, shape: [n, 16, 16, 1], labels, classNames: ['a', 'b', 'c', 'd'] };
}

test('sampleLabelsPerClass draws K per class, seeded, and refuses more than a class has', () => {
  const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
  const a = sampleLabelsPerClass(labels, 2, 1);
  assert.equal(a.length, 6);
  for (const c of [0, 1, 2]) assert.equal(Array.from(a).filter((i) => labels[i] === c).length, 2);
  assert.deepEqual(sampleLabelsPerClass(labels, 2, 1), a, 'same seed, same draw');
  assert.equal(sampleLabelsPerClass(labels, 'all', 1).length, labels.length);
  assert.throws(() => sampleLabelsPerClass(labels, 4, 1), /at most 3 \(the images of class 1\)/);
});

test('arraySource yields every sample once per epoch, reshuffled per epoch and the same for the same seed', async () => {
  const data = toy(10, 1);
  const pass = async (src: ReturnType<typeof arraySource>) => {
    const seen: string[] = [];
    for (let b = 0; b < src.length; b++) {
      const batch = await src.next();
      seen.push(...batch.filepaths!.map((f) => f.split('#')[1]!));
      tf.dispose([batch.xs, batch.ys!]);
    }
    return seen;
  };
  const src = arraySource({ ...data, numClasses: 4, batchSize: 4, seed: 3 });
  const e0 = await pass(src);
  const e1 = await pass(src);
  assert.equal(new Set(e0).size, 10);
  assert.notDeepEqual(e0, e1, 'a new order each epoch');
  const again = arraySource({ ...data, numClasses: 4, batchSize: 4, seed: 3 });
  assert.deepEqual(await pass(again), e0);
  again.setEpoch!(1, again.length);
  assert.deepEqual(await pass(again), e1, 'setEpoch puts the stream where an uninterrupted one is');
  assert.throws(() => arraySource({ ...data, labels: [0, 1], numClasses: 4 }), /10 labels/);
});

test('logistic regression on separable features classifies held-out rows', () => {
  const train = toy(40, 2);
  const test_ = toy(20, 3);
  const before = tf.memory().numTensors;
  const clf = fitLogisticRegression(train.xs, train.labels, 4);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  const predicted = clf.predict(test_.xs, 20);
  assert.ok(predicted.filter((p, i) => p === test_.labels[i]).length >= 18);
});

test('transferStudy reports every method, K and seed, with accuracies in [0, 1], and leaks no tensors', { timeout: 300_000 }, async () => {
  // A toy base stands in for the pretrained one: a PhantomNet-shaped file is not needed to test the loop.
  const train = toy(24, 4);
  const valid = toy(8, 5);
  const testSet = toy(12, 6);
  const before = tf.memory().numTensors;
  const rows: TransferResult[] = [];
  const study = await transferStudy({
    train, valid, test: testSet, labelsPerClass: [2, 'all'], seeds: [0, 1], headSteps: 2, fineTuneSteps: 2, batchSize: 8,
    weights: await tinyPretrained(), onResult: (r) => rows.push(r),
  });
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  assert.equal(study.results.length, 2 * 2 * 3);
  assert.deepEqual(rows, study.results);
  for (const r of study.results) assert.ok(r.testAccuracy >= 0 && r.testAccuracy <= 1);
  assert.equal(study.curves.length, 4);
  assert.ok(study.curves.every((c) => c.fineTuneStartsAfter > 0 && (c.transfer?.accuracy?.length ?? 0) > c.fineTuneStartsAfter));
  assert.deepEqual(study.curves.map((c) => c.transfer?.val_accuracy !== undefined), [true, false, true, false], 'validation curves for the first seed only');
  const summary = summarizeTransfer(study.results);
  assert.equal(summary.length, 6);
  assert.ok(summary.every((s) => s.seeds === 2 && s.min <= s.mean && s.mean <= s.max));
  const verdict = describeTransfer(study.results, 0.25);
  assert.equal(verdict.gaps.length, 2);
  assert.match(verdict.text, /^ {2}K = 2: scratch \d+\.\d%, feature extraction/m);
});

/** Weights for a 16×16×1 PhantomNet base saved to a temporary .h5, as a stand-in for 'phantom-source'. */
async function tinyPretrained(): Promise<string> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { PhantomNet } = await import('../../src/applications/phantom-net');
  const { saveWeightsToH5 } = await import('../../src/applications/save-weights');
  const base = await PhantomNet({ includeTop: false, inputShape: [16, 16, 1], seed: 9 });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tiny-base-')), 'base.h5');
  await saveWeightsToH5(base, file);
  base.dispose();
  return file;
}

test('trainTransferModels hands back the three trained models: feature extraction is a copy taken before fine-tuning, each scores as reported', { timeout: 300_000 }, async () => {
  const { trainTransferModels } = await import('../../src/training/transfer-models');
  const train = toy(24, 7);
  const valid = toy(8, 8);
  const testSet = toy(12, 9);
  const before = tf.memory().numTensors;
  const run = await trainTransferModels({ train, valid, test: testSet, headSteps: 3, fineTuneSteps: 3, batchSize: 8, weights: await tinyPretrained(), validate: false });
  assert.deepEqual(Object.keys(run.models).sort(), ['feature-extraction', 'fine-tuning', 'scratch']);
  const x = tf.tensor4d(testSet.xs, testSet.shape);
  for (const row of run.results) {
    const model = run.models[row.method]!;
    const predicted = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1).dataSync());
    const acc = Array.from(predicted).filter((p, i) => p === testSet.labels[i]).length / testSet.labels.length;
    assert.equal(acc, row.testAccuracy, `${row.method}: the kept model scores what was reported`);
  }
  const fe = run.models['feature-extraction']!;
  const ft = run.models['fine-tuning']!;
  assert.ok(fe.layers.filter((l) => l.name.startsWith('block')).every((l) => !l.trainable), 'the copy keeps its base frozen');
  const differs = tf.tidy(() => tf.any(tf.notEqual(fe.predict(x) as tf.Tensor, ft.predict(x) as tf.Tensor)).dataSync()[0]);
  assert.equal(differs, 1, 'fine-tuning went on from the head phase; the copy did not');
  x.dispose();
  for (const m of Object.values(run.models)) m!.dispose();
  assert.equal(tf.memory().numTensors, before, 'disposing the models frees everything');
});
