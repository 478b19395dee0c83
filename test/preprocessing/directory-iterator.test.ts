import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import { ImageDecodeError } from '../../src/preprocessing/errors';
import type { DirectoryIterator, ImageBatch } from '../../src/preprocessing/directory-iterator';

tf.setBackend('cpu');

/** Builds class folders of tiny 8×8 grey PNGs whose value encodes (class, index). */
async function makeDataset(dir: string, counts: Record<string, number>): Promise<void> {
  let k = 0;
  for (const [cls, n] of Object.entries(counts)) {
    await mkdir(join(dir, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const v = 10 + 20 * k++;
      const px = Buffer.alloc(8 * 8, v);
      px[0] = i; // makes images within a class differ
      await sharp(px, { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, cls, `${String(i).padStart(3, '0')} (x).png`));
    }
  }
}

async function withDataset(counts: Record<string, number>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tl-dir-'));
  try {
    await makeDataset(dir, counts);
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function quiet<T>(fn: () => T): { value: T; out: string } {
  const orig = console.log;
  let out = '';
  console.log = (...a: unknown[]) => {
    out += a.join(' ') + '\n';
  };
  try {
    return { value: fn(), out };
  } finally {
    console.log = orig;
  }
}

function flow(dir: string, gen: ImageDataGenerator, args: Parameters<ImageDataGenerator['flowFromDirectory']>[1]): DirectoryIterator {
  return quiet(() => gen.flowFromDirectory(dir, { targetSize: [8, 8], colorMode: 'grayscale', ...args })).value;
}

function dispose(b: ImageBatch): void {
  b.xs.dispose();
  b.ys?.dispose();
}

test('classes are sorted folders, files sorted within a class, dot-files and non-images ignored, and "Found N images" is printed', async () => {
  await withDataset({ b_normal: 3, a_cancer: 2 }, async (dir) => {
    await writeFile(join(dir, 'a_cancer', 'notes.txt'), 'x');
    await writeFile(join(dir, 'a_cancer', '.hidden.png'), 'x');
    await mkdir(join(dir, '.ipynb_checkpoints'));
    await writeFile(join(dir, 'stray.png'), 'x');
    const { value: it, out } = quiet(() => new ImageDataGenerator().flowFromDirectory(dir, { targetSize: [8, 8] }));
    assert.equal(out, 'Found 5 images belonging to 2 classes.\n');
    assert.deepEqual(it.classIndices, { a_cancer: 0, b_normal: 1 });
    assert.deepEqual(it.filenames, ['a_cancer/000 (x).png', 'a_cancer/001 (x).png', 'b_normal/000 (x).png', 'b_normal/001 (x).png', 'b_normal/002 (x).png']);
    assert.deepEqual(Array.from(it.classes), [0, 0, 1, 1, 1]);
    assert.equal(it.filepaths[0], join(dir, 'a_cancer', '000 (x).png'));
    assert.deepEqual(it.imageShape, [8, 8, 3]);
    assert.equal(it.numClasses, 2);
  });
});

test('10 images with batch 4 give 3 batches per epoch, the last of 2, then the stream wraps into a new epoch', async () => {
  await withDataset({ a: 4, b: 6 }, async (dir) => {
    const it = flow(dir, new ImageDataGenerator({ rescale: 1 / 255 }), { batchSize: 4, shuffle: false, prefetch: 0 });
    assert.equal(it.length, 3);
    const sizes: number[] = [];
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      const b = await it.next();
      sizes.push(b.xs.shape[0]);
      seen.push(...b.indices);
      dispose(b);
    }
    assert.deepEqual(sizes, [4, 4, 2, 4]);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3]);
  });
});

