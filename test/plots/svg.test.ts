import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figure, lineChart, niceTicks, formatTick, renderSvg } from '../../src/plots';
import { checkWellFormed, elements } from './xml-check';

test('niceTicks covers the data with round steps', () => {
  assert.deepEqual(niceTicks(0.13, 0.92), { min: 0, max: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] });
  const t = niceTicks(1, 8, 7, true);
  assert.equal(t.step, 1);
  assert.deepEqual(t.values, [1, 2, 3, 4, 5, 6, 7, 8]);
  const flat = niceTicks(3, 3);
  assert.ok(flat.min < 3 && flat.max > 3, 'a constant series still gets a range');
  assert.equal(formatTick(0.30000000000000004, 0.1), '0.3');
  assert.equal(formatTick(-0.0000001, 0.25), '0.00');
});

test('a line chart renders a well-formed SVG with one polyline per series and a legend', () => {
  const fig = lineChart(
    [{ name: 'loss', y: [1.2, 0.8, 0.6, 0.5] }, { name: 'val_loss', y: [1.1, 0.9, 0.7, 0.72] }],
    { title: 'Loss & friends', xLabel: 'Epoch', yLabel: 'Loss' },
  );
  const tags = checkWellFormed(fig.svg);
  assert.equal(tags[0], 'svg');
  const lines = elements(fig.svg, 'polyline');
  assert.equal(lines.length, 2);
  for (const line of lines) assert.equal((line.points as string).trim().split(/\s+/).length, 4);
  assert.equal(lines[0]!.stroke, '#1f77b4');
  assert.equal(lines[1]!.stroke, '#ff7f0e');
  assert.equal(elements(fig.svg, 'circle').length, 4 + 4 + 2, 'markers per point plus one per legend item');
  assert.match(fig.svg, />loss<\/text>/);
  assert.match(fig.svg, />val_loss<\/text>/);
  assert.match(fig.svg, />Loss &amp; friends<\/text>/);
  assert.match(fig.svg, /rotate\(-90/);
});

test('points are placed inside the plot area, higher values higher up', () => {
  const fig = lineChart([{ name: 'a', y: [0, 10] }], { width: 400, height: 300 });
  const pts = (elements(fig.svg, 'polyline')[0]!.points as string).split(' ').map((p) => p.split(',').map(Number));
  for (const [x, y] of pts) {
    assert.ok(x! > 0 && x! < 400 && y! > 0 && y! < 300);
  }
  assert.ok(pts[1]![1]! < pts[0]![1]!, 'y=10 is above y=0');
  assert.ok(pts[1]![0]! > pts[0]![0]!);
});

test('NaN values leave a gap instead of breaking the chart', () => {
  const fig = lineChart([{ name: 'a', y: [1, 2, Number.NaN, 3, 4] }]);
  checkWellFormed(fig.svg);
  const lines = elements(fig.svg, 'polyline');
  assert.equal(lines.length, 2);
  assert.doesNotMatch(fig.svg, /NaN/);
});

test('figure() fills layout defaults and keeps plotly.js JSON fields', () => {
  const fig = figure([{ type: 'scatter', mode: 'markers', name: 'p', x: [1, 2], y: [3, 4], line: { color: '#000' }, marker: { color: '#000', size: 8 } }]);
  assert.equal(fig.layout.width, 640);
  assert.equal(fig.layout.height, 400);
  assert.equal(fig.data[0]!.type, 'scatter');
  assert.equal(elements(fig.svg, 'polyline').length, 0, 'markers only');
  assert.equal(renderSvg(fig), fig.svg);
});

test('lineChart rejects bad series with the standard message', () => {
  assert.throws(() => lineChart([]), { message: 'Expected non-empty array of series for series but received [] of type array' });
  assert.throws(() => lineChart([{ name: 'a', y: [1, 2], x: [1] }]), {
    message: "Expected array of 2 numbers (the length of y) for series[0].x but received [1] of type array",
  });
  assert.throws(() => lineChart([{ name: 'a', y: [1] }], { width: 10 }), /integer between 200 and 4000 for width/);
});
