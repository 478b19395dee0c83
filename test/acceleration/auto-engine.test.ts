import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { accelerationEnabled, autoPrefixEngine, createFeatureCache, createOnnxPrefixEngine, createTfjsPrefixEngine, defaultFeatureCache, OnnxPrefixEngine } from '../../src/acceleration';
import { racingPrefixEngine } from '../../src/acceleration/auto-engine';
import type { FilePrefixEngine } from '../../src/acceleration';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import type { Batch, PrefixEngine } from '../../src/training/types';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { evaluate, fit, predictIterator } from '../../src/training';
import { ArraySource, captureConsole, tinyModel } from '../training/helpers';

test.before(async () => { await tf.setBackend('cpu'); });

function compiled(seed: number): tf.LayersModel {
  const model = tinyModel('multi', seed);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

function assertCurvesClose(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - (b[i] as number)) <= 1e-4 * Math.max(1, Math.abs(v)), `${what}[${i}]: ${v} vs ${b[i]}`));
}

test('a seeded fit gives the same loss curve with and without ONNX Runtime, and evaluate/predictIterator agree', async () => {
  const train = new ArraySource(24, 8, 3);
  const val = new ArraySource(12, 6, 4);
  const plain = compiled(2);
  const fast = compiled(2);
  try {
    const h1 = await fit(plain, train, { epochs: 3, seed: 9, verbose: 0, validationData: val, accelerate: false });
    const { result: h2, log } = await captureConsole(() => fit(fast, train, { epochs: 3, seed: 9, verbose: 1, validationData: val }));
    assert.ok(log.some((l) => /^Frozen prefix \(6 of 11 layers, 2 cut tensors\) on ONNX Runtime CPU \(\d+ threads?\); trainable tail \(5 layers\); feature cache on/.test(l)), log.join('\n'));
    for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) {
      assertCurvesClose(h2.history[key] as number[], h1.history[key] as number[], key);
    }
    const e1 = await evaluate(plain, val, { accelerate: false });
    const e2 = await evaluate(fast, val);
    assertCurvesClose([e2.loss as number], [e1.loss as number], 'evaluate loss');
    const p1 = await predictIterator(plain, val, { accelerate: false });
    const p2 = await predictIterator(fast, val);
    assert.deepEqual(p2.predictions, p1.predictions);
    assertCurvesClose(p2.probabilities.flat(), p1.probabilities.flat(), 'probabilities');
  } finally {
    plain.dispose();
    fast.dispose();
  }
});

test('one switch turns acceleration off: accelerate: false or TRANSFERLAB_ACCELERATE=0; nothing frozen means no engine', async () => {
  const model = tinyModel('multi', 4);
  const saved = process.env.TRANSFERLAB_ACCELERATE;
  try {
    const prefix = splitFrozenPrefix(model).prefix;
    assert.equal(await autoPrefixEngine(model, prefix, undefined, { accelerate: false }), undefined);
    process.env.TRANSFERLAB_ACCELERATE = '0';
    assert.equal(accelerationEnabled(), false);
    assert.equal(await autoPrefixEngine(model, prefix, undefined, { verbose: false }), undefined);
    assert.equal(accelerationEnabled(true), true, 'an explicit option wins over the environment');
    delete process.env.TRANSFERLAB_ACCELERATE;
    const { result: engine, log } = await captureConsole(() => autoPrefixEngine(model, prefix));
    assert.ok(engine instanceof OnnxPrefixEngine);
    assert.equal(log.length, 1);
    const { result: again, log: log2 } = await captureConsole(() => autoPrefixEngine(model, prefix));
    assert.equal(again, engine, 'one engine per prefix, reused by later fit/evaluate calls');
    assert.equal(log2.length, 0, 'the report line is printed once');
    const none = tinyModel('none', 4);
    assert.equal(await autoPrefixEngine(none, splitFrozenPrefix(none).prefix), undefined);
    none.dispose();
  } finally {
    if (saved === undefined) delete process.env.TRANSFERLAB_ACCELERATE;
    else process.env.TRANSFERLAB_ACCELERATE = saved;
    model.dispose();
  }
});

test('validation batches of real files come from the feature cache from the second epoch on', async () => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-auto-'));
  const model = compiled(6);
  try {
    class FileSource extends ArraySource {
      readonly preprocessingKey = 'test-preprocessing';
      override async next(): Promise<Batch> {
        const batch = await super.next();
        return { ...batch, filepaths: (batch.filepaths ?? []).map((f) => path.join(dir, f)) };
      }
    }
    const val = new FileSource(12, 4, 5);
    for (let i = 0; i < 12; i++) await fs.promises.writeFile(path.join(dir, `img_${String(i).padStart(3, '0')}.png`), `image ${i}`);
    const before = defaultFeatureCache().stats;
    const history = await fit(model, new ArraySource(12, 6, 6), { epochs: 3, verbose: 0, seed: 1, validationData: val });
    const after = defaultFeatureCache().stats;
    assert.equal(after.misses - before.misses, 12, 'epoch 1 computes the 12 validation images');
    assert.equal(after.hits - before.hits, 24, 'epochs 2 and 3 reuse them');
    const reference = await evaluate(model, val, { accelerate: false });
    assertCurvesClose([(history.history.val_loss as number[])[2] as number], [reference.loss as number], 'cached val_loss');
  } finally {
    model.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});

