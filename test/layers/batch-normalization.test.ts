import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchNormalization, BatchNormalization, flatten, makeBatchNormRespectTrainable } from '../../src/layers';

/** input [4, 4, 2] → conv2d → BN → GAP → dense softmax. */
function convBnModel(bnArgs: { scale?: boolean; name?: string } = {}): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 2] });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), name: 'conv2d' }).apply(input) as tf.SymbolicTensor;
  x = batchNormalization({ name: 'batch_normalization', ...bnArgs }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }), name: 'dense' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

function tinyData(): { xs: tf.Tensor; ys: tf.Tensor } {
  const xs = tf.tidy(() => tf.add(tf.mul(tf.randomNormal([4, 4, 4, 2], 0, 1, 'float32', 3), 2), 5));
  const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
  return { xs, ys };
}

const values = (layer: tf.layers.Layer) => layer.getWeights().map((t) => Array.from(t.dataSync()));

test('a frozen BatchNormalization keeps its statistics and runs in inference mode during fit', async () => {
  await tf.setBackend('cpu');
  const model = convBnModel({ scale: false });
  const { xs, ys } = tinyData();
  try {
    const bn = model.getLayer('batch_normalization');
    bn.trainable = false;
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const before = values(bn);
    await model.fit(xs, ys, { epochs: 2, batchSize: 2, verbose: 0 });
    assert.deepEqual(values(bn), before);
    // Inference mode even when called with training: true.
    const conv = model.getLayer('conv2d');
    tf.tidy(() => {
      const h = conv.apply(xs) as tf.Tensor;
      const a = bn.apply(h, { training: true }) as tf.Tensor;
      const b = bn.apply(h, { training: false }) as tf.Tensor;
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    });
  } finally {
    model.dispose();
    tf.dispose([xs, ys]);
  }
});

test("makeBatchNormRespectTrainable gives TF.js's own BatchNormalization the same rule: frozen means inference mode, unfreezing takes effect", () => {
  const input = tf.input({ shape: [3] });
  const layer = tf.layers.batchNormalization({ name: 'tfjs_bn' });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const x = tf.tensor2d([[1, 2, 3], [5, 8, 13]]);
  try {
    makeBatchNormRespectTrainable(model);
    makeBatchNormRespectTrainable(model); // idempotent
    layer.trainable = false;
    tf.tidy(() => {
      const a = layer.apply(x, { training: true }) as tf.Tensor;
      const b = layer.apply(x, { training: false }) as tf.Tensor;
      assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    });
    layer.trainable = true;
    tf.tidy(() => {
      const a = layer.apply(x, { training: true }) as tf.Tensor;
      const b = layer.apply(x, { training: false }) as tf.Tensor;
      assert.notDeepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), 'trainable again: batch statistics');
    });
  } finally {
    model.dispose();
    x.dispose();
  }
});

test('a trainable BatchNormalization normalizes with batch statistics and moves its statistics with momentum 0.99', async () => {
  await tf.setBackend('cpu');
  const bn = new BatchNormalization({ scale: false });
  const x = tf.tensor2d([[1, 10], [3, 20], [5, 60]]);
  try {
    const y = bn.apply(x, { training: true }) as tf.Tensor;
    const [beta, movingMean, movingVariance] = bn.getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(beta, [0, 0]);
    // mean [3, 30], biased variance [8/3, 1400/3]; moving = moving * 0.99 + batch * 0.01.
    assert.ok(Math.abs(movingMean[0] - 0.03) < 1e-6 && Math.abs(movingMean[1] - 0.3) < 1e-5);
    assert.ok(Math.abs(movingVariance[0] - (0.99 + (8 / 3) * 0.01)) < 1e-5);
    assert.ok(Math.abs(movingVariance[1] - (0.99 + (1400 / 3) * 0.01)) < 1e-4);
    const col0 = Array.from(y.dataSync()).filter((_, i) => i % 2 === 0);
    const expected = [1, 3, 5].map((v) => (v - 3) / Math.sqrt(8 / 3 + 1e-3));
    col0.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5));
    y.dispose();
  } finally {
    x.dispose();
    bn.dispose();
  }
});