test('the same seed gives identical batches (shuffle and augmentation); another seed differs; prefetch depth changes nothing', async () => {
  await withDataset({ a: 5, b: 5 }, async (dir) => {
    const gen = new ImageDataGenerator({ rotationRange: 30, zoomRange: 0.2, horizontalFlip: true, rescale: 1 / 255 });
    const run = async (seed: number, prefetch: number) => {
      const it = flow(dir, gen, { batchSize: 4, seed, prefetch });
      const res: Array<[number[], number[]]> = [];
      for (let i = 0; i < 6; i++) {
        const b = await it.next();
        res.push([b.indices, Array.from(b.xs.dataSync())]);
        dispose(b);
      }
      return res;
    };
    const a = await run(42, 0);
    assert.deepEqual(await run(42, 3), a);
    const c = await run(43, 1);
    assert.notDeepEqual(c.map((r) => r[0]), a.map((r) => r[0]));
    // two epochs are shuffled differently
    const epoch1 = a.slice(0, 3).flatMap((r) => r[0]);
    const epoch2 = a.slice(3, 6).flatMap((r) => r[0]);
    assert.deepEqual([...epoch1].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(epoch1, epoch2);
  });
});

test('classMode outputs: categorical one-hot, sparse indices, binary [n, 1], input copies xs, null has no ys', async () => {
  await withDataset({ a: 2, b: 2 }, async (dir) => {
    const gen = new ImageDataGenerator();
    const get = async (classMode: 'categorical' | 'sparse' | 'binary' | 'input' | null) => {
      const b = await flow(dir, gen, { classMode, shuffle: false, batchSize: 4 }).next();
      const r = { ys: b.ys ? Array.from(b.ys.dataSync()) : undefined, shape: b.ys?.shape, xs: Array.from(b.xs.dataSync()) };
      dispose(b);
      return r;
    };
    assert.deepEqual((await get('categorical')).ys, [1, 0, 1, 0, 0, 1, 0, 1]);
    assert.deepEqual((await get('sparse')).ys, [0, 0, 1, 1]);
    const bin = await get('binary');
    assert.deepEqual(bin.shape, [4, 1]);
    assert.deepEqual(bin.ys, [0, 0, 1, 1]);
    const inp = await get('input');
    assert.deepEqual(inp.ys, inp.xs);
    assert.equal((await get(null)).ys, undefined);
  });
});

test('rescale and preprocessingFunction reach the batch (pixel value (v + 1) · 0.5)', async () => {
  await withDataset({ a: 1 }, async (dir) => {
    const gen = new ImageDataGenerator({ rescale: 0.5, preprocessingFunction: (x) => tf.add(x, 1) as tf.Tensor3D });
    const b = await flow(dir, gen, { shuffle: false }).next();
    assert.equal(b.xs.dataSync()[1], (10 + 1) * 0.5);
    dispose(b);
  });
});

test('subset splits each class: validation takes the first int(split·n) files, training the rest', async () => {
  await withDataset({ a: 5, b: 4 }, async (dir) => {
    const gen = new ImageDataGenerator({ validationSplit: 0.4 });
    const v = flow(dir, gen, { subset: 'validation' });
    const t = flow(dir, gen, { subset: 'training' });
    assert.deepEqual(v.filenames, ['a/000 (x).png', 'a/001 (x).png', 'b/000 (x).png']);
    assert.equal(t.samples, 6);
  });
});

test('no tensors leak over several epochs, through the epoch iterator, batch(i), reset with prefetched work, and toDataset', async () => {
  await withDataset({ a: 3, b: 3 }, async (dir) => {
    const it = flow(dir, new ImageDataGenerator({ horizontalFlip: true }), { batchSize: 4, seed: 1, prefetch: 2 });
    const before = tf.memory().numTensors;
    for (let e = 0; e < 3; e++) {
      let n = 0;
      for await (const b of it) {
        n += b.xs.shape[0];
        dispose(b);
      }
      assert.equal(n, 6);
    }
    dispose(await it.batch(1));
    await it.next().then(dispose);
    it.reset(); // discards the prefetched batches
    let count = 0;
    await it.toDataset().forEachAsync((b) => {
      count += b.xs.shape[0];
      tf.dispose([b.xs, b.ys]);
    });
    assert.equal(count, 6);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tf.memory().numTensors, before);
  });
});