test('on other backends the first batch runs on both engines and the faster one is kept', async () => {
  const calls: string[] = [];
  const fake = (name: string, ms: number): PrefixEngine => ({
    async predict(x) {
      calls.push(name);
      await new Promise((r) => setTimeout(r, ms));
      return [x.clone()];
    },
    describe: () => name,
    dispose: () => calls.push(`dispose ${name}`),
  });
  let choice = '';
  const engine = racingPrefixEngine(fake('onnx', 40), fake('tfjs', 1), (e) => (choice = e.describe()));
  const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
  try {
    const before = tf.memory().numTensors;
    tf.dispose(await engine.predict(x));
    tf.dispose(await engine.predict(x));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(choice, 'tfjs');
    assert.deepEqual(calls, ['tfjs', 'onnx', 'tfjs']);
    assert.equal(engine.describe(), 'tfjs');
    engine.dispose();
    assert.deepEqual(calls.slice(3), ['dispose onnx', 'dispose tfjs']);
  } finally {
    x.dispose();
  }
});

test('the racing engine (tfjs-node backends) keeps the feature cache whichever engine wins: a warm pass decodes nothing', async () => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-race-'));
  try {
    const files: string[] = [];
    for (let i = 0; i < 6; i++) {
      const file = path.join(dir, `class_${i % 2}`, `img_${i}.png`);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await sharp({ create: { width: 10, height: 9, channels: 3, background: { r: 40 * i, g: 255 - 30 * i, b: 7 * i } } }).png().toFile(file);
      files.push(file);
    }
    const model = tinyModel('multi', 4);
    const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
    const it = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(dir, { targetSize: [8, 8], batchSize: 4, shuffle: false, workers: 0, verbose: false });
    const plain = await createOnnxPrefixEngine(prefix, { threads: 1 });
    const expected = await predictIterator(model, it, { prefixEngine: plain });
    plain.dispose();
    const pristine = files.map((f) => fs.readFileSync(f));
    for (const winner of ['onnx', 'tfjs'] as const) {
      files.forEach((f, i) => {
        fs.writeFileSync(f, pristine[i] as Buffer);
        fs.utimesSync(f, 1_000_000_000 + i, 1_000_000_000 + (winner === 'onnx' ? 0 : 100)); // whole seconds: utimes can restore them exactly
      });
      const cache = createFeatureCache();
      const onnx = await createOnnxPrefixEngine(prefix, { threads: 1, cache });
      const tfjs = createTfjsPrefixEngine(prefix, { cache });
      const slow = winner === 'onnx' ? tfjs : onnx;
      const predict = slow.predict.bind(slow);
      slow.predict = async (x, meta) => {
        await new Promise((r) => setTimeout(r, 200));
        return predict(x, meta);
      };
      let chosen = '';
      const racing = racingPrefixEngine(onnx, tfjs, (e) => (chosen = e === onnx ? 'onnx' : 'tfjs')) as FilePrefixEngine;
      assert.equal(typeof racing.predictFiles, 'function', 'the racing engine reads files');
      try {
        const cold = await predictIterator(model, it, { prefixEngine: racing });
        assert.equal(chosen, winner);
        // Every file corrupted, size and mtime kept: only cached outputs can answer now.
        for (const f of files) {
          const st = fs.statSync(f);
          fs.writeFileSync(f, Buffer.alloc(st.size, 0x55));
          fs.utimesSync(f, st.atime, st.mtime);
        }
        const warm = await predictIterator(model, it, { prefixEngine: racing }).catch((e: Error) => {
          throw new Error(`${winner} won: ${e.message}`);
        });
        for (const result of [cold, warm]) {
          assert.deepEqual(result.filepaths, expected.filepaths);
          result.probabilities.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - (expected.probabilities[i]?.[j] as number)) <= 1e-5, `${winner} [${i}][${j}]`)));
        }
      } finally {
        racing.dispose();
      }
    }
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});

test('the TF.js prefix engine with a cache recomputes after the weights change', async () => {
  const model = tinyModel('multi', 5);
  const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
  const engine = createTfjsPrefixEngine(prefix, { cache: createFeatureCache() });
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-tfjs-engine-'));
  const x = tf.tidy(() => tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3)) as tf.Tensor4D;
  try {
    const files = [path.join(dir, 'a.png'), path.join(dir, 'b.png')];
    files.forEach((f) => fs.writeFileSync(f, 'bytes of an image'));
    const meta = { filepaths: files, deterministic: true, preprocessingKey: 'k' };
    const first = await engine.predict(x, meta);
    const fingerprint = engine.fingerprint;
    assert.ok(files.every((f) => engine.hasCached(f, 'k')));
    prefix.setWeights(prefix.getWeights().map((w) => tf.mul(w, 2)));
    const second = await engine.predict(x, meta);
    assert.notEqual(engine.fingerprint, fingerprint, 'new weights, new fingerprint');
    const direct = tf.tidy(() => prefix.apply(x, { training: false }) as tf.Tensor[]);
    for (let i = 0; i < direct.length; i++) {
      assert.deepEqual(Array.from(await (second[i] as tf.Tensor).data()), Array.from(await (direct[i] as tf.Tensor).data()));
    }
    tf.dispose([...first, ...second, ...direct]);
  } finally {
    x.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
});
