import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createOnnxPrefixEngine, PrefixEngineStaleError } from '../../src/acceleration';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { tinyModel } from '../training/helpers';
import { walkthroughModel } from '../training/walkthrough-model';
import { createRandom } from '../../src/util/random';

test.before(async () => { await tf.setBackend('cpu'); });

/** Largest |a−b| over an output, relative to the output's largest |b| (at least 1e-6). */
async function relativeDiff(actual: tf.Tensor, expected: tf.Tensor): Promise<number> {
  assert.deepEqual(actual.shape, expected.shape);
  const a = await actual.data();
  const b = await expected.data();
  let worst = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i] as number));
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return worst / scale;
}

function images(n: number, size: number, seed: number): tf.Tensor4D {
  const rnd = createRandom(seed);
  return tf.tensor4d(Float32Array.from({ length: n * size * size * 3 }, () => rnd.uniform(-1, 1)), [n, size, size, 3]);
}

test('runs the real InceptionV3 prefix (walkthrough freezing) like TF.js, one tensor per cut tensor in cut order', async () => {
  const model = await walkthroughModel(75);
  const x = images(2, 75, 1);
  try {
    model.layers.slice(0, 311 - 15).forEach((l) => (l.trainable = false));
    const split = splitFrozenPrefix(model);
    const prefix = split.prefix as tf.LayersModel;
    assert.equal(split.prefixLayerCount, 296);
    const engine = await createOnnxPrefixEngine(prefix, { threads: 2 });
    try {
      const before = tf.memory().numTensors;
      const actual = await engine.predict(x);
      const expected = tf.tidy(() => prefix.apply(x, { training: false }) as tf.Tensor[]);
      assert.equal(actual.length, split.cutTensors.length);
      assert.ok(split.cutTensors.length > 1, 'the walkthrough cut crosses several tensors');
      for (let i = 0; i < actual.length; i++) {
        const diff = await relativeDiff(actual[i] as tf.Tensor, expected[i] as tf.Tensor);
        assert.ok(diff <= 1e-4, `cut tensor ${i} (${split.cutTensors[i]}): relative difference ${diff}`);
      }
      tf.dispose([...actual, ...expected]);
      assert.equal(tf.memory().numTensors, before, 'predict leaks no tensors');
      assert.match(engine.describe(), /^ONNX Runtime CPU \(2 threads\)$/);
      assert.match(engine.fingerprint, /^[0-9a-f]{32}$/);
    } finally {
      engine.dispose();
    }
  } finally {
    x.dispose();
    model.dispose();
  }
});

test('rebuilds itself when the prefix weights change, and refuses to run a prefix that was unfrozen', async () => {
  const model = tinyModel('multi', 3);
  const x = images(3, 8, 2);
  const split = splitFrozenPrefix(model);
  const prefix = split.prefix as tf.LayersModel;
  const engine = await createOnnxPrefixEngine(prefix, { threads: 1 });
  try {
    const fp = engine.fingerprint;
    tf.dispose(await engine.predict(x));
    const c1 = model.getLayer('c1');
    const newWeights = c1.getWeights().map((w) => tf.tidy(() => w.mul(-2)));
    c1.setWeights(newWeights); // what loadWeights does: fresh storage for the variables
    tf.dispose(newWeights);
    const actual = await engine.predict(x);
    const expected = tf.tidy(() => prefix.apply(x, { training: false }) as tf.Tensor[]);
    for (let i = 0; i < actual.length; i++) assert.ok((await relativeDiff(actual[i] as tf.Tensor, expected[i] as tf.Tensor)) <= 1e-5);
    tf.dispose([...actual, ...expected]);
    assert.equal(engine.stats.rebuilds, 1);
    assert.notEqual(engine.fingerprint, fp, 'new weights, new fingerprint (and so new cache keys)');

    c1.trainable = true;
    await assert.rejects(engine.predict(x), (e: unknown) => e instanceof PrefixEngineStaleError && e.layerName === 'c1' && /layer 'c1' of the frozen prefix is trainable now \(unfrozen\)/.test(e.message));
    c1.trainable = false;
    tf.dispose(await engine.predict(x));
  } finally {
    engine.dispose();
    x.dispose();
    model.dispose();
  }
  await assert.rejects(engine.predict(images(1, 8, 3)), /disposed/);
});

test('runs a batch in chunks of chunkSize, one ONNX Runtime call each, with the outputs of a single call; predictFiles loads each chunk by its own call', async () => {
  const model = tinyModel('multi', 3);
  const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
  const x = tf.tidy(() => tf.randomUniform([7, 8, 8, 3], 0, 1, 'float32', 9)) as tf.Tensor4D;
  const whole = await createOnnxPrefixEngine(prefix, { threads: 1, chunkSize: 64 });
  const chunked = await createOnnxPrefixEngine(prefix, { threads: 1, chunkSize: 3 });
  try {
    const expected = await whole.predict(x);
    const actual = await chunked.predict(x);
    assert.deepEqual({ whole: whole.stats.runs, chunked: chunked.stats.runs }, { whole: 1, chunked: 3 }, '7 images in chunks of 3: 3 + 3 + 1');
    assert.equal(chunked.stats.samples, 7);
    for (let i = 0; i < expected.length; i++) {
      assert.deepEqual(actual[i]?.shape, expected[i]?.shape);
      assert.ok((await relativeDiff(actual[i] as tf.Tensor, expected[i] as tf.Tensor)) <= 1e-6, `cut tensor ${i}`);
    }
    // Files still to be decoded: the same chunks of 3, 3 and 1, each loaded by its own call.
    const pixels = (await x.data()) as Float32Array;
    const size = 8 * 8 * 3;
    const asked: number[][] = [];
    const files = Array.from({ length: 7 }, (_, i) => `/nowhere/img_${i}.png`);
    const viaFiles = await chunked.predictFiles(files, 'test-key', [8, 8, 3], async (positions) => {
      asked.push(positions);
      const out = new Float32Array(positions.length * size);
      positions.forEach((p, j) => out.set(pixels.subarray(p * size, (p + 1) * size), j * size));
      return out;
    });
    assert.deepEqual(asked, [[0, 1, 2], [3, 4, 5], [6]]);
    for (let i = 0; i < expected.length; i++) assert.ok((await relativeDiff(viaFiles[i] as tf.Tensor, expected[i] as tf.Tensor)) <= 1e-6, `cut tensor ${i} via files`);
    tf.dispose([...expected, ...actual, ...viaFiles]);
    assert.throws(() => new (whole.constructor as new (p: tf.LayersModel, a: object) => unknown)(prefix, { chunkSize: 0 }), /chunkSize/);
  } finally {
    whole.dispose();
    chunked.dispose();
    x.dispose();
  }
});
