// What notebook 03's readers can feed it by mistake: a damaged or foreign lesions file, a saved
// model cut short or replaced by a web page, an image file that is not an image, images of the
// wrong shape for Grad-CAM. Each is a typed error that names the file and says what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readPhantomLesions, LesionsUnavailableError } from '../../src/data/phantom-lesions';
import { PhantomNet } from '../../src/applications/phantom-net';
import { saveClassifier, loadClassifier, classifyImage } from '../../src/training/classifier';
import { CheckpointError } from '../../src/training/errors';
import { gradCam } from '../../src/training/grad-cam';
import { ImageDecodeError } from '../../src/preprocessing/errors';

function inTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tl-hostile-explain-'));
  return fn(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('a lesions.json cut short, or another JSON file under that name, is a LesionsUnavailableError naming the file', async () => {
  await inTmp(async (dir) => {
    const file = path.join(dir, 'lesions.json');
    fs.writeFileSync(file, '{"format": "transferlab-phantom-lesions", "images": {"train/a/1.png": {"wid');
    assert.throws(() => readPhantomLesions(dir), (e: unknown) => e instanceof LesionsUnavailableError && e.path === file && /does not parse/.test(e.message) && /Generate the phantom again/.test(e.message));
    fs.writeFileSync(file, JSON.stringify({ name: 'some package', version: '1.0.0' }));
    assert.throws(() => readPhantomLesions(dir), (e: unknown) => e instanceof LesionsUnavailableError && /transferlab-phantom-lesions/.test(e.message) && e.message.includes(file));
  });
});

test('a saved classifier cut short or replaced by an HTML page is a CheckpointError naming the file; nothing is left allocated', async () => {
  await inTmp(async (dir) => {
    const model = await PhantomNet({ includeTop: true, weights: null, classes: 2, inputShape: [16, 16, 1], seed: 1 });
    const file = path.join(dir, 'model.tlm');
    saveClassifier(model, file, { classNames: ['a', 'b'], preprocessing: { targetSize: [16, 16], colorMode: 'grayscale', rescale: 1 / 255 } });
    model.dispose();
    const full = fs.readFileSync(file);
    const before = tf.memory().numTensors;
    fs.writeFileSync(file, full.subarray(0, Math.floor(full.length * 0.6)));
    await assert.rejects(loadClassifier(file), (e: unknown) => e instanceof CheckpointError && e.path === file);
    fs.writeFileSync(file, '<!DOCTYPE html><html><body>Sign in</body></html>');
    await assert.rejects(loadClassifier(file), (e: unknown) => e instanceof CheckpointError && (e as Error).message.includes(file));
    assert.equal(tf.memory().numTensors, before);
  });
});

test('classifyImage on a text file named .png is an ImageDecodeError naming it; gradCam on images of the wrong shape says what it expected', async () => {
  await inTmp(async (dir) => {
    const model = await PhantomNet({ includeTop: true, weights: null, classes: 2, inputShape: [16, 16, 1], seed: 1 });
    const file = path.join(dir, 'model.tlm');
    saveClassifier(model, file, { classNames: ['a', 'b'], preprocessing: { targetSize: [16, 16], colorMode: 'grayscale', rescale: 1 / 255 } });
    const clf = await loadClassifier(file);
    const fake = path.join(dir, 'scan.png');
    fs.writeFileSync(fake, 'not an image at all');
    await assert.rejects(classifyImage(clf, fake), (e: unknown) => e instanceof ImageDecodeError && (e as Error).message.includes(fake));
    clf.dispose();
    await assert.rejects(gradCam(model, { xs: new Float32Array(10), shape: [1, 16, 16, 1] }), (e: unknown) => e instanceof TypeError && /n·h·w·c values/.test((e as Error).message));
    const rgb = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    await assert.rejects(gradCam(model, rgb), (e: unknown) => e instanceof TypeError && /\[n, 16, 16, 1\]/.test((e as Error).message) && /\[1, 16, 16, 3\]/.test((e as Error).message));
    rgb.dispose();
    model.dispose();
  });
});
