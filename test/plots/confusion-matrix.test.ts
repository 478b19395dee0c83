import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayConfusionMatrix, renderTable } from '../../src/plots';
import { checkWellFormed } from './xml-check';

test('the confusion matrix html, svg and text contain every cell value and class name', () => {
  const matrix = [[50, 3, 2, 1], [4, 80, 6, 0], [1, 2, 40, 7], [0, 0, 3, 51]];
  const names = ['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma'];
  const out = displayConfusionMatrix(matrix, names, { title: 'Validation', show: false });
  checkWellFormed(out.svg);
  for (const row of matrix) {
    for (const v of row) {
      assert.match(out.html, new RegExp(`>${v}</td>`));
      assert.match(out.svg, new RegExp(`>${v}</text>`));
    }
  }
  for (const n of names) {
    assert.ok(out.html.includes(n) && out.svg.includes(n) && out.text.includes(n));
  }
  const lines = out.text.split('\n');
  assert.equal(lines[0], 'Validation (rows: true, columns: predicted)');
  assert.deepEqual(lines[3]!.trim().split(/\s+/), ['large.cell.carcinoma', '4', '80', '6', '0']);
  // The diagonal is shaded darkest (white text).
  assert.match(out.html, /color:#ffffff;text-align:right;padding:4px 10px">80</);
});

test('displayConfusionMatrix rejects a non-square matrix', () => {
  assert.throws(() => displayConfusionMatrix([[1, 2]], ['a'], { show: false }), /square array of arrays of finite numbers for matrix/);
  assert.throws(() => displayConfusionMatrix([[1]], ['a', 'b'], { show: false }), { message: "Expected array of 1 class names for classNames but received ['a', 'b'] of type array" });
});

test('tables render as escaped html and aligned text', () => {
  const t = renderTable([['<normal>', 54], ['squamous', 90.5]], ['class', 'images']);
  assert.match(t.html, /<th>class<\/th><th>images<\/th>/);
  assert.match(t.html, /&lt;normal&gt;/);
  assert.match(t.html, /<td style="text-align:right">90.5<\/td>/);
  assert.equal(t.text, ['class     images', '--------  ------', '<normal>      54', 'squamous    90.5'].join('\n'));
});