test('BatchNormalization with scale false trains: gradients reach beta and the layers before it', async () => {
  await tf.setBackend('cpu');
  const model = convBnModel({ scale: false });
  const { xs, ys } = tinyData();
  try {
    const bn = model.getLayer('batch_normalization');
    assert.deepEqual(bn.weights.map((w) => w.originalName), ['batch_normalization/beta', 'batch_normalization/moving_mean', 'batch_normalization/moving_variance']);
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    const convBefore = values(model.getLayer('conv2d'));
    const [, meanBefore] = values(bn);
    const history = await model.fit(xs, ys, { epochs: 3, batchSize: 4, verbose: 0 });
    const losses = history.history.loss as number[];
    assert.ok(losses.every(Number.isFinite));
    assert.ok(losses[2] < losses[0], `loss decreases: ${losses.join(', ')}`);
    assert.notDeepEqual(values(model.getLayer('conv2d')), convBefore);
    const [beta, meanAfter] = values(bn);
    assert.ok(beta.some((v) => v !== 0));
    assert.notDeepEqual(meanAfter, meanBefore);
  } finally {
    model.dispose();
    tf.dispose([xs, ys]);
  }
});

test('the batch-statistics gradient matches a finite-difference estimate on rank-2 input', async () => {
  await tf.setBackend('cpu');
  const bn = new BatchNormalization({ name: 'bn_grad' });
  const x = tf.tensor2d([[0.5, -1], [2, 0.3], [-0.7, 1.1]]);
  const w = tf.tensor2d([[1, 2], [3, -1], [0.5, 0.25]]);
  try {
    bn.apply(x, { training: true }); // builds; statistics moved once, irrelevant here
    const f = (t: tf.Tensor) => tf.sum(tf.mul(bn.apply(t, { training: true }) as tf.Tensor, w)) as tf.Scalar;
    const g = tf.grad(f)(x);
    const analytic = Array.from(g.dataSync());
    const base = Array.from(x.dataSync());
    const eps = 1e-2;
    analytic.forEach((a, i) => {
      const plus = base.slice(); plus[i] += eps;
      const minus = base.slice(); minus[i] -= eps;
      const numeric = tf.tidy(() => (f(tf.tensor2d(plus, [3, 2])).dataSync()[0] - f(tf.tensor2d(minus, [3, 2])).dataSync()[0]) / (2 * eps));
      assert.ok(Math.abs(a - numeric) < 2e-2, `d/dx[${i}]: ${a} vs ${numeric}`);
    });
    g.dispose();
  } finally {
    tf.dispose([x, w]);
    bn.dispose();
  }
});

test('a model with BatchNormalization and Flatten saves and loads with identical predictions', async () => {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [4, 4, 2] });
  let x = batchNormalization({ scale: false, name: 'bn' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, name: 'out' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  const { xs, ys } = tinyData();
  let loaded: tf.LayersModel | undefined;
  try {
    tf.dispose(model.getLayer('bn').apply(xs, { training: true }) as tf.Tensor); // move the statistics away from their init
    const json = JSON.stringify(model.toJSON(null, false));
    assert.match(json, /"class_name":"TransferlabBatchNormalization"/);
    assert.match(json, /"class_name":"TransferlabFlatten"/);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    assert.equal(loaded.getLayer('bn').getClassName(), 'TransferlabBatchNormalization');
    const a = model.predict(xs) as tf.Tensor;
    const b = loaded.predict(xs) as tf.Tensor;
    assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
    tf.dispose([a, b]);
  } finally {
    model.dispose();
    loaded?.dispose();
    tf.dispose([xs, ys]);
  }
});

test('Flatten passes rank-2 input through and flattens higher ranks, like Keras', () => {
  const f = flatten();
  const two = tf.input({ shape: [2048] });
  assert.deepEqual((f.apply(two) as tf.SymbolicTensor).shape, [null, 2048]);
  const four = tf.input({ shape: [2, 3, 4] });
  assert.deepEqual((flatten().apply(four) as tf.SymbolicTensor).shape, [null, 24]);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    assert.deepEqual((flatten().apply(tf.ones([2, 2, 3, 4])) as tf.Tensor).shape, [2, 24]);
    assert.deepEqual(Array.from((flatten().apply(tf.tensor2d([[1, 2]])) as tf.Tensor).dataSync()), [1, 2]);
  });
  assert.equal(tf.memory().numTensors, before);
});

test('rejects invalid BatchNormalization options with the project message', () => {
  assert.throws(() => new BatchNormalization({ momentum: 1.5 }), { message: 'Expected number between 0 and 1 for momentum but received 1.5 of type number' });
  assert.throws(() => new BatchNormalization({ epsilon: 0 }), /Expected positive number for epsilon but received 0/);
});
