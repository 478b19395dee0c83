import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { createFeatureCache, createOnnxPrefixEngine, createTailEngine, OnnxRuntimeError, sharedTailEngine } from '../../src/acceleration';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { createSplitModelRunner } from '../../src/training/split-model-runner';
import { evaluate, fit, predictIterator } from '../../src/training';
import { ArraySource, captureConsole, tinyModel } from '../training/helpers';
import { walkthroughModel } from '../training/walkthrough-model';
import { createRandom } from '../../src/util/random';

test.before(async () => { await tf.setBackend('cpu'); });

/** Largest |a−b| over two tensors of the same shape. */
async function maxAbsDiff(actual: tf.Tensor, expected: tf.Tensor): Promise<number> {
  assert.deepEqual(actual.shape, expected.shape);
  const a = await actual.data();
  const b = await expected.data();
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

/** Seeded random tensors shaped like the tail's inputs, for `n` samples. */
function tailInputs(tail: tf.LayersModel, n: number, seed: number): tf.Tensor[] {
  const rnd = createRandom(seed);
  return tail.inputs.map((t) => {
    const shape = [n, ...(t.shape.slice(1) as number[])];
    return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd.uniform(0, 2)), shape);
  });
}

function tfjsTail(tail: tf.LayersModel, inputs: tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => tail.apply(inputs.length === 1 ? inputs[0] as tf.Tensor : inputs, { training: false }) as tf.Tensor);
}

test('runs a multi-input tail on ONNX Runtime like the TF.js tail in inference mode, and leaks no tensors', async () => {
  const model = tinyModel('multi', 5);
  const { tail } = splitFrozenPrefix(model);
  assert.equal(tail.inputs.length, 2, 'the tiny model’s cut crosses two tensors');
  const inputs = tailInputs(tail, 6, 1);
  const engine = createTailEngine(tail);
  try {
    const expected = tfjsTail(tail, inputs);
    tf.dispose(await engine.predict(inputs)); // builds the session
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const actual = await engine.predict(inputs);
      const diff = await maxAbsDiff(actual, expected);
      assert.ok(diff < 1e-4, `max |ONNX − TF.js| = ${diff}`);
      actual.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'predict returns one tensor and keeps none');
    assert.deepEqual(engine.stats, { onnxRuns: 4, tfjsRuns: 0, builds: 1 });
    assert.equal(engine.describe(), 'ONNX Runtime CPU (1 thread)');
    assert.equal(engine.fallbackReason, undefined);
    expected.dispose();
  } finally {
    engine.dispose();
    tf.dispose(inputs);
    model.dispose();
  }
  const x = tailInputs(tail, 1, 2);
  await assert.rejects(engine.predict(x), /This TailEngine was disposed; create a new one with createTailEngine/);
  tf.dispose(x);
});

test('runs the walkthrough’s tail (last 15 InceptionV3 layers + dense head) like TF.js', async () => {
  const model = await walkthroughModel(75);
  try {
    model.layers.slice(0, 311 - 15).forEach((l) => (l.trainable = false));
    const { tail } = splitFrozenPrefix(model);
    assert.ok(tail.inputs.length > 1);
    const inputs = tailInputs(tail, 4, 3);
    const engine = createTailEngine(tail, { threads: 2 });
    try {
      const expected = tfjsTail(tail, inputs);
      const actual = await engine.predict(inputs);
      assert.deepEqual(actual.shape, [4, 4]);
      const diff = await maxAbsDiff(actual, expected);
      assert.ok(diff < 1e-4, `max |ONNX − TF.js| over the probabilities = ${diff}`);
      assert.equal(engine.stats.onnxRuns, 1);
      tf.dispose([actual, expected]);
    } finally {
      engine.dispose();
      tf.dispose(inputs);
    }
  } finally {
    model.dispose();
  }
});

test('rebuilds its session when the tail’s weights change (setWeights), and only then', async () => {
  const model = tinyModel('multi', 6);
  const { tail } = splitFrozenPrefix(model);
  const inputs = tailInputs(tail, 5, 4);
  const engine = createTailEngine(tail);
  try {
    tf.dispose(await engine.predict(inputs));
    tf.dispose(await engine.predict(inputs));
    assert.equal(engine.stats.builds, 1, 'unchanged weights: the same session');
    const dense = model.getLayer('predictions');
    const changed = dense.getWeights().map((w) => tf.tidy(() => w.mul(-3)));
    dense.setWeights(changed);
    tf.dispose(changed);
    const expected = tfjsTail(tail, inputs);
    const actual = await engine.predict(inputs);
    assert.equal(engine.stats.builds, 2);
    const diff = await maxAbsDiff(actual, expected);
    assert.ok(diff < 1e-4, `after setWeights: max |ONNX − TF.js| = ${diff}`);
    tf.dispose([actual, expected]);
  } finally {
    engine.dispose();
    tf.dispose(inputs);
    model.dispose();
  }
});

