import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { adaptRandomFeatures, calibrateBatchNormalization } from '../../bench/calibrate-batch-norm';
import type { Batch, BatchSource } from '../../src/training/types';
import { batchNormalization } from '../../src/layers';
import { createRandom } from '../../src/util/random';

type BnKind = 'ours' | 'tfjs';

function randomImages(n: number, size: number, channels: number, seed: number, offset = 0, scale = 1): tf.Tensor4D {
  const rng = createRandom(seed);
  const data = new Float32Array(n * size * size * channels);
  for (let i = 0; i < data.length; i++) data[i] = offset + scale * rng.normal();
  return tf.tensor4d(data, [n, size, size, channels]);
}

/**
 * A BatchSource over fixed batches that records resets and whether its tensors were disposed.
 * Async-iterable too, like the preprocessing DirectoryIterator: `next()` must win.
 */
class FixedSource implements BatchSource {
  readonly length: number;
  resets = 0;
  readonly handedOut: Batch[] = [];
  private index = 0;
  constructor(private readonly batches: tf.Tensor4D[]) {
    this.length = batches.length;
  }
  reset(): void {
    this.resets++;
    this.index = 0;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<tf.Tensor4D> {
    throw new Error('iterated as an async iterable instead of through next()');
  }
  async next(): Promise<Batch> {
    const xs = this.batches[this.index].clone();
    this.index = (this.index + 1) % this.length;
    const batch = { xs, ys: tf.zeros([xs.shape[0], 2]) };
    this.handedOut.push(batch);
    return batch;
  }
}

/** input 6×6×2 → conv c1 → BN bn1 → relu → conv c2 → BN bn2; c1 and bn1 frozen. */
function convBnModel(kind: BnKind): tf.LayersModel {
  const bn = (name: string) => (kind === 'ours' ? batchNormalization({ name }) : tf.layers.batchNormalization({ name }));
  const input = tf.input({ shape: [6, 6, 2] });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.constant({ value: 0.5 }) }).apply(input) as tf.SymbolicTensor;
  x = bn('bn1').apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'relu1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c2', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  x = bn('bn2').apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: x });
  // Non-trivial gamma/beta so the sweep's normalisation of bn1 matters for bn2's input.
  const bn1 = model.getLayer('bn1');
  bn1.setWeights([tf.tensor1d([1.5, 0.5, 2]), tf.tensor1d([0.1, -0.2, 0.3]), tf.zeros([3]), tf.ones([3])]);
  model.getLayer('c1').trainable = false;
  bn1.trainable = false;
  return model;
}

/** Per-channel mean and biased variance over all positions of all tensors, in float64. */
function pooledMoments(tensors: tf.Tensor[]): { mean: number[]; variance: number[] } {
  const channels = tensors[0].shape[tensors[0].rank - 1];
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  let count = 0;
  for (const t of tensors) {
    const data = t.dataSync();
    for (let i = 0; i < data.length; i++) sum[i % channels] += data[i];
    count += data.length / channels;
  }
  const mean = Array.from(sum, (s) => s / count);
  for (const t of tensors) {
    const data = t.dataSync();
    for (let i = 0; i < data.length; i++) sumSq[i % channels] += (data[i] - mean[i % channels]) ** 2;
  }
  return { mean, variance: Array.from(sumSq, (s) => s / count) };
}