test('reset() discards prefetched batches without changing what comes next', async () => {
  await withDataset({ a: 3, b: 3 }, async (dir) => {
    const gen = new ImageDataGenerator();
    const a = flow(dir, gen, { batchSize: 2, seed: 5, prefetch: 3 });
    const b = flow(dir, gen, { batchSize: 2, seed: 5, prefetch: 0 });
    const first = await a.next();
    dispose(first);
    a.reset();
    dispose(await b.next());
    b.reset();
    const x = await a.next();
    const y = await b.next();
    assert.deepEqual(x.indices, y.indices);
    dispose(x);
    dispose(y);
  });
});

test('a corrupt image mid-epoch rejects with ImageDecodeError naming its path; validateImages skips it with one warning', async () => {
  await withDataset({ a: 2, b: 2 }, async (dir) => {
    const bad = join(dir, 'b', '001 (x).png');
    await writeFile(bad, 'not an image at all');
    const it = flow(dir, new ImageDataGenerator(), { batchSize: 4, shuffle: false });
    await assert.rejects(it.next(), (e: unknown) => e instanceof ImageDecodeError && e.path === bad);
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (m: string) => warnings.push(m);
    try {
      const skipped = await quiet(() => it.validateImages()).value;
      assert.equal(skipped.length, 1);
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0].includes(bad));
    assert.equal(it.samples, 3);
    const b = await it.next();
    assert.equal(b.xs.shape[0], 3);
    dispose(b);
  });
});

test('deterministic and preprocessingKey describe what determines a sample', async () => {
  await withDataset({ a: 1 }, async (dir) => {
    const plain = flow(dir, new ImageDataGenerator({ rescale: 1 / 255 }), {});
    const aug = flow(dir, new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2 }), {});
    assert.equal(plain.deterministic, true);
    assert.equal(aug.deterministic, false);
    assert.match(plain.preprocessingKey, /targetSize=8x8\|colorMode=grayscale\|interpolation=nearest/);
    assert.notEqual(plain.preprocessingKey, flow(dir, new ImageDataGenerator({ rescale: 1 / 255 }), { interpolation: 'bilinear' }).preprocessingKey);
  });
});

test('worker threads and the main thread give bit-identical batches (grey sources of several sizes to RGB, shear, zoom, rotation, flips, rescale)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tl-dir-'));
  try {
    for (const [cls, n] of [['a', 3], ['b', 3]] as const) {
      await mkdir(join(dir, cls));
      for (let i = 0; i < n; i++) {
        const w = 20 + 7 * i;
        const h = 15 + 5 * i;
        const px = Buffer.alloc(w * h);
        for (let k = 0; k < px.length; k++) px[k] = (k * 37 + i * 11) & 0xff;
        const img = sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w');
        await (i === 1 ? img.jpeg() : img.png()).toFile(join(dir, cls, `${i}.${i === 1 ? 'jpg' : 'png'}`));
      }
    }
    const gen = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 20, zoomRange: 0.3, rotationRange: 30, horizontalFlip: true, verticalFlip: true });
    const run = async (workers: number) => {
      const it = quiet(() => gen.flowFromDirectory(dir, { targetSize: [12, 16], batchSize: 4, seed: 7, workers })).value;
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const b = await it.next();
        out.push(Buffer.from((b.xs.dataSync() as Float32Array).buffer).toString('hex'));
        dispose(b);
      }
      it.dispose();
      return out;
    };
    const inProcess = await run(0);
    assert.deepEqual(await run(2), inProcess);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt image decoded in a worker thread rejects with ImageDecodeError naming its path and problem', async () => {
  await withDataset({ a: 2 }, async (dir) => {
    const bad = join(dir, 'a', '001 (x).png');
    await writeFile(bad, 'not an image at all');
    const it = flow(dir, new ImageDataGenerator(), { batchSize: 2, shuffle: false, workers: 1 });
    try {
      await assert.rejects(it.next(), (e: unknown) => e instanceof ImageDecodeError && e.path === bad && e.problem === 'unsupported-format');
    } finally {
      it.dispose();
    }
  });
});