test('wrong inputs fail with errors that say what was expected and what to do', async () => {
  const model = tinyModel('multi', 9);
  const { tail } = splitFrozenPrefix(model);
  const good = tailInputs(tail, 2, 6);
  const wrong = tail.inputs.map((t) => tf.zeros([2, 3, 3, t.shape[3] as number]));
  const engine = createTailEngine(tail);
  try {
    await assert.rejects(engine.predict(good.slice(0, 1)), (e: unknown) => e instanceof TypeError && e.message === `Expected 2 tail inputs for '${tail.name}' but received 1.`);
    await assert.rejects(engine.predict(wrong), (e: unknown) => e instanceof OnnxRuntimeError && new RegExp(`^ONNX Runtime failed to run the tail of '${tail.name}': .*\\. Pass accelerate: false \\(or set TRANSFERLAB_ACCELERATE=0\\) to run it on TF\\.js\\.$`, 's').test(e.message));
    const out = await engine.predict(good);
    assert.deepEqual(out.shape, [2, 3], 'a failed run leaves the engine usable');
    out.dispose();
  } finally {
    engine.dispose();
    tf.dispose([...good, ...wrong]);
    model.dispose();
  }
});

test('falls back to the TF.js tail, with one note, when the tail cannot be converted', async () => {
  const input = tf.input({ shape: [4, 4, 2], name: 'img' });
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'frozen_conv', trainable: false }).apply(input) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c) as tf.SymbolicTensor;
  const d = tf.layers.dense({ units: 4, activation: 'elu', name: 'elu_dense' }).apply(gap) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }).apply(d) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const { tail, prefix } = splitFrozenPrefix(model);
  assert.notEqual(prefix, null);
  const inputs = tailInputs(tail, 3, 5);
  const engine = createTailEngine(tail);
  try {
    const before = tf.memory().numTensors;
    const { result: actual, log } = await captureConsole(() => engine.predict(inputs));
    assert.deepEqual(log, ["Trainable tail on TF.js cpu for prediction too (ONNX Runtime not used: Cannot convert layer 'elu_dense' (Dense) to ONNX: activation 'elu' is not supported (linear, relu, sigmoid, tanh, softmax are))"]);
    assert.match(engine.fallbackReason ?? '', /activation 'elu' is not supported/);
    assert.equal(engine.describe(), 'TF.js cpu');
    const expected = tfjsTail(tail, inputs);
    assert.equal(await maxAbsDiff(actual, expected), 0, 'the TF.js tail itself');
    tf.dispose([actual, expected]);
    const { result: again, log: log2 } = await captureConsole(() => engine.predict(inputs));
    again.dispose();
    assert.deepEqual(log2, [], 'the note is printed once; conversion is not tried again');
    assert.deepEqual(engine.stats, { onnxRuns: 0, tfjsRuns: 2, builds: 0 });
    assert.equal(tf.memory().numTensors, before);
  } finally {
    engine.dispose();
    tf.dispose(inputs);
    model.dispose();
  }
});

test('predictIterator and evaluate predict the tail on ONNX Runtime, like TF.js; accelerate: false and TRANSFERLAB_ACCELERATE=0 keep it on TF.js', async () => {
  const model = tinyModel('multi', 7);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const val = new ArraySource(12, 5, 8);
  const saved = process.env.TRANSFERLAB_ACCELERATE;
  try {
    const engine = sharedTailEngine(splitFrozenPrefix(model).tail);
    assert.equal(createSplitModelRunner(model, null, { accelerateTail: true }).tailEngine, engine, 'one shared engine per tail');
    assert.equal(createSplitModelRunner(model, null).tailEngine, null);
    const before = tf.memory().numTensors;
    const plain = await predictIterator(model, val, { accelerate: false });
    const plainLogs = await evaluate(model, val, { accelerate: false });
    assert.equal(engine.stats.onnxRuns, 0, 'accelerate: false');
    process.env.TRANSFERLAB_ACCELERATE = '0';
    await predictIterator(model, val);
    assert.equal(engine.stats.onnxRuns, 0, 'TRANSFERLAB_ACCELERATE=0');
    delete process.env.TRANSFERLAB_ACCELERATE;
    const fast = await predictIterator(model, val);
    assert.equal(engine.stats.onnxRuns, 3, 'one ONNX Runtime tail run per batch (12 samples in batches of 5)');
    const fastLogs = await evaluate(model, val);
    assert.equal(engine.stats.onnxRuns, 6);
    assert.deepEqual(fast.predictions, plain.predictions);
    const diff = Math.max(...fast.probabilities.flat().map((p, i) => Math.abs(p - (plain.probabilities.flat()[i] as number))));
    assert.ok(diff < 1e-4, `probabilities: max |ONNX − TF.js| = ${diff}`);
    assert.ok(Math.abs((fastLogs.loss as number) - (plainLogs.loss as number)) < 1e-4, `loss ${fastLogs.loss} vs ${plainLogs.loss}`);
    assert.equal(fastLogs.accuracy, plainLogs.accuracy);
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  } finally {
    if (saved === undefined) delete process.env.TRANSFERLAB_ACCELERATE;
    else process.env.TRANSFERLAB_ACCELERATE = saved;
    model.dispose();
  }
});

