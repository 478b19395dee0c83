import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plotHistory, type Figure } from '../../src/plots';
import { checkWellFormed, elements } from './xml-check';

/** Tick labels of the y axis (right-aligned texts) and every text of an SVG, in order. */
const yTicks = (svg: string): string[] => [...svg.matchAll(/<text[^>]*text-anchor="end"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);
const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);

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

test('accuracy axes run from 0 to 1 by default, so a flat curve near a baseline looks flat, in plotly and in the SVG', () => {
  const flat = { loss: [1.3863, 1.3862, 1.3861], val_loss: [1.3863, 1.3863, 1.3863], accuracy: [0.318, 0.319, 0.318], val_accuracy: [0.319, 0.319, 0.319] };
  const [loss, acc] = plotHistory(flat, { show: false }) as [Figure, Figure];
  assert.deepEqual(acc.layout.yaxis.range, [0, 1]);
  const labels = yTicks(acc.svg);
  assert.deepEqual(labels, ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0'], 'the static image has the same fixed axis');
  assert.equal(loss.layout.yaxis.range, undefined, 'loss stays fitted to the data unless asked');
  // null switches the fixed axis off; a given range is widened by data outside it.
  const [free] = plotHistory(flat, { metrics: ['accuracy'], yRange: { accuracy: null }, show: false }) as [Figure];
  assert.equal(free.layout.yaxis.range, undefined);
  const [wide] = plotHistory(flat, { metrics: ['loss'], yRange: { loss: [0, 1] }, show: false }) as [Figure];
  assert.deepEqual(wide.layout.yaxis.range, [0, 1.3863]);
  checkWellFormed(wide.svg);
});

test('reference lines (majority class, chance, the loss of a uniform guess) are dashed, named traces in both renderings', () => {
  const references = {
    accuracy: [{ name: 'majority class 31.9%', y: 0.319 }, { name: 'chance 25.0%', y: 0.25 }],
    loss: [{ name: 'uniform guess (ln 4)', y: Math.log(4) }],
  };
  const [loss, acc] = plotHistory(record, { show: false, references, yRange: { loss: [0, Math.log(4)] } }) as [Figure, Figure];
  assert.deepEqual(acc.data.map((t) => t.name), ['accuracy', 'val_accuracy', 'majority class 31.9%', 'chance 25.0%']);
  const majority = acc.data[2]!;
  assert.deepEqual([majority.mode, majority.line.dash, majority.x, majority.y], ['lines', 'dash', [1, 3], [0.319, 0.319]]);
  assert.deepEqual(loss.data.map((t) => t.name), ['loss', 'val_loss', 'uniform guess (ln 4)']);
  assert.deepEqual(loss.layout.yaxis.range, [0, Math.log(4)]);
  for (const fig of [acc, loss]) {
    checkWellFormed(fig.svg);
    const dashed = elements(fig.svg, 'polyline').filter((p) => p['stroke-dasharray'] === '6 4');
    assert.equal(dashed.length, fig.data.length - 2, 'one dashed line per reference');
    const legend = texts(fig.svg);
    for (const r of fig.data.slice(2)) assert.ok(legend.includes(r.name), `legend names ${r.name}`);
  }
  // The ln 4 line sits at 1.386 on an axis from 0 to 1.5.
  const lossLabels = yTicks(loss.svg);
  assert.deepEqual([lossLabels[0], lossLabels.at(-1)], ['0.0', '1.5']);
});

test('a single epoch still shows its reference lines, and malformed references or ranges are refused', () => {
  const [acc] = plotHistory({ accuracy: [0.3], val_accuracy: [0.31] }, { show: false, references: { accuracy: [{ name: 'chance', y: 0.25 }] } }) as [Figure];
  assert.equal(acc.data[2]!.mode, 'lines+markers');
  assert.throws(() => plotHistory(record, { show: false, references: { loss: [{ name: 'x', y: Number.NaN }] } }),
    { message: 'Expected finite number for references[0].y but received NaN of type number' });
  assert.throws(() => plotHistory(record, { show: false, yRange: { loss: [1, 0] } }),
    { message: 'Expected [min, max] with finite min < max for yRange but received [1, 0] of type array' });
});
