import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gradCam, scoreHeatmaps } from '../../src/training/grad-cam';
import { TrainingError } from '../../src/training/errors';
import { PhantomNet } from '../../src/applications/phantom-net';

/**
 * x (2×2×1) → conv 1×1 with kernel [1, −1] (A₀ = x, A₁ = −x) → flatten → dense(2) with
 * class 0 weights: A₀ positions 1, A₁ positions 0 (gradient means α = [1, 0]);
 * class 1 weights: A₀ positions 1, A₁ positions [0, 12, 0, 0] (α = [1, 3]).
 */
function tinyModel(activation: 'linear' | 'softmax'): tf.LayersModel {
  const input = tf.input({ shape: [2, 2, 1] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, useBias: false, name: 'conv', weights: [tf.tensor4d([1, -1], [1, 1, 1, 2])] });
  const a = conv.apply(input) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(a) as tf.SymbolicTensor;
  // Flatten order: (y·2 + x)·2 + channel.
  const kernel = new Float32Array(8 * 2);
  for (let p = 0; p < 4; p++) {
    kernel[(p * 2 + 0) * 2 + 0] = 1; // class 0, channel 0
    kernel[(p * 2 + 0) * 2 + 1] = 1; // class 1, channel 0
  }
  kernel[(1 * 2 + 1) * 2 + 1] = 12; // class 1, channel 1, position (0, 1)
  const dense = tf.layers.dense({ units: 2, useBias: false, activation, weights: [tf.tensor2d(kernel, [8, 2])] });
  return tf.model({ inputs: input, outputs: dense.apply(flat) as tf.SymbolicTensor });
}

const x = () => tf.tensor4d([1, -2, 3, 0.5], [1, 2, 2, 1]);
const close = (actual: Float32Array, expected: number[]) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `value ${i}: ${v} vs ${expected[i]}`));
};

test('Grad-CAM by hand: channel weights are the mean gradients, the map is ReLU of their weighted sum scaled to max 1', async () => {
  const model = tinyModel('linear');
  const images = x();
  // Class 0: α = [1, 0] → relu(x) = [1, 0, 3, 0.5] → / 3.
  const c0 = await gradCam(model, images, { layerName: 'conv', classIndex: 0 });
  close(c0.heatmaps[0], [1 / 3, 0, 1, 0.5 / 3]);
  assert.deepEqual([c0.height, c0.width, c0.layerSize], [2, 2, [2, 2]]);
  // Class 1: α = [1, 3] → relu(x − 3x) = relu(−2x) = [0, 4, 0, 0] → / 4.
  const c1 = await gradCam(model, images, { layerName: 'conv', classIndex: [1] });
  close(c1.heatmaps[0], [0, 1, 0, 0]);
  // 'predicted': z = [Σx, Σx + 12·2] = [2.5, 26.5] → class 1; outputs are the model's.
  const p = await gradCam(model, images, { layerName: 'conv' });
  assert.deepEqual([...p.classIndices], [1]);
  close(p.outputs[0], [2.5, 26.5]);
  close(p.heatmaps[0], [0, 1, 0, 0]);
  // The default layer is the last 4-D non-pooling one: 'conv' here.
  assert.equal(p.layerName, 'conv');
  images.dispose();
  model.dispose();
});

test("Grad-CAM of a softmax model: 'logit' differentiates the centred logit, 'output' the probability; a map with nothing positive is empty", async () => {
  const model = tinyModel('softmax');
  const images = x();
  // Centred logit of class 0: (W₀ − W₁)/2 → α = [0, −1.5] → relu(1.5x) → same map as relu(x).
  close((await gradCam(model, images, { layerName: 'conv', classIndex: 0 })).heatmaps[0], [1 / 3, 0, 1, 0.5 / 3]);
  close((await gradCam(model, images, { layerName: 'conv', classIndex: 1 })).heatmaps[0], [0, 1, 0, 0]);
  // Probability of class 0: ∂p₀ = p₀p₁(W₀ − W₁), the same direction (two classes), scaled by
  // p₀p₁ ≈ e^-24: the normalised map is the same even though the gradient is tiny.
  close((await gradCam(model, images, { layerName: 'conv', classIndex: 0, score: 'output' })).heatmaps[0], [1 / 3, 0, 1, 0.5 / 3]);
  // A black image: A = 0 everywhere, so no map can be positive: empty, counted, all 0.
  const black = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
  const out = await gradCam(model, black, { layerName: 'conv' });
  assert.equal(out.emptyMaps, 2);
  assert.ok(out.heatmaps.every((m) => m.every((v) => v === 0)));
  black.dispose();
  images.dispose();
  model.dispose();
});

