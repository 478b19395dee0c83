import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { freezeAllBut } from '../../src/training/freeze';
import { countParams, summary } from '../../src/training/summary';
import { walkthroughModel } from './walkthrough-model';

test('summarizes the walkthrough model with Keras totals: 23,116,580 params, BN moving statistics non-trainable', async () => {
  await tf.setBackend('cpu');
  const model = await walkthroughModel();
  try {
    assert.equal(model.layers.length, 318);
    const lines: string[] = [];
    const text = summary(model, { print: (l) => lines.push(l) });
    assert.equal(text, lines.join('\n'));
    assert.equal(lines[0], 'Model: "model"');
    assert.match(text, /Total params: 23,116,580 \(88\.18 MB\)/);
    assert.match(text, /Trainable params: 23,082,148 /);
    assert.match(text, /Non-trainable params: 34,432 /);
    assert.ok(lines.every((l) => l.length <= 98), 'lines fit lineLength 98');
    assert.match(text, /^ input_layer \(InputLayer\)\s+\[\(None, 224, 224, 3\s+0\s+\[\]$/m);
    assert.match(text, /^ batch_normalization \(BatchNorm\s+\(None, 111, 111, 32\s+96\s+\['conv2d\[0\]\[0\]'\]$\n^ alization\)\s+\)$/m);
    assert.match(text, /^ dense_2 \(Dense\)\s+\(None, 4\)\s+2052\s+\['dropout_1\[0\]\[0\]'\]$/m);
    assert.match(text, /^ mixed10 \(Concatenate\)\s+\(None, 5, 5, 2048\)\s+0\s+\['activation_85\[0\]\[0\]',$/m);

    freezeAllBut(model, 15);
    const frozen = summary(model, { print: false });
    assert.match(frozen, /Total params: 23,116,580 /);
    assert.match(frozen, /Trainable params: 1,313,988 /);
    assert.match(frozen, /Non-trainable params: 21,802,592 /);
    assert.deepEqual(countParams(model), { total: 23116580, trainable: 1313988, nonTrainable: 21802592 });
  } finally {
    model.dispose();
  }
});

test('uses the sequential layout (three columns, 65 wide) for a chain of layers', () => {
  const model = tf.sequential({
    name: 'seq',
    layers: [tf.layers.dense({ units: 3, inputShape: [2], name: 'dense' }), tf.layers.dense({ units: 1, name: 'dense_1' })],
  });
  try {
    const text = summary(model, { print: false });
    const lines = text.split('\n');
    assert.equal(lines[1], '_'.repeat(65));
    assert.match(lines[2], /^ Layer \(type\)\s+Output Shape\s+Param #$/);
    assert.match(text, /^ dense \(Dense\)\s+\(None, 3\)\s+9$/m);
    assert.match(text, /Total params: 13 \(52\.00 Byte\)/);
    assert.throws(() => summary(model, { positions: [0.5, 1], print: false }), /Expected an array of 3 column edges for positions/);
  } finally {
    model.dispose();
  }
});
