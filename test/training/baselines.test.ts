import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InceptionV3 } from '../../src/applications';
import { Baselines, chanceLevel, majorityBaseline, measureBaselines, noiseMargin } from '../../src/training/baselines';
import { evaluate } from '../../src/training/evaluate';
import { featureStatistics, formatMagnitude, type FeatureStatistics } from '../../src/training/feature-statistics';
import type { BatchSource } from '../../src/training/types';
import { ArraySource, tinyModel } from './helpers';

/** Labels only, as a DirectoryIterator exposes them: 'adeno' 5, 'large' 3, 'normal' 2. */
const tenSlices = { classes: Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 2, 2]), classIndices: { adeno: 0, large: 1, normal: 2 } };

test('chance is one over the classes, and the noise margin is two standard errors of the split', () => {
  assert.equal(chanceLevel(4), 0.25);
  assert.ok(Math.abs(noiseMargin(0.25, 32) - 2 * Math.sqrt(0.25 * 0.75 / 32)) < 1e-12);
  assert.ok(Math.abs(noiseMargin(23 / 72, 72) - 0.1099) < 1e-4);
  assert.equal(noiseMargin(1, 10), 0);
  assert.throws(() => chanceLevel(0), { message: 'Expected positive integer for classes but received 0 of type number' });
  assert.throws(() => noiseMargin(0.5, 0), /for samples but received 0/);
});

test('the majority baseline names the commonest class of a split and its share; ties go to the lower label', () => {
  assert.deepEqual(majorityBaseline(tenSlices, 'train'), {
    split: 'train', samples: 10, classes: 3, majorityIndex: 0, majorityClass: 'adeno', majorityCount: 5, majorityShare: 0.5,
  });
  const tie = majorityBaseline({ classes: [1, 0, 1, 0], classNames: ['a', 'b'] }, 'test');
  assert.deepEqual([tie.majorityClass, tie.majorityShare], ['a', 0.5]);
  assert.throws(() => majorityBaseline({} as never, 'test'), /Expected the label of every sample \(as a flowFromDirectory iterator has\) for test\.classes but received undefined/);
  assert.throws(() => majorityBaseline({ classes: [] }, 'valid'), { message: 'Expected at least one sample in the valid split but it has none; check its folder.' });
  assert.throws(() => majorityBaseline({ classes: [0, 3], numClasses: 2 }), /Expected a label in \[0, 2\) for data\.classes\[1\] but received 3/);
});

test('measureBaselines prints chance, each split\'s majority class and the untrained model\'s accuracy on validation', async () => {
  await tf.setBackend('cpu');
  const model = tinyModel('multi');
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const train = new ArraySource(7, 3); // labels 0 1 2 0 1 2 0: 'red' 3 of 7
  const validation = new ArraySource(6, 3, 9);
  const before = tf.memory().numTensors;
  const baselines = await measureBaselines(model, { train, validation }, { accelerate: false });
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  const logs = await evaluate(model, validation, { accelerate: false });
  assert.deepEqual(baselines.beforeTraining, { split: 'validation', accuracy: logs.accuracy, loss: logs.loss });
  assert.equal(baselines.chance, 1 / 3);
  assert.equal(baselines.uniformLoss, Math.log(3));
  const lines = baselines.text.split('\n');
  assert.equal(lines[0], 'Baselines for 3 classes (what a model that learned nothing scores):');
  assert.match(lines[1]!, /^ {2}chance \(a uniform guess\) +33\.3% {2}its loss: ln 3 = 1\.099$/);
  assert.match(lines[2]!, /^ {2}majority class of train +42\.9% {2}always 'red' \(3 of 7\)$/);
  assert.match(lines[3]!, /^ {2}majority class of validation +33\.3% {2}always 'red' \(2 of 6\)$/);
  assert.match(lines[4]!, new RegExp(`^  before training, validation +${(logs.accuracy * 100).toFixed(1)}%  loss ${logs.loss.toFixed(3)}$`));
  assert.equal(lines[5], 'Learning shows when validation accuracy beats the majority class by more than noise: 38.5 points on 6 images.');
  assert.deepEqual(baselines.yRange, { accuracy: [0, 1], loss: [0, Math.log(3)] });
  assert.deepEqual(baselines.references, {
    accuracy: [{ name: 'majority class 33.3%', y: 1 / 3 }, { name: 'chance 33.3%', y: 1 / 3 }],
    loss: [{ name: 'uniform guess (ln 3)', y: Math.log(3) }],
  });
  await assert.rejects(measureBaselines(model, { train }, { evaluateOn: 'test' }), /Expected one of 'train' or null for evaluateOn but received 'test'/);
  const uncompiled = tinyModel('multi');
  await assert.rejects(measureBaselines(uncompiled, { validation }, { accelerate: false }));
});