test('fit’s validation predicts the tail on ONNX Runtime, rebuilt after each epoch’s training', async () => {
  const model = tinyModel('multi', 8);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const train = new ArraySource(12, 6, 9);
  const val = new ArraySource(6, 6, 10);
  try {
    const history = await fit(model, train, { epochs: 3, verbose: 0, validationData: val, seed: 3 });
    const engine = sharedTailEngine(splitFrozenPrefix(model).tail);
    assert.deepEqual(engine.stats, { onnxRuns: 3, tfjsRuns: 0, builds: 3 });
    const logs = await evaluate(model, val, { accelerate: false });
    const last = (history.history.val_loss as number[])[2] as number;
    assert.ok(Math.abs(last - (logs.loss as number)) < 1e-4, `last val_loss ${last} vs TF.js ${logs.loss}`);
  } finally {
    model.dispose();
  }
});

test('over a folder, the cut tensors go from the ONNX prefix to the ONNX tail as arrays (cold, warm and partly cached), with TF.js’s predictions', async () => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-tail-'));
  const model = tinyModel('multi', 11);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
  const engine = await createOnnxPrefixEngine(prefix, { threads: 1, cache: createFeatureCache() });
  try {
    const files: string[] = [];
    for (let i = 0; i < 10; i++) {
      const file = path.join(dir, `class_${i % 3}`, `img_${i}.png`);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await sharp({ create: { width: 9, height: 10, channels: 3, background: { r: 25 * i, g: 250 - 20 * i, b: 9 * i } } }).png().toFile(file);
      files.push(file);
    }
    const flow = () => new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(dir, { targetSize: [8, 8], batchSize: 4, shuffle: false, workers: 0, verbose: false });
    const expected = await predictIterator(model, flow(), { accelerate: false });
    const expectedLogs = await evaluate(model, flow(), { accelerate: false });
    const calls = { tensors: 0, data: 0, mapped: 0 };
    const predictPixels = engine.predictPixels.bind(engine);
    const predictPixelsData = engine.predictPixelsData.bind(engine);
    const predictPixelsMapped = engine.predictPixelsMapped.bind(engine);
    engine.predictPixels = (batch, meta) => { calls.tensors++; return predictPixels(batch, meta); };
    engine.predictPixelsData = (batch, meta) => { calls.data++; return predictPixelsData(batch, meta); };
    engine.predictPixelsMapped = (batch, meta, map) => { calls.mapped++; return predictPixelsMapped(batch, meta, map); };
    const tail = sharedTailEngine(splitFrozenPrefix(model).tail);
    const runsBefore = tail.stats.onnxRuns;
    const before = tf.memory().numTensors;
    const cold = await predictIterator(model, flow(), { prefixEngine: engine });
    const warm = await predictIterator(model, flow(), { prefixEngine: engine });
    const st = fs.statSync(files[5] as string);
    fs.utimesSync(files[5] as string, st.atime, new Date(st.mtimeMs + 5000)); // one file changed: its batch mixes cached and computed samples
    const missesBefore = engine.cache?.stats.misses ?? 0;
    const mixed = await predictIterator(model, flow(), { prefixEngine: engine });
    assert.equal((engine.cache?.stats.misses ?? 0) - missesBefore, 1, 'only the changed file is computed');
    const logs = await evaluate(model, flow(), { prefixEngine: engine });
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.deepEqual(calls, { tensors: 0, data: 0, mapped: 12 }, '3 batches × 4 passes, all as arrays, the tail run in the batch stage');
    // Cold batches run the tail once per ONNX Runtime chunk (a batch of 4 may come in chunks of 2); warm and mixed ones once per batch.
    const runs = tail.stats.onnxRuns - runsBefore;
    assert.ok(runs >= 12 && runs <= 3 + 3 + 3 + 6, `tail runs: ${runs}`);
    for (const [name, result] of [['cold', cold], ['warm', warm], ['mixed', mixed]] as const) {
      assert.deepEqual(result.filepaths, expected.filepaths);
      assert.deepEqual(result.predictions, expected.predictions, name);
      const diff = Math.max(...result.probabilities.flat().map((p, i) => Math.abs(p - (expected.probabilities.flat()[i] as number))));
      assert.ok(diff < 1e-4, `${name}: max |ONNX − TF.js| = ${diff}`);
    }
    assert.ok(Math.abs((logs.loss as number) - (expectedLogs.loss as number)) < 1e-4, `loss ${logs.loss} vs ${expectedLogs.loss}`);
  } finally {
    engine.dispose();
    model.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});
