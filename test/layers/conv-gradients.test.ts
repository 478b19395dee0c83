import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { makeConvGradientsLazy } from '../../src/layers';

/** input [5, 5, 6] → 1×1 conv (linear, no bias) → 3×3 conv (bias, relu) → GAP → dense softmax. */
function convModel(): tf.LayersModel {
  const input = tf.input({ shape: [5, 5, 6] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 1, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', biasInitializer: tf.initializers.constant({ value: 0.1 }), kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

/** Loss and every trainable weight's gradient, and the names of the kernels the step ran. */
async function step(model: tf.LayersModel, xs: tf.Tensor, ys: tf.Tensor): Promise<{ loss: number; grads: Float32Array[]; kernels: string[] }> {
  let loss = 0;
  let grads: Float32Array[] = [];
  const info = await tf.profile(() => {
    tf.tidy(() => {
      const { value, grads: g } = tf.variableGrads(() => tf.mean(tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar);
      loss = value.dataSync()[0];
      grads = model.trainableWeights.map((w) => g[w.name].dataSync() as Float32Array);
    });
  });
  return { loss, grads, kernels: info.kernels.map((k) => k.name) };
}

test('makeConvGradientsLazy: same loss and gradients, and no input gradient for a convolution fed by the input', async () => {
  const xs = tf.randomNormal([3, 5, 5, 6], 0, 1, 'float32', 4);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 1], 'int32'), 2);
  const model = convModel();
  try {
    const before = await step(model, xs, ys);
    assert.equal(makeConvGradientsLazy(model), 2);
    assert.equal(makeConvGradientsLazy(model), 0, 'idempotent');
    const after = await step(model, xs, ys);
    assert.ok(Math.abs(after.loss - before.loss) < 1e-6);
    before.grads.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(after.grads[i][j] - v) < 1e-5, `weight ${i} element ${j}`)));
    // The fused op computed the first convolution's input gradient too; the lazy one only the second's.
    const count = (ks: string[], name: string): number => ks.filter((k) => k === name).length;
    assert.equal(count(before.kernels, 'Conv2DBackpropInput'), 2);
    assert.equal(count(after.kernels, 'Conv2DBackpropInput'), 1);
    assert.equal(count(after.kernels, 'Conv2DBackpropFilter'), 2);
    // Outside a tape the layer's own (fused) code runs, and nothing leaks.
    const inference = await tf.profile(() => tf.tidy(() => (model.predict(xs) as tf.Tensor).dataSync()));
    assert.ok(inference.kernels.some((k) => k.name === 'FusedConv2D'));
    const tensors = tf.memory().numTensors;
    await step(model, xs, ys);
    assert.equal(tf.memory().numTensors, tensors);
  } finally {
    model.dispose();
    tf.dispose([xs, ys]);
  }
});
