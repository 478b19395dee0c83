import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InceptionV3, preprocessInput, decodePredictions, imagenetPreprocessInput, WeightsUnavailableError, weightsInfo, describeWeights, usedRandomWeightsFallback } from '../../src/applications';
import { countParams } from '../../src/training/summary';

test('builds InceptionV3 without the top at 224x224x3 as Keras does: 311 layers, 21,802,784 parameters, 5x5x2048', async () => {
  await tf.setBackend('cpu');
  const model = await InceptionV3({ includeTop: false, weights: null, inputShape: [224, 224, 3] });
  try {
    assert.equal(model.name, 'inception_v3');
    assert.equal(model.layers.length, 311);
    assert.deepEqual(model.outputs[0].shape, [null, 5, 5, 2048]);
    assert.deepEqual(countParams(model), { total: 21802784, trainable: 21768352, nonTrainable: 34432 });
    const names = model.layers.map((l) => l.name);
    // Keras's order (depth-sorted): index 249 is the first layer after mixed8, as in Keras's fine-tuning guide.
    const expected: Record<number, string> = {
      0: 'input_layer', 1: 'conv2d', 2: 'batch_normalization', 3: 'activation', 4: 'conv2d_1', 10: 'max_pooling2d',
      248: 'mixed8', 249: 'conv2d_80', 299: 'conv2d_93', 303: 'activation_91', 306: 'activation_85', 307: 'mixed9_1',
      308: 'concatenate_1', 309: 'activation_93', 310: 'mixed10',
    };
    for (const [i, name] of Object.entries(expected)) assert.equal(names[Number(i)], name, `layer ${i}`);
    for (let i = 0; i <= 10; i++) assert.ok(names.includes(`mixed${i}`));
    assert.ok(names.includes('mixed9_0') && names.includes('concatenate') && names.includes('average_pooling2d_8'));
    assert.ok(!names.includes('average_pooling2d_9') && !names.includes('max_pooling2d_4'));
    assert.equal(names.filter((n) => n.startsWith('conv2d')).length, 94);
    const counts = new Map<string, number>();
    for (const l of model.layers) counts.set(l.getClassName(), (counts.get(l.getClassName()) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries([...counts].sort()), {
      Activation: 94, AveragePooling2D: 9, Concatenate: 15, Conv2D: 94, InputLayer: 1, MaxPooling2D: 4, TransferlabBatchNormalization: 94,
    });
    const bn = model.getLayer('batch_normalization_93');
    assert.deepEqual(bn.weights.map((w) => w.originalName), [
      'batch_normalization_93/beta', 'batch_normalization_93/moving_mean', 'batch_normalization_93/moving_variance',
    ]);
  } finally {
    model.dispose();
  }
});

test('builds InceptionV3 with the top at 299x299x3: 313 layers ending in avg_pool and predictions, 23,851,784 parameters', async () => {
  const model = await InceptionV3({ weights: null });
  try {
    assert.equal(model.layers.length, 313);
    assert.deepEqual(model.layers.slice(-3).map((l) => l.name), ['mixed10', 'avg_pool', 'predictions']);
    assert.deepEqual(model.inputs[0].shape, [null, 299, 299, 3]);
    assert.deepEqual(model.outputs[0].shape, [null, 1000]);
    assert.equal(countParams(model).total, 23851784);
  } finally {
    model.dispose();
  }
});

test('checks arguments before building, with Keras rules', async () => {
  await assert.rejects(InceptionV3({ includeTop: false, weights: null, inputShape: [74, 224, 3] }), {
    name: 'TypeError',
    message: 'Expected an input size of at least 75x75 for inputShape but received [74, 224, 3] of type array',
  });
  await assert.rejects(InceptionV3({ weights: '/no/such/weights.h5' }), /Expected 'imagenet' \(pre-training on ImageNet\), null \(random initialization\) or the path of an existing weights file for weights but received '\/no\/such\/weights.h5'/);
  await assert.rejects(InceptionV3({ weights: 'imagenet', classes: 10 }), /Expected 1000 when using 'imagenet' weights with includeTop for classes but received 10/);
  await assert.rejects(InceptionV3({ weights: 'imagenet', includeTop: false, inputShape: [224, 224, 1] }), /3 channels with 'imagenet' weights/);
  await assert.rejects(InceptionV3({ weights: 'imagenet', inputShape: [224, 224, 3] }), /Expected \[299, 299, 3\] when includeTop is true/);
  await assert.rejects(InceptionV3({ weights: null, includeTop: false, pooling: 'sum' as 'avg' }), /Expected one of 'avg', 'max', null for pooling/);
  await assert.rejects(InceptionV3({ weights: 'imagenet', classifierActivation: 'relu' }), /'softmax' or null when using pretrained weights/);
});

test('runs at the minimum size 75x75 on a batch of 2 with pooling and an input tensor, without leaking tensors', async () => {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [75, 75, 3], name: 'image' });
  const model = await InceptionV3({ includeTop: false, weights: null, inputTensor: input, pooling: 'avg' });
  try {
    assert.equal(model.inputs[0], input);
    assert.equal(model.layers.at(-1)!.name, 'global_average_pooling2d');
    const before = tf.memory().numTensors;
    const y = tf.tidy(() => model.predict(preprocessInput(tf.fill([2, 75, 75, 3], 200))) as tf.Tensor);
    assert.deepEqual(y.shape, [2, 2048]);
    assert.ok(Array.from(y.dataSync()).every(Number.isFinite));
    y.dispose();
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
  }
});