test('the process exits on its own after batches from worker threads, without dispose()', async () => {
  await withDataset({ a: 2 }, async (dir) => {
    const mod = require.resolve('../../src/preprocessing/image-data-generator');
    const script = `
      const { ImageDataGenerator } = require(${JSON.stringify(mod)});
      const it = new ImageDataGenerator({ horizontalFlip: true }).flowFromDirectory(${JSON.stringify(dir)}, { targetSize: [8, 8], batchSize: 2, workers: 2, prefetch: 2, verbose: false });
      it.next().then((b) => { process.stdout.write('batch ' + b.xs.shape.join('x')); });`;
    const { spawnSync } = await import('node:child_process');
    const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(res.signal, null, 'the child had to be killed: something kept it alive');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /batch 2x8x8x3/);
  });
});

test('nextPlan hands out the same stream as next() (order, epochs, augmentation, totalBatchesSeen) and decodes only the positions asked for', async () => {
  await withDataset({ a: 5, b: 5 }, async (dir) => {
    const gen = new ImageDataGenerator({ shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true, rescale: 1 / 255 });
    const reference = flow(dir, gen, { batchSize: 4, seed: 5, prefetch: 0, workers: 0 });
    const planned = flow(dir, gen, { batchSize: 4, seed: 5, prefetch: 2, workers: 0 });
    const size = 8 * 8;
    for (let step = 0; step < 7; step++) {
      const want = await reference.next();
      const xs = Array.from(want.xs.dataSync());
      if (step % 3 === 2) {
        const got = await planned.next(); // mixing next() and nextPlan() keeps one stream
        assert.deepEqual(got.indices, want.indices);
        assert.deepEqual(Array.from(got.xs.dataSync()), xs);
        dispose(got);
      } else {
        // The hint skips odd samples in prefetched batches; load() still gives any position, in the order asked.
        const plan = await planned.nextPlan({ skip: (f) => planned.filepaths.indexOf(f) % 2 === 1 });
        assert.deepEqual(plan.indices, want.indices);
        assert.deepEqual(plan.filepaths, want.filepaths);
        assert.deepEqual(Array.from(plan.ys?.dataSync() ?? []), Array.from(want.ys?.dataSync() ?? []));
        const positions = plan.indices.map((_, i) => i).reverse();
        const pixels = await plan.load(positions);
        positions.forEach((p, k) => assert.deepEqual(Array.from(pixels.subarray(k * size, (k + 1) * size)), xs.slice(p * size, (p + 1) * size), `step ${step} position ${p}`));
        plan.ys?.dispose();
      }
      assert.equal(planned.totalBatchesSeen, reference.totalBatchesSeen);
      dispose(want);
    }
    planned.dispose();
  });
});

test('a planned batch never decodes the images it is not asked for; asking for a corrupt one rejects naming it', async () => {
  await withDataset({ a: 2, b: 2 }, async (dir) => {
    const bad = join(dir, 'b', '001 (x).png');
    await writeFile(bad, 'not an image at all');
    const it = flow(dir, new ImageDataGenerator(), { batchSize: 4, shuffle: false, prefetch: 1, workers: 0 });
    const before = tf.memory().numTensors;
    for (let epoch = 0; epoch < 2; epoch++) {
      const plan = await it.nextPlan({ skip: (f) => f === bad });
      const pixels = await plan.load([0, 1, 2]);
      assert.equal(pixels.length, 3 * 8 * 8);
      await assert.rejects(plan.load([3]), (e: unknown) => e instanceof ImageDecodeError && e.path === bad);
      await assert.rejects(plan.load([4]), RangeError); // positions are checked
      plan.ys?.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'plans leak no tensors');
    const input = flow(dir, new ImageDataGenerator(), { classMode: 'input', batchSize: 4 });
    await assert.rejects(input.nextPlan(), /classMode/);
  });
});

