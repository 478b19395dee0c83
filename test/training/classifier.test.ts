import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { PhantomNet } from '../../src/applications/phantom-net';
import { classifyImage, loadClassifier, saveClassifier } from '../../src/training/classifier';
import { saveModelFile } from '../../src/training/checkpoint-file';
import { CheckpointError } from '../../src/training/errors';
import { ImageDecodeError } from '../../src/preprocessing/errors';
import { loadImage } from '../../src/preprocessing/image-io';

const classNames = ['adenocarcinoma', 'large.cell.carcinoma', 'normal', 'squamous.cell.carcinoma'];
const preprocessing = { targetSize: [32, 32] as [number, number], colorMode: 'grayscale' as const, rescale: 1 / 255 };

test('saveClassifier → loadClassifier: the same predictions bit for bit, class names and preprocessing kept, a single file classified', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-classifier-'));
  try {
    const model = await PhantomNet({ includeTop: true, weights: null, classes: 4, inputShape: [32, 32, 1], seed: 5 });
    // Move the BN statistics off their initial values so the test covers non-trainable weights too.
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const w = layer.getWeights();
      layer.setWeights(w.map((t, i) => tf.tidy(() => t.add(tf.scalar(0.1 * (i + 1))))));
      tf.dispose(w);
    }
    const file = path.join(dir, 'nested', 'model.tlm');
    saveClassifier(model, file, { classNames, preprocessing, description: 'test' });
    const image = path.join(dir, 'scan.png');
    const pixels = Buffer.alloc(40 * 30);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
    await sharp(pixels, { raw: { width: 40, height: 30, channels: 1 } }).png().toFile(image);
    const img = await loadImage(image, { targetSize: [32, 32], colorMode: 'grayscale' });
    const x = tf.tidy(() => tf.tensor4d(img.data, [1, 32, 32, 1]).mul(1 / 255));
    const expected = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    model.dispose();

    const before = tf.memory().numTensors;
    const clf = await loadClassifier(file);
    assert.deepEqual(clf.classNames, classNames);
    assert.deepEqual(clf.preprocessing, { ...preprocessing, interpolation: 'nearest' });
    assert.equal(clf.description, 'test');
    const loaded = tf.tidy(() => (clf.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    assert.deepEqual(Array.from(loaded), Array.from(expected), 'bit for bit');
    const answer = await classifyImage(clf, image, { topK: 2 });
    const best = expected.indexOf(Math.max(...expected));
    assert.equal(answer.classIndex, best);
    assert.equal(answer.className, classNames[best]);
    assert.equal(answer.probability, expected[best]);
    assert.equal(answer.top.length, 2);
    assert.ok(answer.top[0].probability >= answer.top[1].probability);
    assert.match(answer.text, new RegExp(`scan\\.png: ${classNames[best].replace(/\./g, '\\.')} \\(\\d+\\.\\d%\\); next: `));
    await assert.rejects(classifyImage(clf, path.join(dir, 'missing.png')), ImageDecodeError);
    clf.dispose();
    x.dispose();
    assert.equal(tf.memory().numTensors, before - 1, 'only the input tensor of this test was freed besides the classifier');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('saveClassifier refuses class names that do not match the outputs; loadClassifier refuses a bare model file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-classifier-'));
  try {
    const model = await PhantomNet({ includeTop: true, weights: null, classes: 4, inputShape: [32, 32, 1], seed: 5 });
    assert.throws(() => saveClassifier(model, path.join(dir, 'a.tlm'), { classNames: ['a', 'b'], preprocessing }), /4 names/);
    assert.throws(() => saveClassifier(model, path.join(dir, 'a.tlm'), { classNames, preprocessing: { ...preprocessing, colorMode: 'cmyk' as 'rgb' } }), TypeError);
    assert.equal(fs.existsSync(path.join(dir, 'a.tlm')), false);
    saveModelFile(model, path.join(dir, 'bare.tlm'));
    const before = tf.memory().numTensors;
    await assert.rejects(loadClassifier(path.join(dir, 'bare.tlm')), (e: unknown) => e instanceof CheckpointError && /bare model/.test((e as Error).message));
    assert.equal(tf.memory().numTensors, before, 'the refused model is freed');
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
