import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { minimize } from '../../src/training/optimizer-step';

/** Two variables (a matrix and a vector) with seeded values, and a loss over them. */
function problem(seed: number): { vars: tf.Variable[]; loss: () => tf.Scalar; dispose: () => void } {
  const w = tf.variable(tf.randomNormal([6, 3], 0, 1, 'float32', seed));
  const b = tf.variable(tf.randomNormal([3], 0, 1, 'float32', seed + 1));
  const x = tf.randomNormal([5, 6], 0, 1, 'float32', seed + 2);
  const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(tf.relu(tf.add(tf.matMul(x, w), b)), 0.5))) as tf.Scalar);
  return { vars: [w, b], loss, dispose: () => tf.dispose([w, b, x]) };
}

test('minimize with Adam gives bit for bit what optimizer.minimize gives, with the same optimizer state, and keeps no tensors', async () => {
  await tf.setBackend('cpu');
  const ours = problem(3);
  const theirs = problem(3);
  const a = tf.train.adam(0.05, 0.8, 0.95, 1e-6);
  const b = tf.train.adam(0.05, 0.8, 0.95, 1e-6);
  try {
    for (let step = 0; step < 4; step++) {
      const before = tf.memory().numTensors;
      const l1 = minimize(a, ours.loss, ours.vars);
      if (step > 0) assert.equal(tf.memory().numTensors, before + 1, 'only the returned loss is new');
      const l2 = b.minimize(theirs.loss, true, theirs.vars) as tf.Scalar;
      assert.equal(l1.dataSync()[0], l2.dataSync()[0], `loss at step ${step}`);
      tf.dispose([l1, l2]);
    }
    ours.vars.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), Array.from((theirs.vars[i] as tf.Variable).dataSync())));
    const sa = await a.getWeights();
    const sb = await b.getWeights();
    assert.equal(sa.length, sb.length);
    sa.forEach((w, i) => assert.deepEqual(Array.from(w.tensor.dataSync()), Array.from((sb[i] as { tensor: tf.Tensor }).tensor.dataSync()), w.name));
    assert.equal(a.iterations, 4);
    const accA = (a as unknown as { accBeta1: tf.Variable }).accBeta1.dataSync()[0];
    assert.equal(accA, (b as unknown as { accBeta1: tf.Variable }).accBeta1.dataSync()[0]);
  } finally {
    ours.dispose();
    theirs.dispose();
    a.dispose();
    b.dispose();
  }
});

test('minimize hands other optimizers (and Adam subclasses with their own update) to their applyGradients', async () => {
  await tf.setBackend('cpu');
  const ours = problem(9);
  const theirs = problem(9);
  const sgd1 = tf.train.sgd(0.1);
  const sgd2 = tf.train.sgd(0.1);
  let calls = 0;
  class CountingAdam extends tf.AdamOptimizer {
    override applyGradients(g: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
      calls++;
      super.applyGradients(g);
    }
  }
  const counting = new CountingAdam(0.01, 0.9, 0.999);
  try {
    tf.dispose(minimize(sgd1, ours.loss, ours.vars));
    tf.dispose(sgd2.minimize(theirs.loss, true, theirs.vars) as tf.Scalar);
    ours.vars.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), Array.from((theirs.vars[i] as tf.Variable).dataSync())));
    tf.dispose(minimize(counting, ours.loss, ours.vars));
    assert.equal(calls, 1);
  } finally {
    ours.dispose();
    theirs.dispose();
    counting.dispose();
  }
});
