import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createTailTrainer, OnnxConversionError } from '../../src/acceleration';
import { buildTrainGraph } from '../../src/acceleration/train-graph';
import { BatchNormalization, flatten } from '../../src/layers';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { categoricalCrossentropyPerSample, binaryCrossentropyPerSample } from '../../src/training/losses';
import { fit } from '../../src/training';
import { createRandom } from '../../src/util/random';
import { ArraySource, captureConsole, tinyModel } from '../training/helpers';

test.before(async () => { await tf.setBackend('cpu'); });

/**
 * A small model shaped like the walkthrough's tail: a frozen stem, then trainable BatchNormalization
 * branches (scale false, as InceptionV3, and scale true), a 1×1 convolution, concatenation, global
 * average pooling, Flatten, Dense relu, seeded Dropout, Dense softmax.
 */
function inceptionLike(seed: number, classes = 3, activation: 'softmax' | 'sigmoid' = 'softmax'): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  const stem = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'stem', kernelInitializer: init(1), trainable: false }).apply(input) as tf.SymbolicTensor;
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'branch_a', useBias: false, kernelInitializer: init(2), trainable: false }).apply(stem) as tf.SymbolicTensor;
  const pool = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'pool', trainable: false }).apply(stem) as tf.SymbolicTensor;
  const bnA = new BatchNormalization({ scale: false, name: 'bn_a' }).apply(a) as tf.SymbolicTensor;
  const actA = tf.layers.activation({ activation: 'relu', name: 'act_a' }).apply(bnA) as tf.SymbolicTensor;
  const conv = tf.layers.conv2d({ filters: 5, kernelSize: 1, name: 'branch_pool', useBias: false, kernelInitializer: init(3) }).apply(pool) as tf.SymbolicTensor;
  const bnP = new BatchNormalization({ scale: true, name: 'bn_pool' }).apply(conv) as tf.SymbolicTensor;
  const actP = tf.layers.activation({ activation: 'relu', name: 'act_pool' }).apply(bnP) as tf.SymbolicTensor;
  const mixed = tf.layers.concatenate({ name: 'mixed' }).apply([actA, actP]) as tf.SymbolicTensor;
  let x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(mixed) as tf.SymbolicTensor;
  x = flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 7, activation: 'relu', name: 'dense', kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout', seed: 11 }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation, name: 'predictions', kernelInitializer: init(5) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'inception_like' });
}

/** Seeded random tensors shaped like the tail's inputs, for `n` samples. */
function tailInputs(tail: tf.LayersModel, n: number, seed: number): tf.Tensor[] {
  const rnd = createRandom(seed);
  return tail.inputs.map((t) => {
    const shape = [n, ...(t.shape.slice(1) as number[])];
    return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd.uniform(-1, 2)), shape);
  });
}

function oneHot(labels: number[], classes: number): tf.Tensor {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat());
}

async function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string, tolerance = 1e-4): Promise<void> {
  assert.deepEqual(actual.shape, expected.shape, what);
  const a = await actual.data();
  const b = await expected.data();
  const scale = Math.max(1e-3, ...Array.from(b, (v) => Math.abs(v)));
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) <= tolerance * scale, `${what}[${i}]: ${a[i]} vs ${b[i]} (scale ${scale})`);
}

/** The moving statistics of the model's BatchNormalization layers, copied. */
function movingStatistics(model: tf.LayersModel): tf.Tensor[] {
  return model.layers.filter((l) => l instanceof BatchNormalization).flatMap((l) => l.weights.filter((w) => /moving/.test(w.name)).map((w) => w.read().clone()));
}

