import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evaluate, predictIterator } from '../../src/training/evaluate';
import { classificationReport, confusionMatrix, worstPredictions } from '../../src/training/report';
import { categoricalCrossentropyPerSample } from '../../src/training/losses';
import { ArraySource, tinyModel } from './helpers';

test('confusionMatrix counts (true, predicted) pairs and its cells sum to the sample count', () => {
  const labels = [0, 0, 1, 1, 1, 2, 2, 2, 2];
  const preds = [0, 1, 1, 1, 0, 2, 2, 1, 2];
  const m = confusionMatrix(labels, preds, 3);
  assert.deepEqual(m, [
    [1, 1, 0],
    [1, 2, 0],
    [0, 1, 3],
  ]);
  assert.equal(m.flat().reduce((a, b) => a + b, 0), labels.length);
  assert.throws(() => confusionMatrix([0, 3], [0, 0], 3), /Expected class indices in \[0, 3\), but sample 1 has label 3/);
  assert.throws(() => confusionMatrix([0], [0, 1], 2), /Expected as many predictions as labels/);
});

test('classificationReport matches hand-computed precision, recall, F1 and averages', () => {
  const labels = [0, 0, 1, 1, 1, 2, 2, 2, 2];
  const preds = [0, 1, 1, 1, 0, 2, 2, 1, 2];
  const r = classificationReport(labels, preds, ['a', 'b', 'c']);
  // a: tp 1, predicted 2, support 2 → p .5, r .5, f1 .5
  // b: tp 2, predicted 4, support 3 → p .5, r 2/3, f1 4/7
  // c: tp 3, predicted 3, support 4 → p 1, r .75, f1 6/7
  const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-12, `${x} vs ${y}`);
  close(r.classes.a.f1, 0.5);
  close(r.classes.b.recall, 2 / 3);
  close(r.classes.b.f1, 4 / 7);
  close(r.classes.c.f1, 6 / 7);
  assert.equal(r.classes.c.support, 4);
  close(r.accuracy, 6 / 9);
  close(r.macroAvg.precision, (0.5 + 0.5 + 1) / 3);
  close(r.macroAvg.f1, (0.5 + 4 / 7 + 6 / 7) / 3);
  close(r.weightedAvg.recall, (2 * 0.5 + 3 * (2 / 3) + 4 * 0.75) / 9);
  assert.equal(r.support, 9);
  // Expected lines produced with scikit-learn's own format strings.
  const lines = r.text.split('\n');
  assert.equal(lines[0], '              precision    recall  f1-score   support');
  assert.equal(lines[2], '           a       0.50      0.50      0.50         2');
  assert.equal(lines[6], '    accuracy                           0.67         9');
  assert.equal(lines[8], 'weighted avg       0.72      0.67      0.68         9');
});

test('predictIterator returns probabilities, predictions, labels and files in file order, and worstPredictions ranks mistakes', async () => {
  const model = tinyModel('multi');
  const source = new ArraySource(7, 3);
  const before = tf.memory().numTensors;
  const result = await predictIterator(model, source);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(result.probabilities.length, 7);
  assert.deepEqual(result.labels, [0, 1, 2, 0, 1, 2, 0]);
  assert.deepEqual(result.filepaths, ['img_000.png', 'img_001.png', 'img_002.png', 'img_003.png', 'img_004.png', 'img_005.png', 'img_006.png']);
  const direct = tf.tidy(() => (model.predict(tf.tensor4d(Float32Array.from(source.images.flatMap((i) => Array.from(i))), [7, 8, 8, 3])) as tf.Tensor).arraySync()) as number[][];
  result.probabilities.forEach((row, i) => row.forEach((p, j) => assert.ok(Math.abs(p - direct[i][j]) < 1e-5)));
  result.predictions.forEach((p, i) => assert.equal(p, direct[i].indexOf(Math.max(...direct[i]))));
  const worst = worstPredictions(result, 2, source.classNames);
  const trueProbs = result.labels!.map((l, i) => result.probabilities[i][l]).sort((a, b) => a - b);
  assert.deepEqual(worst.map((w) => w.trueClassProbability), trueProbs.slice(0, 2));
  assert.ok(worst[0].filepath.startsWith('img_'));
  // Test folders named differently: map test label i to training label labelMap[i].
  const mapped = await predictIterator(model, source, { labelMap: [2, 0, 1] });
  assert.deepEqual(mapped.labels, [2, 0, 1, 2, 0, 1, 2]);
});

test('predictIterator refuses a shuffling source', async () => {
  const model = tinyModel('multi');
  const shuffled = Object.assign(new ArraySource(3, 3), { shuffle: true });
  await assert.rejects(predictIterator(model, shuffled), /Expected a source with shuffle: false .* Create the iterator with \{ shuffle: false \}/);
});

test('evaluate returns the batch-size weighted loss and accuracy of the compiled model', async () => {
  const model = tinyModel('multi');
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const source = new ArraySource(7, 3); // batches of 3, 3, 1
  const logs = await evaluate(model, source);
  const x = tf.tensor4d(Float32Array.from(source.images.flatMap((i) => Array.from(i))), [7, 8, 8, 3]);
  const y = tf.oneHot(tf.tensor1d(source.labels, 'int32'), 3);
  const [loss, acc] = tf.tidy(() => {
    const p = model.predict(x) as tf.Tensor;
    return [tf.mean(categoricalCrossentropyPerSample(y, p)).dataSync()[0], tf.mean(tf.cast(tf.equal(tf.argMax(p, -1), tf.argMax(y, -1)), 'float32')).dataSync()[0]];
  });
  tf.dispose([x, y]);
  assert.deepEqual(Object.keys(logs), ['loss', 'accuracy']);
  assert.ok(Math.abs(logs.loss - loss) < 1e-5);
  assert.ok(Math.abs(logs.accuracy - acc) < 1e-6);
});

test('categorical crossentropy clips probabilities like Keras', () => {
  const v = tf.tidy(() => categoricalCrossentropyPerSample(tf.tensor2d([[1, 0]]), tf.tensor2d([[0, 1]])).dataSync()[0]);
  assert.ok(Math.abs(v - -Math.log(1e-7)) < 1e-3);
});