function assertClose(actual: ArrayLike<number>, expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Hand-computed (eager, layer by layer) statistics of bn1's and bn2's inputs, bn1 using batch statistics. */
function expectedStatistics(model: tf.LayersModel, batches: tf.Tensor4D[]): Record<'bn1' | 'bn2', { mean: number[]; variance: number[] }> {
  const c1Out: tf.Tensor[] = [];
  const c2Out: tf.Tensor[] = [];
  const [gamma, beta] = model.getLayer('bn1').getWeights();
  for (const xs of batches) {
    const h = model.getLayer('c1').apply(xs) as tf.Tensor;
    const { mean, variance } = pooledMoments([h]);
    const a = tf.relu(tf.add(tf.mul(tf.div(tf.sub(h, tf.tensor1d(mean)), tf.sqrt(tf.add(tf.tensor1d(variance), 1e-3))), gamma), beta));
    c1Out.push(h);
    c2Out.push(model.getLayer('c2').apply(a) as tf.Tensor);
  }
  return { bn1: pooledMoments(c1Out), bn2: pooledMoments(c2Out) };
}

for (const kind of ['ours', 'tfjs'] as const) {
  test(`sets each ${kind === 'ours' ? 'TransferlabBatchNormalization' : 'tf.layers.batchNormalization'} layer's moving mean and variance to the pooled statistics of its input over two batches`, async () => {
    await tf.setBackend('cpu');
    const model = convBnModel(kind);
    const batches = [randomImages(3, 6, 2, 11, 0.3, 2), randomImages(2, 6, 2, 12, -0.5, 1)];
    const flags = model.layers.map((l) => l.trainable);
    const expected = tf.tidy(() => expectedStatistics(model, batches));
    const source = new FixedSource(batches);
    try {
      const before = tf.memory().numTensors;
      const result = await calibrateBatchNormalization(model, source, { batches: 2 });
      assert.deepEqual(result, { layers: 2, batches: 2 });
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
      assert.ok(source.handedOut.every((b) => b.xs.isDisposed && b.ys!.isDisposed), 'xs and ys of every batch disposed');
      assert.equal(source.resets, 1, 'source reset afterwards');
      for (const name of ['bn1', 'bn2'] as const) {
        const weights = model.getLayer(name).getWeights();
        const [movingMean, movingVariance] = weights.slice(-2).map((w) => w.dataSync());
        assertClose(movingMean, expected[name].mean, 1e-4, `${name} moving mean`);
        assertClose(movingVariance, expected[name].variance, 1e-4, `${name} moving variance`);
      }
      assert.deepEqual(model.layers.map((l) => l.trainable), flags, 'trainable flags unchanged');
      // Inference mode afterwards: an image's output does not depend on the rest of its batch.
      const both = tf.concat(batches);
      const alone = model.predict(batches[1]) as tf.Tensor;
      const together = model.predict(both) as tf.Tensor;
      const tail = tf.slice(together, [3, 0, 0, 0], [2, -1, -1, -1]);
      assertClose(alone.dataSync(), Array.from(tail.dataSync()), 1e-5, 'prediction');
      tf.dispose([both, alone, together, tail]);
    } finally {
      tf.dispose(batches);
      model.dispose();
    }
  });
}

test('normalises a deep random conv stack: output std stays near 1 instead of collapsing', async () => {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [8, 8, 3] });
  let x = input;
  for (let i = 0; i < 20; i++) {
    x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 100 + i }) }).apply(x) as tf.SymbolicTensor;
    x = batchNormalization({ scale: false }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  }
  const model = tf.model({ inputs: input, outputs: x });
  for (const layer of model.layers) layer.trainable = false;
  const train = [randomImages(8, 8, 3, 1, 0.5), randomImages(8, 8, 3, 2, 0.5)];
  const heldOut = randomImages(8, 8, 3, 3, 0.5);
  const channelStd = () => tf.tidy(() => {
    const y = model.predict(heldOut) as tf.Tensor;
    return Math.min(...tf.moments(y, [0, 1, 2]).variance.sqrt().arraySync() as number[]);
  });
  async function* images(): AsyncIterable<tf.Tensor4D> {
    for (const t of train) yield t.clone();
  }
  try {
    const before = channelStd();
    const tensors = tf.memory().numTensors;
    const result = await calibrateBatchNormalization(model, images());
    assert.deepEqual(result, { layers: 20, batches: 2 });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaked; yielded tensors disposed');
    const after = channelStd();
    assert.ok(before < 0.05, `random stack collapses without calibration (min channel std ${before})`);
    assert.ok(after > 0.2 && after < 5, `calibrated stack keeps unit scale (min channel std ${after})`);
  } finally {
    tf.dispose([...train, heldOut]);
    model.dispose();
  }
});

test('leaves statistics and layers as they were when a batch fails, and rejects bad arguments', async () => {
  await tf.setBackend('cpu');
  const model = convBnModel('ours');
  const good = randomImages(2, 6, 2, 5);
  const bad = randomImages(2, 5, 5, 6);
  const source = new FixedSource([good, bad]);
  try {
    const weights = () => model.getLayer('bn2').getWeights().map((w) => Array.from(w.dataSync()));
    const snapshot = weights();
    const tensors = tf.memory().numTensors;
    await assert.rejects(calibrateBatchNormalization(model, source, { batches: 2 }));
    assert.deepEqual(weights(), snapshot);
    assert.equal(Object.hasOwn(model.getLayer('bn2'), 'call'), false, 'call restored');
    assert.equal(tf.memory().numTensors, tensors);
    await assert.rejects(calibrateBatchNormalization(model, source, { batches: 0 }), { message: 'Expected positive integer for batches but received 0 of type number' });
    await assert.rejects(calibrateBatchNormalization(model, source, { layers: 'some' as never }), { message: "Expected one of 'all', 'frozen', 'trainable' for layers but received 'some' of type string" });
    const frozenOnly = await calibrateBatchNormalization(model, new FixedSource([good]), { layers: 'frozen' });
    assert.deepEqual(frozenOnly, { layers: 1, batches: 1 });
    assert.deepEqual(weights(), snapshot, 'trainable bn2 untouched with layers: frozen');
  } finally {
    tf.dispose([good, bad]);
    model.dispose();
  }
});