test('the verdict says plainly whether the model beat the majority baseline by more than the noise of the split', () => {
  const b = new Baselines(4);
  b.addSplit('validation', { classes: Array.from({ length: 72 }, (_, i) => (i < 23 ? 0 : 1 + (i % 3))), classNames: ['adenocarcinoma', 'large', 'normal', 'squamous'] });
  const share = 23 / 72;
  const margin = noiseMargin(share, 72);

  const beaten = b.verdict('validation', 0.8);
  assert.equal(beaten.beat, true);
  assert.equal(beaten.text, [
    "Validation accuracy 80.0%; majority baseline 31.9% (always 'adenocarcinoma'), chance 25.0%.",
    'Verdict: the model beat the majority baseline, by 48.1 points (noise on 72 images: ±11.0 points).',
  ].join('\n'));

  const noise = b.verdict('validation', share + margin / 2);
  assert.equal(noise.beat, false);
  assert.match(noise.text, /^Verdict: the model did NOT beat the majority baseline: 5\.5 points above it is within the noise of 72 images \(±11\.0 points\)\.$/m);

  const history = { history: { val_accuracy: [0.3, share, share], accuracy: [0.3, 0.31, 0.32] }, epoch: [0, 1, 2] };
  const flat = b.verdict('validation', history, { predictions: new Array(72).fill(0), classNames: ['adenocarcinoma', 'large', 'normal', 'squamous'] });
  assert.equal(flat.text, [
    "After 3 epochs: validation accuracy 31.9%; majority baseline 31.9% (always 'adenocarcinoma'), chance 25.0%.",
    'Verdict: the model did NOT beat the majority baseline (it would have needed more than 42.9% on 72 images).',
    "It answers 'adenocarcinoma' for every one of the 72 images: its answer does not depend on the image.",
  ].join('\n'));
  assert.deepEqual(JSON.parse(JSON.stringify(b)).verdicts.validation, { accuracy: share, majorityShare: share, margin, beatMajority: false });
  assert.deepEqual(JSON.parse(JSON.stringify(b)).majority, { validation: { class: 'adenocarcinoma', share, count: 23, samples: 72 } });

  assert.throws(() => b.verdict('test', 0.5), /Expected one of the splits measured \('validation'\) for split but received 'test'/);
  assert.throws(() => b.verdict('validation', 1.5), /Expected number between 0 and 1|for accuracy but received 1\.5/);
  assert.throws(() => b.verdict('validation', { history: { loss: [1] } }), /Expected a History with val_accuracy or val_acc for accuracy/);
  assert.throws(() => b.addSplit('test', { classes: [0, 1], numClasses: 2 }), { message: 'Expected 4 classes in the test split (as in the others) but it has 2.' });
});

test('with a random base the verdict says why it cannot transfer, quoting the measured features; with pretrained weights no alarm', () => {
  const b = new Baselines(4);
  b.addSplit('test', { classes: [0, 0, 0, 1, 2, 3, 1, 2], numClasses: 4 });
  const features: FeatureStatistics = { images: 8, channels: 2048, grid: [5, 5], rms: 7.3e-4, betweenImages: 3.8e-5, withinGrid: 2.7e-4, text: '' };
  const fallback = { kind: 'random-fallback' as const, requested: 'imagenet', seed: 42, reason: 'offline' };
  const random = b.verdict('test', 0.375, { weights: fallback, features });
  assert.equal(random.beat, false);
  const lines = random.text.split('\n');
  assert.equal(lines[2], 'Why: the base is random (the pretrained weights could not be loaded) and frozen, so it has learned nothing that could transfer.');
  assert.equal(lines[3], 'Measured above: the features it hands the head are 7.3e-4 in size and differ between images by only 3.8e-5 (5% of their size): nearly the same vector for every slice.');
  assert.equal(lines[4], 'Average pooling also threw away where things are: across the 5×5 grid the features varied by 2.7e-4, and the head sees none of that.');
  assert.match(lines[5]!, /^From inputs like these the head learns little more than how common each class is, which is the majority baseline\./);

  const lucky = b.verdict('test', 1, { weights: { kind: 'random', requested: null, seed: 0 } });
  assert.match(lucky.text, /The base is random \(as asked\), so this is not transfer learning/);

  const pretrained = { kind: 'imagenet' as const, requested: 'imagenet', path: '/x.h5' };
  const good = b.verdict('test', 1, { weights: pretrained, features });
  assert.doesNotMatch(good.text, /random|Why/);
  const poor = b.verdict('test', 0.375, { weights: pretrained, features });
  assert.doesNotMatch(poor.text, /random/);
  assert.match(poor.text, /too few epochs or images/);
});

