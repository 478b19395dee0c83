import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { createFeatureCache, createOnnxPrefixEngine } from '../../src/acceleration';
import { TailBatchQueue } from '../../src/training/batch-stage';
import { createSplitModelRunner } from '../../src/training/split-model-runner';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { evaluate, predictIterator } from '../../src/training';
import { ArraySource, tinyModel } from '../training/helpers';

test.before(async () => { await tf.setBackend('cpu'); });

/** 10 random 12×12 RGB PNGs in 3 class folders, all with one fixed mtime (so a rewrite can restore it exactly). */
async function makeFolder(dir: string): Promise<string[]> {
  const files: string[] = [];
  let s = 11;
  for (let i = 0; i < 10; i++) {
    const cls = path.join(dir, `class_${i % 3}`);
    await fs.promises.mkdir(cls, { recursive: true });
    const raw = Buffer.alloc(12 * 12 * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = (s = (s * 1103515245 + 12345) % 2147483648) >> 16 & 255;
    const file = path.join(cls, `img_${i}.png`);
    await sharp(raw, { raw: { width: 12, height: 12, channels: 3 } }).png().toFile(file);
    fs.utimesSync(file, 1_000_000_000, 1_000_000_000);
    files.push(file);
  }
  return files;
}

function assertClose(a: number[][], b: number[][], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - (b[i]?.[j] as number)) <= 1e-6, `${what}[${i}][${j}]: ${v} vs ${b[i]?.[j]}`)));
}

test('a warm pass decodes no cached image, gives the same probabilities as the uncached engine, and notices a modified file', async () => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-plan-'));
  const model = tinyModel('multi', 3);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
  const cached = await createOnnxPrefixEngine(prefix, { threads: 1, cache: createFeatureCache() });
  const uncached = await createOnnxPrefixEngine(prefix, { threads: 1 });
  try {
    const files = await makeFolder(dir);
    const gen = new ImageDataGenerator({ rescale: 1 / 255 });
    const it = gen.flowFromDirectory(dir, { targetSize: [8, 8], batchSize: 4, shuffle: false, workers: 0, prefetch: 1, verbose: false });
    const expected = await predictIterator(model, it, { prefixEngine: uncached });
    const expectedLogs = await evaluate(model, it, { prefixEngine: uncached });

    const before = tf.memory().numTensors;
    const cold = await predictIterator(model, it, { prefixEngine: cached });
    assert.equal(cached.stats.samples, 10, 'the cold pass runs every image');
    assertClose(cold.probabilities, expected.probabilities, 'cold');
    assert.deepEqual(cold.filepaths, expected.filepaths);
    assert.deepEqual(cold.labels, expected.labels);

    // Corrupt every file but keep its size and mtime: the cache key is unchanged, and decoding would throw.
    for (const f of files) {
      const st = fs.statSync(f);
      fs.writeFileSync(f, Buffer.alloc(st.size, 0x55));
      fs.utimesSync(f, st.atime, st.mtime);
    }
    const warm = await predictIterator(model, it, { prefixEngine: cached });
    assertClose(warm.probabilities, expected.probabilities, 'warm');
    const warmLogs = await evaluate(model, it, { prefixEngine: cached });
    assert.ok(Math.abs((warmLogs.loss as number) - (expectedLogs.loss as number)) <= 1e-6, `loss ${warmLogs.loss} vs ${expectedLogs.loss}`);
    assert.equal(warmLogs.accuracy, expectedLogs.accuracy);
    assert.equal(cached.stats.samples, 10, 'warm passes run no image through ONNX Runtime (and decode none)');
    assert.equal(tf.memory().numTensors, before, 'no tensors leak over cold and warm passes');

    // A modified file (new content, new mtime) is a miss: it alone is decoded and run.
    const changed = files[4] as string;
    await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 250, g: 10, b: 10 } } }).png().toFile(changed);
    const misses = cached.cache?.stats.misses as number;
    const after = await predictIterator(model, it, { prefixEngine: cached });
    assert.equal(cached.stats.samples, 11);
    assert.equal((cached.cache?.stats.misses as number) - misses, 1);
    const k = after.filepaths.indexOf(changed);
    assert.notDeepEqual(after.probabilities[k], expected.probabilities[k], 'the modified image gives new outputs');
    assertClose(after.probabilities.filter((_, i) => i !== k), expected.probabilities.filter((_, i) => i !== k), 'unchanged files');
    it.dispose();
  } finally {
    cached.dispose();
    uncached.dispose();
    model.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});

test('TailBatchQueue keeps batches in flight ahead, in stream order, never draws past its total, and frees what was not taken', async () => {
  const model = tinyModel('multi', 3);
  const runner = createSplitModelRunner(model, null);
  const source = new ArraySource(10, 2);
  let drawn = 0;
  const next = source.next.bind(source);
  source.next = () => {
    drawn++;
    return next();
  };
  const before = tf.memory().numTensors;
  const queue = new TailBatchQueue(runner, source, 4, 2);
  assert.equal(drawn, 2, 'two batches started at once');
  const first = await queue.next();
  assert.equal(drawn, 3, 'taking one starts the next');
  const labels = (first.ys as tf.Tensor).argMax(-1);
  assert.deepEqual(Array.from(await labels.data()), [0, 1], 'samples 0 and 1 first');
  labels.dispose();
  tf.dispose([...first.features, ...(first.ys ? [first.ys] : [])]);
  for (let i = 1; i < 3; i++) {
    const b = await queue.next();
    tf.dispose([...b.features, ...(b.ys ? [b.ys] : [])]);
  }
  assert.equal(drawn, 4, 'never more than the total');
  await queue.dispose(); // the fourth batch, started and never taken
  assert.equal(tf.memory().numTensors, before, 'nothing left behind');
  await assert.rejects(queue.next(), /taken already/);
});

test('a DirectoryIterator hands engines pixels: predictPixels runs and predict (a tensor read back) never does, with the results of the tensor path', async () => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-pixels-'));
  const model = tinyModel('multi', 4);
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const engine = await createOnnxPrefixEngine(splitFrozenPrefix(model).prefix as tf.LayersModel, { threads: 1 });
  try {
    await makeFolder(dir);
    const flow = () => new ImageDataGenerator({ rescale: 1 / 255, horizontalFlip: true, rotationRange: 20 }).flowFromDirectory(dir, { targetSize: [8, 8], batchSize: 4, seed: 3, workers: 0, verbose: false });
    let tensorCalls = 0;
    const predict = engine.predict.bind(engine);
    engine.predict = (x, meta) => {
      tensorCalls++;
      return predict(x, meta);
    };
    const viaPixels = await evaluate(model, flow(), { prefixEngine: engine });
    assert.equal(tensorCalls, 0, 'the augmented batches reached the engine as pixels');
    assert.equal(engine.stats.samples, 10);
    // The same stream through an engine that takes tensors only: the batch stage makes the tensor.
    const tensorsOnly = { predict: engine.predict, describe: () => 'tensors only', dispose: () => undefined };
    const viaTensors = await evaluate(model, flow(), { prefixEngine: tensorsOnly });
    assert.equal(tensorCalls, 3);
    assert.ok(Math.abs((viaPixels.loss as number) - (viaTensors.loss as number)) <= 1e-6, `loss ${viaPixels.loss} vs ${viaTensors.loss}`);
    assert.equal(viaPixels.accuracy, viaTensors.accuracy);
  } finally {
    engine.dispose();
    model.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});
