import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLOAT_POOL_BYTES, floatPoolBytes, recycleFloat32, takeFloat32 } from '../../src/util/float-pool';

test('the float pool hands a recycled array back for the same length only, ignores views, and stays under its byte bound', () => {
  const start = floatPoolBytes();
  const a = takeFloat32(1000);
  a.fill(7);
  recycleFloat32(a);
  assert.equal(floatPoolBytes(), start + 4000);
  assert.notEqual(takeFloat32(999), a, 'another length gets a new array');
  const again = takeFloat32(1000);
  assert.equal(again, a, 'the spare of that length');
  assert.equal(again[0], 7, 'with its old contents: takers overwrite every element');
  assert.equal(floatPoolBytes(), start);
  recycleFloat32(again);
  recycleFloat32(again);
  assert.equal(floatPoolBytes(), start + 4000, 'an array is kept once');
  assert.equal(takeFloat32(1000), a);

  const big = new Float32Array(64);
  recycleFloat32(big.subarray(8));
  recycleFloat32(new Float32Array(0));
  assert.equal(floatPoolBytes(), start, 'views and empty arrays are not kept');

  const quarter = FLOAT_POOL_BYTES / 4 / 4;
  const arrays = Array.from({ length: 6 }, () => new Float32Array(quarter));
  arrays.forEach(recycleFloat32);
  assert.ok(floatPoolBytes() <= FLOAT_POOL_BYTES);
  assert.notEqual(takeFloat32(quarter), arrays[0], 'the oldest spares went first');
  while (floatPoolBytes() > 0) takeFloat32(quarter);
});
