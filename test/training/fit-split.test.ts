// FitArgs.split (issue 12): `split: false` differentiates the whole graph, as TF.js's own
// model.fit does; frozen layers are still not updated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fit } from '../../src/training/fit';
import { TrainingError } from '../../src/training/errors';
import type { Batch, BatchSource, PrefixEngine } from '../../src/training/types';
import { createRandom } from '../../src/util/random';

const SAMPLES = 8;
const BATCH = 4;

/** input[6] → base (frozen) → first (trainable) → mid (frozen) → head (trainable, softmax 3). */
function chainModel(): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: 40 + s });
  const input = tf.input({ shape: [6], name: 'x' });
  let h = tf.layers.dense({ units: 5, activation: 'tanh', name: 'base', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 5, activation: 'tanh', name: 'first', kernelInitializer: init(2) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.dense({ units: 4, activation: 'tanh', name: 'mid', kernelInitializer: init(3) }).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'head', kernelInitializer: init(4) }).apply(h) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.getLayer('base').trainable = false;
  model.getLayer('mid').trainable = false;
  model.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
  return model;
}

function data(): { x: number[][]; y: number[] } {
  const rng = createRandom(5);
  const x = Array.from({ length: SAMPLES }, () => Array.from({ length: 6 }, () => rng.uniform(-1, 1)));
  return { x, y: x.map((_, i) => i % 3) };
}

/** The same samples in order, BATCH at a time (what model.fit with shuffle: false draws). */
function source(): BatchSource {
  const { x, y } = data();
  let index = 0;
  return {
    length: Math.ceil(SAMPLES / BATCH),
    reset: () => (index = 0),
    async next(): Promise<Batch> {
      const start = index * BATCH;
      index = (index + 1) % Math.ceil(SAMPLES / BATCH);
      const rows = x.slice(start, start + BATCH);
      return { xs: tf.tensor2d(rows), ys: tf.tidy(() => tf.oneHot(tf.tensor1d(y.slice(start, start + BATCH), 'int32'), 3).toFloat()) };
    },
  };
}

function weights(model: tf.LayersModel): Record<string, Float32Array> {
  return Object.fromEntries(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
  assert.ok(worst < 1e-5, `${what} differs by ${worst}`);
}

test("split: false trains the whole graph exactly as TF.js's model.fit: a trainable layer before a frozen one learns through it, frozen layers stay put", async () => {
  const ours = chainModel();
  const theirs = chainModel();
  const before = weights(ours);
  const history = await fit(ours, source(), { epochs: 2, verbose: 0, split: false });
  const { x, y } = data();
  const xs = tf.tensor2d(x);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), 3).toFloat());
  try {
    await theirs.fit(xs, ys, { epochs: 2, batchSize: BATCH, shuffle: false, verbose: 0 });
  } finally {
    tf.dispose([xs, ys]);
  }
  assert.equal(history.params?.split, 'no frozen prefix: the whole model trains under the tape');
  const after = weights(ours);
  const reference = weights(theirs);
  for (const name of Object.keys(before)) {
    const layer = name.split('/')[0];
    if (layer === 'base' || layer === 'mid') assert.deepEqual(after[name], before[name], `${name} is frozen`);
    else assert.notDeepEqual(after[name], before[name], `${name} should learn`);
    assertClose(after[name], reference[name], name);
  }
});

test('split: true (the default) cuts the frozen prefix off and reaches the same weights', async () => {
  const whole = chainModel();
  const cut = chainModel();
  await fit(whole, source(), { epochs: 2, verbose: 0, split: false });
  const history = await fit(cut, source(), { epochs: 2, verbose: 0, accelerate: false });
  assert.match(String(history.params?.split), /^frozen prefix of 2 layers on TF\.js \(inference mode\); tail of 3 layers trains/);
  const a = weights(whole);
  const b = weights(cut);
  for (const name of Object.keys(a)) assertClose(a[name], b[name], name);
});

test('split: false with a prefixEngine is refused before any work, naming the engine', async () => {
  const model = chainModel();
  const engine: PrefixEngine = { predict: async () => [], describe: () => 'test engine', dispose: () => {} };
  await assert.rejects(fit(model, source(), { verbose: 0, split: false, prefixEngine: engine }), (e: unknown) => {
    assert.ok(e instanceof TrainingError);
    assert.equal(e.message, 'Expected either split: false or a prefixEngine, but received both: split: false differentiates the whole graph, so there is no frozen prefix for test engine to run. Drop prefixEngine, or drop split: false.');
    return true;
  });
});