test('featureStatistics measures the size of pooled features, their spread between images and across the grid, without leaking', async () => {
  await tf.setBackend('cpu');
  // The output is the input itself: statistics can be computed by hand.
  const input = tf.input({ shape: [8, 8, 3] });
  const identity = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'linear' }).apply(input) as tf.SymbolicTensor });
  const source = new ArraySource(5, 2);
  const before = tf.memory().numTensors;
  const stats = await featureStatistics(identity, source, { images: 3 });
  assert.equal(tf.memory().numTensors, before);
  const imgs = source.images.slice(0, 3);
  const pooled = imgs.map((im) => [0, 1, 2].map((c) => Array.from({ length: 64 }, (_, p) => im[p * 3 + c]!).reduce((a, v) => a + v, 0) / 64));
  const rms = Math.sqrt(pooled.flat().reduce((a, v) => a + v * v, 0) / 9);
  const between = Math.sqrt([0, 1, 2].map((c) => {
    const m = pooled.reduce((a, r) => a + r[c]!, 0) / 3;
    return pooled.reduce((a, r) => a + (r[c]! - m) ** 2, 0) / 3;
  }).reduce((a, v) => a + v, 0) / 3);
  assert.equal(stats.images, 3);
  assert.equal(stats.channels, 3);
  assert.deepEqual(stats.grid, [8, 8]);
  assert.ok(Math.abs(stats.rms - rms) < 1e-6);
  assert.ok(Math.abs(stats.betweenImages - between) < 1e-6);
  assert.ok(stats.withinGrid! > 0.1, 'pixels vary across the image');
  assert.match(stats.text, /^Features the head receives \(3 images, after average pooling\): size 0\.\d\d \(root mean square\), differences between images 0\.\d+ \(\d+% of their size\); before pooling they varied by 0\.\d+ across the 8×8 grid of each image\.$/);
  await assert.rejects(featureStatistics(identity, source, { images: 1 }), { message: 'Expected integer of at least 2 for images but received 1 of type number' });
  assert.equal(formatMagnitude(7.3e-4), '7.3e-4');
  assert.equal(formatMagnitude(1e-4), '1e-4');
  assert.equal(formatMagnitude(0.4321), '0.43');
});

test('a random InceptionV3 hands the head features about 1e-4 in size that are nearly the same for every image', async () => {
  await tf.setBackend('cpu');
  const base = await InceptionV3({ includeTop: false, weights: null, inputShape: [75, 75, 3], seed: 42 });
  // Four different, seeded images in [0, 1], as the walkthrough's rescale gives.
  const images: BatchSource = { length: 1, next: async () => ({ xs: tf.randomUniform([4, 75, 75, 3], 0, 1, 'float32', 7) }) };
  try {
    const stats = await featureStatistics(base, images, { images: 4 });
    assert.ok(stats.rms > 1e-6 && stats.rms < 1e-2, `size ${stats.rms}`);
    assert.ok(stats.betweenImages < 0.3 * stats.rms, `between images ${stats.betweenImages} of ${stats.rms}`);
    assert.deepEqual([stats.channels, stats.grid, stats.withinGrid], [2048, undefined, undefined], 'a 1×1 grid has no positions to report');
    assert.doesNotMatch(stats.text, /grid/);
  } finally {
    base.dispose();
  }
});
