import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { arraySource } from '../../src/training';
import type { BatchPlan } from '../../src/preprocessing';

function sourceOf(): ReturnType<typeof arraySource> {
  const n = 7;
  const xs = Float32Array.from({ length: n * 2 * 2 * 1 }, (_, i) => i);
  return arraySource({ xs, shape: [n, 2, 2, 1], labels: [0, 1, 2, 0, 1, 2, 0], numClasses: 3, batchSize: 3, seed: 5 });
}

test('arraySource: its planner hands out the stream next() yields, as pixels, across epochs', async () => {
  const a = sourceOf();
  const b = sourceOf();
  const planner = b.planner;
  assert.ok(planner, 'an array source is its own planner');
  assert.deepEqual(planner.imageShape, [2, 2, 1]);
  for (const epoch of [0, 1, 3]) {
    a.setEpoch?.(epoch, a.length);
    b.setEpoch?.(epoch, b.length);
    for (let step = 0; step < a.length; step++) {
      const batch = await a.next();
      const plan: BatchPlan = await planner.nextPlan();
      try {
        const sample = (key: string): string => key.replace(/^array\d+/, ''); // each source has its own key prefix
        assert.deepEqual(plan.filepaths.map(sample), batch.filepaths?.map(sample));
        const size = plan.filepaths.length;
        const pixels = await plan.load(Array.from({ length: size }, (_, i) => i));
        assert.deepEqual(Array.from(pixels), Array.from(batch.xs.dataSync()), `epoch ${epoch} step ${step}`);
        assert.deepEqual(plan.ys?.arraySync(), batch.ys?.arraySync());
        if (size > 1) {
          const last = await plan.load([size - 1]);
          assert.deepEqual(Array.from(last), Array.from(pixels.subarray((size - 1) * 4)));
        }
        await assert.rejects(plan.load([size]), RangeError);
      } finally {
        tf.dispose([batch.xs, batch.ys as tf.Tensor, plan.ys as tf.Tensor]);
      }
    }
  }
});
