import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignClassIndices, describeClassMismatch } from '../../src/preprocessing/class-alignment';

const train = {
  'adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib': 0,
  'large.cell.carcinoma_left.hilum_T2_N2_M0_IIIa': 1,
  normal: 2,
  'squamous.cell.carcinoma_left.hilum_T1_N2_M0_IIIa': 3,
};
const test_ = { adenocarcinoma: 0, 'large.cell.carcinoma': 1, normal: 2, 'squamous.cell.carcinoma': 3 };

test('prefix alignment pairs the chest-CT test folders with the train folders and prints a table', () => {
  const a = alignClassIndices(train, test_);
  assert.deepEqual(Array.from(a.otherToReference), [0, 1, 2, 3]);
  assert.equal(a.sameIndices, true);
  assert.equal(a.identical, false);
  assert.deepEqual(a.pairs[0], { other: 'adenocarcinoma', otherIndex: 0, reference: 'adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib', referenceIndex: 0 });
  assert.match(a.table.split('\n')[1], /^adenocarcinoma\s+0\s+→\s+adenocarcinoma_left\.lower\.lobe_T2_N0_M0_Ib\s+0$/);
});

test('position alignment pairs by index and refuses different class counts', () => {
  assert.deepEqual(Array.from(alignClassIndices(train, test_, { by: 'position' }).otherToReference), [0, 1, 2, 3]);
  assert.throws(() => alignClassIndices(train, { a: 0 }, { by: 'position' }), RangeError);
});

test('an explicit mapping relabels, and unmatched classes are reported', () => {
  const a = alignClassIndices({ cat: 0, dog: 1 }, { dogs: 0, cats: 1, birds: 2 }, { by: { dogs: 'dog', cats: 'cat' } });
  assert.deepEqual(Array.from(a.otherToReference), [1, 0, -1]);
  assert.deepEqual(a.unmatchedOther, ['birds']);
  assert.equal(a.sameIndices, false);
  assert.throws(() => alignClassIndices({ cat: 0 }, { x: 0 }, { by: { x: 'horse' } }), /horse/);
});

test('describeClassMismatch says nothing for identical sets and warns, with the table, when they differ', () => {
  assert.equal(describeClassMismatch({ a: 0, b: 1 }, { a: 0, b: 1 }), null);
  const w = describeClassMismatch(train, test_, ['train', 'test']);
  assert.ok(w !== null && w.startsWith('Warning: the class folders of test differ from those of train'));
  assert.match(w as string, /same index/);
  const swapped = describeClassMismatch({ a: 0, b: 1 }, { b: 0, a: 1 }) as string;
  assert.match(swapped, /DIFFERENT indices/);
});
