import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRandom, deriveSeed } from '../../src/util/random';
import { checkInteger, invalidParameterError } from '../../src/util/validate';

test('the same seed gives the same sequence and a different seed a different one', () => {
  const a = createRandom(7);
  const b = createRandom(7);
  const c = createRandom(8);
  const sa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.next()));
  assert.ok(sa.every((v) => v >= 0 && v < 1));
});

test('shuffle is a permutation and leaves its input untouched', () => {
  const items = [1, 2, 3, 4, 5, 6, 7, 8];
  const shuffled = createRandom(1).shuffle(items);
  assert.deepEqual([...shuffled].sort((x, y) => x - y), items);
  assert.deepEqual(items, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('derived seeds differ per counter', () => {
  assert.notEqual(deriveSeed(1, 0), deriveSeed(1, 1));
  assert.equal(deriveSeed(3, 4), deriveSeed(3, 4));
});

test('validation errors say what was expected and what was received', () => {
  assert.equal(invalidParameterError('width', 'positive integer', 1.5).message, 'Expected positive integer for width but received 1.5 of type number');
  assert.throws(() => checkInteger('batchSize', 0, 1), /Expected positive integer for batchSize but received 0 of type number/);
});