test('preprocessInput scales [0, 255] to [-1, 1]; the other Keras modes match their formulas', () => {
  const x = tf.tensor([0, 127.5, 255]);
  assert.deepEqual(Array.from(preprocessInput(x).dataSync()), [-1, 0, 1]);
  const px = tf.tensor([[[10, 20, 30]]]);
  const caffe = Array.from(imagenetPreprocessInput(px, { mode: 'caffe' }).dataSync());
  [30 - 103.939, 20 - 116.779, 10 - 123.68].forEach((v, i) => assert.ok(Math.abs(caffe[i] - v) < 1e-4));
  const torch = Array.from(imagenetPreprocessInput(px, { mode: 'torch' }).dataSync());
  assert.ok(Math.abs(torch[0] - (10 / 255 - 0.485) / 0.229) < 1e-5);
});

test('decodePredictions returns the top classes per sample, with a local class index', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-ci-'));
  try {
    const index: Record<string, [string, string]> = {};
    for (let i = 0; i < 1000; i++) index[String(i)] = [`n${String(i).padStart(8, '0')}`, `label${i}`];
    const file = path.join(dir, 'imagenet_class_index.json');
    fs.writeFileSync(file, JSON.stringify(index));
    const preds = [Array.from({ length: 1000 }, (_, i) => (i === 7 ? 0.6 : i === 3 ? 0.3 : 0.1 / 998))];
    const [top] = await decodePredictions(preds, 2, { classIndexPath: file });
    assert.deepEqual(top, [['n00000007', 'label7', 0.6], ['n00000003', 'label3', 0.3]]);
    await assert.rejects(decodePredictions([[1, 2]]), /Expected a batch of predictions of shape \[samples, 1000\]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("'imagenet' weights offline fail with WeightsUnavailableError naming the URL, the cache path and the fix", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-keras-'));
  // A proxy on a closed local port makes the download fail at once, as offline.
  const env = { HOME: dir, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' };
  try {
    const download = { env, quiet: true, retry: { retries: 0 }, log: () => {} };
    await assert.rejects(InceptionV3({ includeTop: false, inputShape: [75, 75, 3], cacheDir: dir, download }), (err: unknown) => {
      assert.ok(err instanceof WeightsUnavailableError);
      assert.match(err.url, /inception_v3_weights_tf_dim_ordering_tf_kernels_notop\.h5$/);
      assert.equal(err.cachePath, path.join(dir, 'models', 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5'));
      assert.match(err.message, /weights: '\/path\/to\/inception_v3_weights_tf_dim_ordering_tf_kernels_notop\.h5'/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a model says which weights it holds: random as asked, and none recorded for a model built on top of it', async () => {
  await tf.setBackend('cpu');
  const model = await InceptionV3({ includeTop: false, weights: null, inputShape: [75, 75, 3], seed: 7 });
  try {
    assert.deepEqual(weightsInfo(model), { kind: 'random', requested: null, seed: 7 });
    assert.equal(usedRandomWeightsFallback(model), false);
    assert.match(describeWeights(weightsInfo(model)!), /^Weights: random \(seed 7\), as asked\. .*nothing here is transfer learning/);
    const head = tf.model({ inputs: model.inputs, outputs: tf.layers.globalAveragePooling2d({}).apply(model.outputs[0]) as tf.SymbolicTensor });
    assert.equal(weightsInfo(head), undefined);
  } finally {
    model.dispose();
  }
  assert.equal(describeWeights({ kind: 'imagenet', requested: 'imagenet', path: '/k/models/x.h5' }), 'Weights: ImageNet, read from /k/models/x.h5.');
  assert.equal(describeWeights({ kind: 'file', requested: 'w.h5', path: '/w/w.h5' }), 'Weights: read from /w/w.h5.');
});

test("offline with weightsFallback 'random': the model records the fallback and why, and the warning gives no calibration advice", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-keras-'));
  const env = { HOME: dir, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' };
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  let model: tf.LayersModel | undefined;
  try {
    const download = { env, quiet: true, retry: { retries: 0 }, log: () => {} };
    model = await InceptionV3({ includeTop: false, inputShape: [75, 75, 3], cacheDir: dir, download, weightsFallback: 'random', seed: 42 });
  } finally {
    console.warn = warn;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  try {
    const info = weightsInfo(model)!;
    assert.equal(info.kind, 'random-fallback');
    assert.equal(info.requested, 'imagenet');
    assert.equal(info.seed, 42);
    assert.match(info.reason!, /^Could not obtain the pretrained weights: downloading https:\/\/storage\.googleapis\.com\/.*_notop\.h5 failed/);
    assert.equal(usedRandomWeightsFallback(model), true);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Continuing with randomly initialised weights \(seed 42\) because weightsFallback is 'random'.*this is not transfer learning/s);
    assert.doesNotMatch(warnings[0]!, /calibrat/i);
    const notice = describeWeights(info);
    assert.match(notice, /^NOTE: the base network is RANDOM\. The ImageNet weights could not be loaded/);
    assert.match(notice, /Nothing below is transfer learning/);
  } finally {
    model.dispose();
  }
});
