import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { freezeAllBut, freezeLayers, setTrainable } from '../../src/training/freeze';
import { batchNormalization } from '../../src/layers';
import { InceptionV3 } from '../../src/applications';

function small(): tf.LayersModel {
  const input = tf.input({ shape: [3] });
  let x = tf.layers.dense({ units: 4, name: 'dense', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = batchNormalization({ name: 'batch_normalization' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, activation: 'softmax', name: 'dense_1', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

test('freezing after compile takes effect in the next fit: frozen kernels and BN statistics stay, the rest trains', async () => {
  await tf.setBackend('cpu');
  const model = small();
  const xs = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 0, 1]]);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
  try {
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
    const result = freezeAllBut(model, 1);
    assert.deepEqual(result, { frozen: 3, trainable: 1 });
    assert.deepEqual(model.layers.map((l) => l.trainable), [false, false, false, true]);
    const snapshot = (name: string) => model.getLayer(name).getWeights().map((t) => Array.from(t.dataSync()));
    const dense = snapshot('dense');
    const bn = snapshot('batch_normalization');
    const head = snapshot('dense_1');
    await model.fit(xs, ys, { epochs: 2, batchSize: 2, verbose: 0 });
    assert.deepEqual(snapshot('dense'), dense);
    assert.deepEqual(snapshot('batch_normalization'), bn);
    assert.notDeepEqual(snapshot('dense_1'), head);
  } finally {
    model.dispose();
    tf.dispose([xs, ys]);
  }
});

test('freezeLayers stops at a named layer (inclusive) or an index (exclusive, as [:249]), and setTrainable flips layers', async () => {
  await tf.setBackend('cpu');
  const model = await InceptionV3({ includeTop: false, weights: null, inputShape: [75, 75, 3] });
  try {
    assert.deepEqual(freezeLayers(model, { upTo: 'mixed8' }), { frozen: 249, trainable: 62 });
    assert.equal(model.getLayer('mixed8').trainable, false);
    assert.equal(model.getLayer('conv2d_80').trainable, true);
    assert.deepEqual(freezeLayers(model, { upTo: 249 }), { frozen: 249, trainable: 62 });
    assert.deepEqual(freezeLayers(model, { upTo: 'mixed8', inclusive: false }), { frozen: 248, trainable: 63 });
    assert.throws(() => freezeLayers(model, { upTo: 'mixed11' }), /Expected the name of a layer of inception_v3 \(e\.g\. mixed0, .*\) for upTo but received 'mixed11'/);
    assert.throws(() => freezeAllBut(model, 400), /Expected integer between 0 and 311 for count but received 400/);
    setTrainable(model, true);
    assert.ok(model.layers.every((l) => l.trainable));
    setTrainable(model.layers.slice(0, 10), false, model);
    assert.equal(model.layers.filter((l) => !l.trainable).length, 10);
  } finally {
    model.dispose();
  }
});
