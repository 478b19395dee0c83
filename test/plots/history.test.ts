import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plotHistory } from '../../src/plots';
import { elements } from './xml-check';

const record = {
  loss: [0.9, 0.6, 0.4],
  val_loss: [1.0, 0.7, 0.65],
  acc: [0.5, 0.7, 0.8],
  val_acc: [0.45, 0.6, 0.7],
};

test('plotHistory makes one figure per metric with the metric and its validation twin', () => {
  const figs = plotHistory(record, { show: false });
  assert.equal(figs.length, 2);
  const [loss, acc] = figs as [typeof figs[0], typeof figs[0]];
  assert.deepEqual(loss.data.map((t) => t.name), ['loss', 'val_loss']);
  assert.deepEqual(loss.data[0]!.y, [0.9, 0.6, 0.4]);
  assert.deepEqual(loss.data[1]!.y, [1.0, 0.7, 0.65]);
  assert.deepEqual(loss.data[0]!.x, [1, 2, 3]);
  assert.equal(loss.layout.title.text, 'Loss');
  assert.equal(loss.layout.xaxis.title.text, 'Epoch');
  // tfjs names accuracy 'acc'; the figure still says accuracy.
  assert.deepEqual(acc.data.map((t) => t.name), ['accuracy', 'val_accuracy']);
  assert.deepEqual(acc.data[1]!.y, [0.45, 0.6, 0.7]);
  assert.equal(elements(acc.svg, 'polyline').length, 2);
});

test('plotHistory reads a tfjs History and numbers epochs from its epoch array', () => {
  const figs = plotHistory({ history: { loss: [0.5, 0.4], val_loss: [0.6, 0.5] }, epoch: [3, 4] }, { metrics: ['loss'], title: 'Fine-tuning', show: false });
  assert.equal(figs.length, 1);
  assert.deepEqual(figs[0]!.data[0]!.x, [4, 5]);
  assert.equal(figs[0]!.layout.title.text, 'Fine-tuning — loss');
});

test('a missing metric is skipped with a warning listing what is available', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.message); };
  process.on('warning', onWarning);
  try {
    const figs = plotHistory({ loss: [1, 0.5] }, { show: false });
    assert.equal(figs.length, 1);
    assert.deepEqual(figs[0]!.data.map((t) => t.name), ['loss']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings, ["plotHistory: no 'accuracy' in history; available: loss"]);
  } finally {
    process.off('warning', onWarning);
  }
});

test('plotHistory rejects histories without any requested metric and non-numeric values', () => {
  assert.throws(() => plotHistory({ lr: [0.1] }, { metrics: ['mae'], show: false }),
    { message: "Expected metrics present in history (available: lr) for metrics but received ['mae'] of type array" });
  assert.throws(() => plotHistory({ loss: ['a'] as unknown as number[] }, { show: false }), /array of numbers \(call dataSync\(\) on tensors first\) for history\.loss/);
});