test('Grad-CAM on PhantomNet: maps at input resolution in [0, 1], batches of any size, no tensor left behind, clear errors', async () => {
  const model = await PhantomNet({ includeTop: true, weights: null, classes: 4, inputShape: [32, 32, 1], seed: 3 });
  const n = 5;
  const xs = new Float32Array(n * 32 * 32);
  for (let i = 0; i < xs.length; i++) xs[i] = ((i * 7919) % 101) / 100;
  const first = await gradCam(model, { xs, shape: [n, 32, 32, 1] }, { batchSize: 2 });
  const before = tf.memory().numTensors;
  const again = await gradCam(model, { xs, shape: [n, 32, 32, 1] }, { batchSize: 3 });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind by gradCam');
  assert.equal(first.layerName, 'block4_relu2');
  assert.deepEqual(first.layerSize, [4, 4]);
  assert.equal(first.heatmaps.length, n);
  for (let i = 0; i < n; i++) {
    assert.equal(first.heatmaps[i].length, 32 * 32);
    assert.ok(first.heatmaps[i].every((v) => v >= 0 && v <= 1));
    close(again.heatmaps[i], [...first.heatmaps[i]]);
    if (first.heatmaps[i].some((v) => v > 0)) assert.ok(Math.abs(Math.max(...first.heatmaps[i]) - 1) < 1e-6);
  }
  await assert.rejects(gradCam(model, { xs, shape: [n, 32, 32, 1] }, { layerName: 'nope' }), (e: unknown) => e instanceof TrainingError && /no layer|none/.test((e as Error).message) && /block4_relu2/.test((e as Error).message));
  await assert.rejects(gradCam(model, { xs, shape: [n, 32, 32, 1] }, { layerName: 'predictions' }), (e: unknown) => e instanceof TrainingError && /4-D|last layer/.test((e as Error).message));
  await assert.rejects(gradCam(model, { xs, shape: [n, 32, 32, 1] }, { classIndex: [0, 1] }), TypeError);
  model.dispose();
});

test('scoreHeatmaps: pointing game against box-area chance, heat inside vs outside, maps without a box skipped', () => {
  // 4×4 maps; box covers the 2×2 top-left block (share 4/16).
  const box = { x0: 0, y0: 0, x1: 2, y1: 2 };
  const hit = new Float32Array(16);
  hit[1 * 4 + 1] = 1; // peak at (1, 1): inside
  hit[3 * 4 + 3] = 0.5;
  const miss = new Float32Array(16);
  miss[2 * 4 + 2] = 1; // peak at (2, 2): outside
  const empty = new Float32Array(16);
  const s = scoreHeatmaps([hit, miss, empty, hit], 4, 4, [box, box, box, null]);
  assert.equal(s.images, 3);
  assert.equal(s.hits, 1);
  assert.equal(s.emptyMaps, 1);
  assert.ok(Math.abs(s.pointingGame - 1 / 3) < 1e-12);
  assert.ok(Math.abs(s.chance - 0.25) < 1e-12);
  assert.ok(Math.abs(s.meanInside - (1 / 4 + 0 + 0) / 3) < 1e-7);
  assert.ok(Math.abs(s.meanOutside - (0.5 / 12 + 1 / 12 + 0) / 3) < 1e-7);
  // Fractional box edges: a pixel counts when its centre is inside.
  const s2 = scoreHeatmaps([hit], 4, 4, [{ x0: 1.4, y0: 1.4, x1: 1.6, y1: 1.6 }]);
  assert.deepEqual([s2.hits, s2.chance], [1, 1 / 16]);
  assert.throws(() => scoreHeatmaps([hit], 4, 4, []), TypeError);
});

test('scoreHeatmaps with a tolerance widens every box for the hit, the chance level and the heat inside alike', () => {
  const map = new Float32Array(16);
  map[0 * 4 + 3] = 1; // peak at (3, 0), one pixel right of the box
  const box = { x0: 1, y0: 0, x1: 3, y1: 1 };
  const strict = scoreHeatmaps([map], 4, 4, [box]);
  assert.deepEqual([strict.hits, strict.chance], [0, 2 / 16]);
  const tolerant = scoreHeatmaps([map], 4, 4, [box], { tolerance: 1 });
  // Widened to x ∈ [0, 4), y ∈ [−1, 2): 8 pixels inside the image.
  assert.deepEqual([tolerant.hits, tolerant.chance], [1, 8 / 16]);
  assert.ok(Math.abs(tolerant.meanInside - 1 / 8) < 1e-7);
  assert.throws(() => scoreHeatmaps([map], 4, 4, [box], { tolerance: -1 }), TypeError);
});