test("mode 'rescale' sets a zero mean and one per-layer variance: the input's mean square over all channels", async () => {
  await tf.setBackend('cpu');
  const model = convBnModel('ours');
  const batches = [randomImages(3, 6, 2, 11, 0.3), randomImages(2, 6, 2, 12, -0.1, 2)];
  async function* images(): AsyncIterable<tf.Tensor4D> {
    for (const t of batches) yield t.clone();
  }
  try {
    // bn1's input does not depend on calibration; its expected scalar is the mean square of c1's output.
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('c1').output as tf.SymbolicTensor });
    const expected = tf.tidy(() => {
      const outs = batches.map((b) => probe.predict(b) as tf.Tensor);
      const all = tf.concat(outs.map((o) => tf.reshape(o, [-1])));
      return tf.mean(tf.square(all)).dataSync()[0];
    });
    const before = tf.memory().numTensors;
    await calibrateBatchNormalization(model, images(), { mode: 'rescale' });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    const [, , movingMean, movingVariance] = model.getLayer('bn1').getWeights();
    assert.deepEqual(Array.from(movingMean.dataSync()), [0, 0, 0]);
    for (const v of movingVariance.dataSync()) assert.ok(Math.abs(v - expected) <= 1e-4 * Math.max(1, expected), `variance ${v} vs ${expected}`);
    await assert.rejects(() => calibrateBatchNormalization(model, images(), { mode: 'both' as never }), /Expected one of 'normalize', 'rescale' for mode but received 'both'/);
  } finally {
    tf.dispose(batches);
    model.dispose();
  }
});

test('adaptRandomFeatures rescales frozen BatchNormalization layers and normalises trainable ones to their inputs', async () => {
  await tf.setBackend('cpu');
  const model = convBnModel('ours'); // bn1 frozen, bn2 trainable
  const batches = [randomImages(4, 6, 2, 21, 0.2), randomImages(4, 6, 2, 22, 0.4)];
  async function* images(): AsyncIterable<tf.Tensor4D> {
    for (const t of batches) yield t.clone();
  }
  try {
    const before = tf.memory().numTensors;
    const result = await adaptRandomFeatures(model, { [Symbol.asyncIterator]: () => images()[Symbol.asyncIterator]() }, { batches: 2 });
    assert.deepEqual(result, { frozen: 1, trainable: 1, batches: 2 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    const [, , mean1, var1] = model.getLayer('bn1').getWeights();
    assert.deepEqual(Array.from(mean1.dataSync()), [0, 0, 0], 'frozen layer: zero mean');
    const v1 = Array.from(var1.dataSync());
    assert.ok(v1.every((v) => v === v1[0]) && v1[0] > 0, 'frozen layer: one gain for all channels');
    // bn2 (trainable) now holds the statistics of its input as the rescaled bn1 produces it.
    const upToBn2Input = tf.model({ inputs: model.inputs, outputs: model.getLayer('c2').output as tf.SymbolicTensor });
    const expected = tf.tidy(() => {
      const all = tf.concat(batches.map((b) => upToBn2Input.predict(b) as tf.Tensor));
      const { mean, variance } = tf.moments(all, [0, 1, 2]);
      return [Array.from(mean.dataSync()), Array.from(variance.dataSync())];
    });
    const [, , mean2, var2] = model.getLayer('bn2').getWeights();
    assertClose(mean2.dataSync(), expected[0], 1e-4, 'bn2 moving mean');
    assertClose(var2.dataSync(), expected[1], 1e-4, 'bn2 moving variance');
    assert.equal(model.getLayer('bn1').trainable, false);
    assert.equal(model.getLayer('bn2').trainable, true);
  } finally {
    tf.dispose(batches);
    model.dispose();
  }
});
