import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createFeatureCache, createOnnxPrefixEngine, FeatureCache, type OnnxPrefixEngine } from '../../src/acceleration';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { tinyModel } from '../training/helpers';
import { createRandom } from '../../src/util/random';

test.before(async () => { await tf.setBackend('cpu'); });

const KEY = 'transferlab-preprocessing-v1|targetSize=8x8|rescale=0.00392156862745098';

interface Fixture {
  dir: string;
  files: string[];
  pixels: Float32Array[];
  prefix: tf.LayersModel;
  model: tf.LayersModel;
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-features-'));
  const model = tinyModel('multi', 5);
  try {
    const rnd = createRandom(11);
    const files: string[] = [];
    const pixels: Float32Array[] = [];
    for (let i = 0; i < 6; i++) {
      const file = path.join(dir, `img_${i}.png`);
      await fs.promises.writeFile(file, `image ${i}`); // the cache only stats files
      files.push(file);
      pixels.push(Float32Array.from({ length: 192 }, () => rnd.next()));
    }
    await fn({ dir, files, pixels, model, prefix: splitFrozenPrefix(model).prefix as tf.LayersModel });
  } finally {
    model.dispose();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

function batchOf(f: Fixture, indices: number[]): tf.Tensor4D {
  const data = new Float32Array(indices.length * 192);
  indices.forEach((i, j) => data.set(f.pixels[i] as Float32Array, j * 192));
  return tf.tensor4d(data, [indices.length, 8, 8, 3]);
}

/** Runs the engine on the samples `indices` with deterministic metadata; returns the outputs as arrays. */
async function run(engine: OnnxPrefixEngine, f: Fixture, indices: number[], key = KEY, deterministic = true): Promise<number[][]> {
  const x = batchOf(f, indices);
  try {
    const out = await engine.predict(x, { filepaths: indices.map((i) => f.files[i] as string), preprocessingKey: key, deterministic });
    const arrays = await Promise.all(out.map(async (t) => Array.from(await t.data())));
    tf.dispose(out);
    return arrays;
  } finally {
    x.dispose();
  }
}

function assertClose(a: number[][], b: number[][]): void {
  assert.equal(a.length, b.length);
  a.forEach((row, k) => row.forEach((v, i) => assert.ok(Math.abs(v - (b[k]?.[i] as number)) < 1e-6, `output ${k}[${i}]: ${v} vs ${b[k]?.[i]}`)));
}

test('a repeated deterministic batch is answered from the cache without running ONNX Runtime', async () => {
  await withFixture(async (f) => {
    const cache = createFeatureCache();
    const engine = await createOnnxPrefixEngine(f.prefix, { threads: 1, cache });
    try {
      const first = await run(engine, f, [0, 1, 2, 3]);
      assert.deepEqual({ runs: engine.stats.runs, hits: cache.stats.hits, misses: cache.stats.misses }, { runs: 1, hits: 0, misses: 4 });
      const before = tf.memory().numTensors;
      const second = await run(engine, f, [0, 1, 2, 3]);
      assert.deepEqual({ runs: engine.stats.runs, hits: cache.stats.hits, misses: cache.stats.misses }, { runs: 1, hits: 4, misses: 4 });
      assert.equal(tf.memory().numTensors, before);
      assertClose(second, first);
      assert.equal(cache.stats.entries, 4);
    } finally {
      engine.dispose();
    }
  });
});

test('a partly cached batch runs only the misses and stitches them in batch order', async () => {
  await withFixture(async (f) => {
    const reference = await createOnnxPrefixEngine(f.prefix, { threads: 1 });
    const engine = await createOnnxPrefixEngine(f.prefix, { threads: 1, cache: createFeatureCache() });
    try {
      await run(engine, f, [1, 3]);
      const mixed = await run(engine, f, [0, 1, 2, 3, 4]);
      assert.deepEqual({ runs: engine.stats.runs, samples: engine.stats.samples }, { runs: 2, samples: 5 }, 'the second run computed only 0, 2 and 4');
      assertClose(mixed, await run(reference, f, [0, 1, 2, 3, 4]));
    } finally {
      engine.dispose();
      reference.dispose();
    }
  });
});

test('a changed modification time, another preprocessing key or an augmented batch is a miss', async () => {
  await withFixture(async (f) => {
    const cache = createFeatureCache();
    const engine = await createOnnxPrefixEngine(f.prefix, { threads: 1, cache });
    try {
      await run(engine, f, [0, 1]);
      const later = new Date(Date.now() + 60_000);
      await fs.promises.utimes(f.files[0] as string, later, later);
      await run(engine, f, [0, 1]);
      assert.deepEqual({ hits: cache.stats.hits, misses: cache.stats.misses, samples: engine.stats.samples }, { hits: 1, misses: 3, samples: 3 }, 'file 0 recomputed, file 1 reused');
      await run(engine, f, [0, 1], `${KEY}|interpolation=bilinear`);
      assert.deepEqual({ misses: cache.stats.misses, samples: engine.stats.samples }, { misses: 5, samples: 5 });
      await run(engine, f, [0, 1], KEY, false);
      assert.deepEqual({ lookups: cache.stats.hits + cache.stats.misses, samples: engine.stats.samples }, { lookups: 6, samples: 7 }, 'augmented batches bypass the cache');
    } finally {
      engine.dispose();
    }
  });
});

test('entries on disk survive a new cache instance and are written atomically', async () => {
  await withFixture(async (f) => {
    const dir = path.join(f.dir, 'features');
    const engine1 = await createOnnxPrefixEngine(f.prefix, { threads: 1, cache: createFeatureCache({ dir }) });
    const first = await run(engine1, f, [0, 1, 2]);
    engine1.dispose();
    const written = (await fs.promises.readdir(dir, { recursive: true })).map(String).filter((n) => n.endsWith('.features'));
    assert.equal(written.length, 3);
    assert.ok(!(await fs.promises.readdir(dir, { recursive: true })).map(String).some((n) => n.endsWith('.tmp')), 'no temporary files left');

    const cache2 = createFeatureCache({ dir });
    const engine2 = await createOnnxPrefixEngine(f.prefix, { threads: 1, cache: cache2 });
    try {
      const again = await run(engine2, f, [0, 1, 2]);
      assert.equal(engine2.stats.runs, 0, 'nothing recomputed');
      assert.deepEqual({ hits: cache2.stats.hits, diskHits: cache2.stats.diskHits }, { hits: 3, diskHits: 3 });
      assertClose(again, first);
      // A damaged file is a miss (and is removed), not an error.
      const victim = path.join(dir, written[0] as string);
      await fs.promises.writeFile(victim, 'garbage');
      const cache3 = createFeatureCache({ dir });
      const engine3 = await createOnnxPrefixEngine(f.prefix, { threads: 1, cache: cache3 });
      assertClose(await run(engine3, f, [0, 1, 2]), first);
      assert.deepEqual({ hits: cache3.stats.hits, misses: cache3.stats.misses }, { hits: 2, misses: 1 });
      engine3.dispose();
    } finally {
      engine2.dispose();
    }
  });
});

test('the memory bound evicts least recently used entries', async () => {
  const cache = new FeatureCache({ maxBytes: 3 * 40 });
  const entry = (v: number) => ({ shapes: [[10]], data: [new Float32Array(10).fill(v)] }); // 40 bytes
  await cache.set('a', entry(1));
  await cache.set('b', entry(2));
  await cache.set('c', entry(3));
  assert.ok(await cache.get('a')); // a is now the most recent
  await cache.set('d', entry(4));
  assert.deepEqual({ entries: cache.stats.entries, bytes: cache.stats.bytes, evictions: cache.stats.evictions }, { entries: 3, bytes: 120, evictions: 1 });
  assert.equal(await cache.get('b'), undefined, 'b was the least recently used');
  assert.equal((await cache.get('a'))?.data[0]?.[0], 1);
  await cache.set('huge', { shapes: [[100]], data: [new Float32Array(100)] });
  assert.equal(await cache.get('huge'), undefined, 'an entry larger than the bound is not kept');
  assert.throws(() => createFeatureCache({ maxBytes: 1.5 }), { name: 'TypeError', message: 'Expected non-negative integer for maxBytes but received 1.5 of type number' });
});
