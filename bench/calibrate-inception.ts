// Does calibrateBatchNormalization rescue a randomly initialised InceptionV3 (the offline fallback)?
//
// InceptionV3 without its top at 75×75 (BENCH_SIZE) with `weights: null`; the chest CT phantom (loose files,
// BENCH_PER_CLASS images per class and split, default 4). Reports the std of `mixed10`'s output
// (over everything, and the mean over features of the std across images) before and after
// calibrating on the training images, and the held-out (valid split) accuracy of a linear probe
// (softmax regression on the GAP features, standardised unless BENCH_STANDARDIZE=0, Adam, 300 steps) on frozen features before
// and after, against the majority class.
//
// Run: npx tsc -p tsconfig.test.json && node .build/bench/calibrate-inception.js
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InceptionV3 } from '../src/applications';
import { chestCtPhantom } from '../src/data';
import { ImageDataGenerator } from '../src/preprocessing';
import { initBackend } from '../src/runtime/backend';
import { calibrateBatchNormalization } from './calibrate-batch-norm';

const perClass = Number(process.env['BENCH_PER_CLASS'] ?? 4);
const size = Number(process.env['BENCH_SIZE'] ?? 75);
const calBatch = Number(process.env['BENCH_CAL_BATCH'] ?? 8);
const probeLayer = process.env['BENCH_LAYER'] ?? 'mixed10';
const standardize = process.env['BENCH_STANDARDIZE'] !== '0';

/** GAP features `[n, 2048]` of every image of `dir` (file order) and their labels. */
async function features(model: tf.LayersModel, dir: string): Promise<{ x: tf.Tensor2D; labels: number[]; raw: { std: number; featureStd: number } }> {
  const it = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(dir, { targetSize: [size, size], batchSize: 8, shuffle: false });
  const parts: tf.Tensor2D[] = [];
  for (let i = 0; i < it.length; i++) {
    const { xs, ys } = await it.next();
    parts.push(tf.tidy(() => tf.mean(model.predict(xs) as tf.Tensor4D, [1, 2]) as tf.Tensor2D));
    tf.dispose([xs, ys]);
  }
  const x = tf.concat(parts);
  tf.dispose(parts);
  const raw = tf.tidy(() => ({
    std: tf.moments(x).variance.sqrt().dataSync()[0],
    featureStd: tf.mean(tf.sqrt(tf.moments(x, 0).variance)).dataSync()[0],
  }));
  return { x, labels: Array.from(it.classes), raw };
}

/** Softmax regression on standardised features; returns held-out accuracy. */
function probe(train: tf.Tensor2D, trainLabels: number[], test: tf.Tensor2D, testLabels: number[], classes: number): number {
  return tf.tidy(() => {
    const moments = tf.moments(train, 0);
    const mean = standardize ? moments.mean : tf.scalar(0);
    const sd = standardize ? tf.add(tf.sqrt(moments.variance), 1e-6) : tf.scalar(1);
    const xtr = tf.div(tf.sub(train, mean), sd);
    const xte = tf.div(tf.sub(test, mean), sd);
    const ytr = tf.oneHot(tf.tensor1d(trainLabels, 'int32'), classes);
    const w = tf.variable(tf.zeros([train.shape[1], classes]));
    const b = tf.variable(tf.zeros([classes]));
    const opt = tf.train.adam(0.01);
    for (let step = 0; step < 300; step++) {
      opt.minimize(() => tf.add(tf.losses.softmaxCrossEntropy(ytr, tf.add(tf.matMul(xtr, w), b)), tf.mul(1e-3, tf.sum(tf.square(w)))));
    }
    const pred = tf.argMax(tf.add(tf.matMul(xte, w), b), 1).dataSync();
    opt.dispose();
    return testLabels.filter((l, i) => pred[i] === l).length / testLabels.length;
  });
}

async function main(): Promise<void> {
  const report = await initBackend({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calibrate-'));
  try {
    const t0 = Date.now();
    const phantom = await chestCtPhantom({ dest: dir, perClass, zip: false, splits: ['train', 'valid'], quiet: true });
    const trainDir = path.join(phantom.root, 'train');
    const validDir = path.join(phantom.root, 'valid');
    const full = await InceptionV3({ includeTop: false, weights: null, inputShape: [size, size, 3], seed: 0 });
    for (const layer of full.layers) layer.trainable = false;
    const model = probeLayer === 'mixed10' ? full : tf.model({ inputs: full.inputs, outputs: full.getLayer(probeLayer).output as tf.SymbolicTensor });
    for (const layer of model.layers) layer.trainable = false;
    console.log(`backend ${report.tfBackend}; phantom ${phantom.images} images (${perClass}/class/split) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const classes = phantom.classes.train.length;
    const run = async (label: string) => {
      const t = Date.now();
      const tr = await features(model, trainDir);
      const va = await features(model, validDir);
      const counts = new Array<number>(classes).fill(0);
      for (const l of va.labels) counts[l]++;
      const majority = Math.max(...counts) / va.labels.length;
      const acc = probe(tr.x, tr.labels, va.x, va.labels, classes);
      console.log(`${label}: ${probeLayer} std ${tr.raw.std.toExponential(3)}, mean per-feature std across images ${tr.raw.featureStd.toExponential(3)}; ` +
        `linear probe (${standardize ? 'standardised' : 'raw'} features) held-out accuracy ${(acc * 100).toFixed(1)} % (majority class ${(majority * 100).toFixed(1)} %, ${va.labels.length} images) [${((Date.now() - t) / 1000).toFixed(1)} s]`);
      tf.dispose([tr.x, va.x]);
    };
    await run('before');
    const t = Date.now();
    const train = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(trainDir, { targetSize: [size, size], batchSize: calBatch, seed: 1 });
    const before = tf.memory().numTensors;
    const result = await calibrateBatchNormalization(full, train, { batches: 8, mode: process.env['BENCH_MODE'] === 'rescale' ? 'rescale' : 'normalize' });
    console.log(`calibrated ${result.layers} layers on ${result.batches} batches in ${((Date.now() - t) / 1000).toFixed(1)} s; tensors ${before} → ${tf.memory().numTensors}; trainable flags all false: ${model.layers.every((l) => !l.trainable)}`);
    await run('after');
    full.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