test('the tail’s training step on ONNX Runtime gives TF.js’s output, gradients and moving statistics', async () => {
  for (const [loss, activation, perSample] of [['categorical', 'softmax', categoricalCrossentropyPerSample], ['binary', 'sigmoid', binaryCrossentropyPerSample]] as const) {
    const model = inceptionLike(3, 3, activation);
    const { tail } = splitFrozenPrefix(model);
    assert.equal(tail.inputs.length, 2, 'the cut crosses two tensors (the branch and the pool)');
    const inputs = tailInputs(tail, 6, 4);
    const ys = loss === 'categorical' ? oneHot([0, 1, 2, 0, 1, 1], 3) : tf.tensor2d([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1]]);
    const varList = tail.trainableWeights.map((w) => w.read() as tf.Variable);
    const before = movingStatistics(model);
    // TF.js: the tail under the tape in training mode (this also moves the moving statistics).
    const reference = tf.variableGrads(() => {
      const out = tail.apply(inputs, { training: true }) as tf.Tensor;
      return tf.mean(perSample(ys, out)) as tf.Scalar;
    }, varList);
    const referenceOut = tf.tidy(() => tail.apply(inputs, { training: true }) as tf.Tensor); // same mask (seeded), moves them again
    const afterTfjs = movingStatistics(model);
    // Back to the start, then once on ONNX Runtime.
    const bns = model.layers.filter((l) => l instanceof BatchNormalization);
    const slots = bns.flatMap((l) => l.weights.filter((w) => /moving/.test(w.name)));
    slots.forEach((w, i) => w.write(before[i] as tf.Tensor));
    const trainer = await createTailTrainer(tail, loss);
    try {
      const data = await Promise.all(inputs.map(async (t) => ({ data: (await t.data()) as Float32Array, dims: t.shape })));
      const { output, gradients } = await trainer.step(data, ys);
      await assertClose(output, referenceOut, `${loss}: output`);
      assert.deepEqual(gradients.map((g) => g.name), varList.map((v) => v.name));
      for (const g of gradients) await assertClose(g.tensor, reference.grads[g.name] as tf.Tensor, `${loss}: gradient of ${g.name}`);
      // One training call moved the statistics once; TF.js moved them twice (gradients + output).
      const once = movingStatistics(model);
      slots.forEach((w, i) => w.write(once[i] as tf.Tensor));
      const data2 = await trainer.step(data, ys);
      const twice = movingStatistics(model);
      for (let i = 0; i < twice.length; i++) await assertClose(twice[i] as tf.Tensor, afterTfjs[i] as tf.Tensor, `${loss}: moving statistic ${i}`);
      const count = tf.memory().numTensors;
      const third = await trainer.step(data, ys);
      tf.dispose([third.output, ...third.gradients.map((g) => g.tensor)]);
      assert.equal(tf.memory().numTensors, count, 'a step keeps no tensor but those it returns');
      tf.dispose([output, ...gradients.map((g) => g.tensor), data2.output, ...data2.gradients.map((g) => g.tensor), ...once, ...twice]);
    } finally {
      trainer.dispose();
      tf.dispose([...inputs, ys, reference.value, ...Object.values(reference.grads), referenceOut, ...before, ...afterTfjs]);
      model.dispose();
    }
  }
});

test('the training graph refuses layers it cannot differentiate, naming them', () => {
  const model = tinyModel('multi', 3);
  assert.throws(() => buildTrainGraph(splitFrozenPrefix(model).tail, 'categorical'), (e: unknown) => e instanceof OnnxConversionError && /layer 'c3b' \(Conv2D\).*only 1×1 convolutions with stride 1/.test(e.message));
  model.dispose();
  const input = tf.input({ shape: [4], name: 'x' });
  const frozen = tf.layers.dense({ units: 4, name: 'frozen', trainable: false }).apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'tfjs_bn' }).apply(frozen) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(bn) as tf.SymbolicTensor;
  const m2 = tf.model({ inputs: input, outputs: out });
  assert.throws(() => buildTrainGraph(splitFrozenPrefix(m2).tail, 'categorical'), /layer 'tfjs_bn' \(BatchNormalization\).*transferlab's BatchNormalization/);
  m2.dispose();
});

test('a seeded fit with the tail trained on ONNX Runtime follows the TF.js loss curve, and leaks no tensors', async () => {
  const train = new ArraySource(24, 8, 5);
  const val = new ArraySource(12, 6, 6);
  const plain = inceptionLike(7);
  const fast = inceptionLike(7);
  for (const m of [plain, fast]) m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  try {
    const h1 = await fit(plain, train, { epochs: 4, seed: 9, verbose: 0, validationData: val, accelerate: false });
    const count = tf.memory().numTensors;
    const { result: h2, log } = await captureConsole(() => fit(fast, train, { epochs: 4, seed: 9, verbose: 1, validationData: val }));
    assert.ok(log.includes('Trainable tail trains on ONNX Runtime CPU (1 thread): forward and backward in one graph, 8 trainable weights updated by the TF.js optimizer'), log.join('\n'));
    for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) {
      const a = h2.history[key] as number[];
      const b = h1.history[key] as number[];
      a.forEach((v, i) => assert.ok(Math.abs(v - (b[i] as number)) <= 1e-4 * Math.max(1, Math.abs(v)), `${key}[${i}]: ${v} vs ${b[i]}`));
    }
    const w1 = plain.getWeights(); // the variables themselves: not disposed here
    const w2 = fast.getWeights();
    for (let i = 0; i < w1.length; i++) await assertClose(w2[i] as tf.Tensor, w1[i] as tf.Tensor, `weight ${plain.weights[i]?.name}`, 1e-3);
    await fit(fast, train, { epochs: 1, seed: 9, verbose: 0 });
    const grown = tf.memory().numTensors - count;
    await fit(fast, train, { epochs: 1, seed: 9, verbose: 0 });
    assert.equal(tf.memory().numTensors - count, grown, 'another fit leaves no more tensors behind');
  } finally {
    plain.dispose();
    fast.dispose();
  }
});

test('fit says where the tail trains when it stays on TF.js', async () => {
  const model = tinyModel('multi', 2);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  try {
    const { log } = await captureConsole(() => fit(model, new ArraySource(6, 3, 2), { epochs: 1, verbose: 1 }));
    assert.ok(log.some((l) => /^Trainable tail trains on TF\.js cpu \(ONNX Runtime not used: Cannot convert layer 'c3b' \(Conv2D\) to ONNX: only 1×1 convolutions with stride 1 are supported/.test(l)), log.join('\n'));
  } finally {
    model.dispose();
  }
});
