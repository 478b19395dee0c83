import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { tinyModel } from './helpers';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('splits a branched model across two tensors and prefix + tail reproduce the full model', () => {
  const model = tinyModel('multi');
  const split = splitFrozenPrefix(model);
  assert.ok(split.prefix);
  // input, c1, bn1, act1 (no weights), c2, c3a
  assert.equal(split.prefixLayerCount, 6);
  assert.equal(split.cutTensors.length, 2);
  assert.equal(split.tail.inputs.length, 2);
  assert.deepEqual(split.tail.layers.map((l) => l.name).filter((n) => !n.includes('_cut_')), ['c3b', 'mixed', 'gap', 'bn2', 'predictions']);
  // Shared layers: the tail trains the original model's weights.
  assert.equal(split.tail.getLayer('predictions'), model.getLayer('predictions'));
  const x = tf.randomUniform([5, 8, 8, 3], 0, 1, 'float32', 3);
  const before = tf.memory().numTensors;
  const [full, viaSplit] = tf.tidy(() => {
    const f = model.predict(x) as tf.Tensor;
    const cut = split.prefix!.predict(x) as tf.Tensor[];
    return [f, split.tail.predict(cut) as tf.Tensor];
  });
  assert.ok(maxAbsDiff(full, viaSplit) < 1e-6);
  tf.dispose([full, viaSplit]);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

test('returns the same split on repeated calls and a new one when the frozen pattern changes', () => {
  const model = tinyModel('multi');
  const a = splitFrozenPrefix(model);
  assert.equal(splitFrozenPrefix(model), a);
  model.getLayer('c3b').trainable = false;
  const b = splitFrozenPrefix(model);
  assert.notEqual(b, a);
  // The weightless concat and pooling join the prefix: the cut is the pooled vector.
  assert.equal(b.cutTensors.length, 1);
  assert.match(b.cutTensors[0], /^gap\//);
  assert.equal(b.prefixLayerCount, 9);
  assert.deepEqual(b.tail.layers.map((l) => l.name).filter((n) => !n.includes('_cut_')), ['bn2', 'predictions']);
});

test('gives no prefix when nothing leading is frozen, and honours minLayers', () => {
  const model = tinyModel('none');
  const split = splitFrozenPrefix(model);
  assert.equal(split.prefix, null);
  assert.equal(split.tail, model);
  assert.equal(split.prefixLayerCount, 0);
  const frozen = tinyModel('multi');
  assert.equal(splitFrozenPrefix(frozen, { minLayers: 10 }).prefix, null);
  assert.throws(() => splitFrozenPrefix(frozen, { minLayers: 1.5 }), /Expected non-negative integer for minLayers but received 1.5 of type number/);
});

test('splits a sequential model with a frozen base', () => {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 6, activation: 'relu', trainable: false }),
      tf.layers.dense({ units: 5, activation: 'relu', trainable: false }),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  const split = splitFrozenPrefix(model);
  assert.ok(split.prefix);
  assert.equal(split.cutTensors.length, 1);
  const x = tf.randomNormal([3, 4], 0, 1, 'float32', 5);
  const d = tf.tidy(() => maxAbsDiff(model.predict(x) as tf.Tensor, split.tail.predict(split.prefix!.predict(x) as tf.Tensor) as tf.Tensor));
  assert.ok(d < 1e-6);
  x.dispose();
});

test('disposing a model frees its tail weights too, after splits for two frozen patterns', () => {
  const before = tf.memory().numTensors;
  const model = tinyModel('multi');
  splitFrozenPrefix(model);
  model.getLayer('c3b').trainable = false;
  splitFrozenPrefix(model);
  model.dispose();
  assert.equal(tf.memory().numTensors, before, 'the split re-applies tail layers without owning them');
});

test('Dropout never joins the frozen prefix (it drops units under fit even when frozen or weightless, as in Keras)', () => {
  const input = tf.input({ shape: [4] });
  const frozen = tf.layers.dense({ units: 6, trainable: false, name: 'frozen' }).apply(input) as tf.SymbolicTensor;
  const dropped = tf.layers.dropout({ rate: 0.5, name: 'drop', trainable: false }).apply(frozen) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 2, name: 'head' }).apply(dropped) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  const split = splitFrozenPrefix(model);
  assert.equal(split.prefixLayerCount, 2, 'input and the frozen dense; the dropout trains in the tail');
  assert.match(split.cutTensors[0], /^frozen\//);
  assert.ok(split.tail.layers.some((l) => l.name === 'drop'));
  const leading = tf.sequential({ layers: [tf.layers.dropout({ inputShape: [4], rate: 0.5 }), tf.layers.dense({ units: 2 })] });
  assert.equal(splitFrozenPrefix(leading).prefix, null, 'a leading Dropout: nothing to split off');
  model.dispose();
  leading.dispose();
});