test('nextPlan({ ahead }) decodes no batch beyond the ones the caller will take (without it, the next batch decodes ahead)', async () => {
  // Observed through the file: a batch decoded ahead shows the image as it was then, one decoded
  // on demand shows it as it is when asked for.
  for (const ahead of [undefined, 0]) {
    await withDataset({ a: 2, b: 2 }, async (dir) => {
      const it = flow(dir, new ImageDataGenerator(), { batchSize: 2, shuffle: false, prefetch: 1, workers: 0 });
      const first = await it.nextPlan({ ahead });
      await first.load([0, 1]);
      first.ys?.dispose();
      await new Promise((resolve) => setTimeout(resolve, 300)); // a decode started ahead is over by now
      await sharp(Buffer.alloc(64, 255), { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, 'b', '000 (x).png'));
      const second = await it.nextPlan();
      const pixels = await second.load([0]);
      second.ys?.dispose();
      const white = Array.from(pixels).every((v) => v === 255);
      assert.equal(white, ahead === 0, ahead === 0 ? 'decoded on demand: the new file' : 'decoded ahead: the file as it was');
      it.dispose();
    });
  }
});

test('seek(k) then next() gives batch k+1 of a fresh uninterrupted iterator (order and augmentation), across epoch boundaries, whatever came before', async () => {
  await withDataset({ a: 5, b: 5 }, async (dir) => {
    const gen = new ImageDataGenerator({ shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true, rescale: 1 / 255 });
    const read = async (it: DirectoryIterator): Promise<[number[], number[], number]> => {
      const b = await it.next();
      try {
        return [b.indices, Array.from(b.xs.dataSync()), it.totalBatchesSeen];
      } finally {
        dispose(b);
      }
    };
    const fresh = flow(dir, gen, { batchSize: 4, seed: 9, prefetch: 0 }); // 3 batches per epoch (4, 4, 2)
    const stream: Array<[number[], number[], number]> = [];
    for (let i = 0; i < 9; i++) stream.push(await read(fresh));
    const before = tf.memory().numTensors;
    // One iterator, moved around: forwards, backwards, within and across epochs, with prefetched work in flight.
    const it = flow(dir, gen, { batchSize: 4, seed: 9, prefetch: 2 });
    await read(it);
    for (const k of [2, 3, 5, 1, 4, 0, 6, 7, 3]) {
      it.seek(k);
      assert.equal(it.totalBatchesSeen, k);
      assert.deepEqual(await read(it), stream[k], `batch ${k + 1}`);
      assert.deepEqual(await read(it), stream[k + 1], `batch ${k + 2}`);
    }
    // A stream that called reset() mid-epoch is off the uninterrupted path; seek puts it back.
    it.reset();
    it.seek(5);
    assert.deepEqual(await read(it), stream[5]);
    // setEpoch(epoch, steps) is seek(epoch * steps): fit's steps may not divide the epoch.
    it.setEpoch(3, 2);
    assert.deepEqual(await read(it), stream[6]);
    it.dispose();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(tf.memory().numTensors, before);
  });
});

test('seek to where the stream already is keeps the prefetched batches; invalid positions are rejected', async () => {
  await withDataset({ a: 3, b: 3 }, async (dir) => {
    const it = flow(dir, new ImageDataGenerator({ horizontalFlip: true }), { batchSize: 4, seed: 2, prefetch: 2 });
    const first = await it.next();
    dispose(first);
    const queue = (it as unknown as { queue: unknown[] }).queue;
    assert.equal(queue.length, 2);
    it.seek(1);
    assert.equal((it as unknown as { queue: unknown[] }).queue, queue, 'the same prefetch queue');
    assert.equal(queue.length, 2);
    it.seek(2);
    assert.equal((it as unknown as { queue: unknown[] }).queue.length, 0, 'prefetch dropped, rebuilt by the next batch');
    assert.throws(() => it.seek(-1), { message: 'Expected non-negative integer for totalBatchesSeen but received -1 of type number' });
    assert.throws(() => it.seek(1.5), { message: 'Expected non-negative integer for totalBatchesSeen but received 1.5 of type number' });
    assert.throws(() => it.setEpoch(1, 0), { message: 'Expected positive integer for stepsPerEpoch but received 0 of type number' });
    it.dispose();
  });
});
