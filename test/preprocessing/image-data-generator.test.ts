import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ImageDataGenerator } from '../../src/preprocessing/image-data-generator';
import type { ImageArray } from '../../src/preprocessing/affine';

tf.setBackend('cpu');

const ramp = (h: number, w: number, c = 1): ImageArray => ({
  data: Float32Array.from({ length: h * w * c }, (_, i) => i),
  height: h,
  width: w,
  channels: c,
});

test('getRandomTransform is pure for a numeric seed and differs between seeds', () => {
  const gen = new ImageDataGenerator({ rotationRange: 30, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true, widthShiftRange: 0.1, heightShiftRange: 0.1 });
  const a = gen.getRandomTransform([224, 224, 3], 7);
  assert.deepEqual(gen.getRandomTransform([224, 224, 3], 7), a);
  assert.notDeepEqual(gen.getRandomTransform([224, 224, 3], 8), a);
  assert.ok(Math.abs(a.theta) <= 30 && Math.abs(a.shear) <= 0.2);
  assert.ok(a.zx >= 0.8 && a.zx <= 1.2 && a.zy >= 0.8 && a.zy <= 1.2 && a.zx !== a.zy);
  assert.ok(Math.abs(a.tx) <= 22.4 && Math.abs(a.ty) <= 22.4);
  assert.equal(a.flipVertical, false);
  assert.equal(a.channelShiftIntensity, null);
  assert.equal(a.brightness, null);
});

test('shift ranges follow Keras: fraction < 1 of the size, integer n → whole pixels in (−n, n), arrays → choices', () => {
  const frac = new ImageDataGenerator({ heightShiftRange: 0.5 });
  const intg = new ImageDataGenerator({ widthShiftRange: 3 });
  const arr = new ImageDataGenerator({ widthShiftRange: [5, 7] });
  for (let s = 0; s < 50; s++) {
    assert.ok(Math.abs(frac.getRandomTransform([10, 40, 1], s).tx) <= 5);
    const t = intg.getRandomTransform([10, 40, 1], s).ty;
    assert.ok(Number.isInteger(t) && Math.abs(t) <= 2, String(t));
    assert.ok([5, 7, -5, -7].includes(arr.getRandomTransform([10, 40, 1], s).ty));
  }
});

test('zoomRange as a number z gives [1 − z, 1 + z]; a pair is kept; neutral zoom draws nothing', () => {
  assert.deepEqual(new ImageDataGenerator({ zoomRange: 0.2 }).zoomRange, [0.8, 1.2]);
  assert.deepEqual(new ImageDataGenerator({ zoomRange: [0.5, 2] }).zoomRange, [0.5, 2]);
  const p = new ImageDataGenerator({}).getRandomTransform([4, 4, 1], 1);
  assert.equal(p.zx, 1);
  assert.equal(p.zy, 1);
});

test('invalid options are refused with the value received', () => {
  assert.throws(() => new ImageDataGenerator({ fillMode: 'mirror' as never }), { message: "Expected one of 'nearest', 'constant', 'reflect', 'wrap' for fillMode but received 'mirror' of type string" });
  assert.throws(() => new ImageDataGenerator({ validationSplit: 1.5 }), /validationSplit/);
  assert.throws(() => new ImageDataGenerator({ zoomRange: [1] as never }), /zoomRange/);
  assert.throws(() => new ImageDataGenerator({ brightnessRange: [0.5] as never }), /brightnessRange/);
});

test('applyTransform applies the affine, then channel shift, then flips, then brightness — on arrays and tensors', () => {
  const gen = new ImageDataGenerator({});
  const x = ramp(2, 3);
  const flipped = gen.applyTransform(x, { flipHorizontal: true, flipVertical: true });
  assert.deepEqual(Array.from(flipped.data), [5, 4, 3, 2, 1, 0]);
  // channel shift before flip: shifted values clip to the ORIGINAL range [0, 5]
  const shifted = gen.applyTransform(x, { channelShiftIntensity: 2, flipHorizontal: true });
  assert.deepEqual(Array.from(shifted.data), [4, 3, 2, 5, 5, 5]);
  const before = tf.memory().numTensors;
  const t = tf.tensor3d(x.data, [2, 3, 1]);
  const out = gen.applyTransform(t, { flipHorizontal: true });
  assert.deepEqual(Array.from(out.dataSync()), [2, 1, 0, 5, 4, 3]);
  t.dispose();
  out.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('randomTransform with a seed is reproducible', () => {
  const gen = new ImageDataGenerator({ rotationRange: 40, zoomRange: 0.3, horizontalFlip: true, fillMode: 'reflect' });
  const x = ramp(6, 6, 3);
  assert.deepEqual(gen.randomTransform(x, 3).data, gen.randomTransform(x, 3).data);
});

test('standardize applies preprocessingFunction before rescale, as Keras', () => {
  const gen = new ImageDataGenerator({ rescale: 0.5, preprocessingFunction: (x) => tf.add(x, 1) as tf.Tensor3D });
  const out = gen.standardize(ramp(1, 3));
  assert.deepEqual(Array.from(out.data), [0.5, 1, 1.5]);
  const before = tf.memory().numTensors;
  const t = tf.tensor3d([0, 1, 2], [1, 3, 1]);
  const s = gen.standardize(t);
  assert.deepEqual(Array.from(s.dataSync()), [0.5, 1, 1.5]);
  tf.dispose([t, s]);
  assert.equal(tf.memory().numTensors, before);
});

test('rescale multiplies in float32 like numpy (1/255 applied to 255 gives exactly 1)', () => {
  const out = new ImageDataGenerator({ rescale: 1 / 255 }).standardize({ data: Float32Array.from([255, 128]), height: 1, width: 2, channels: 1 });
  assert.equal(out.data[0], Math.fround(255 * Math.fround(1 / 255)));
  assert.equal(out.data[1], Math.fround(128 * Math.fround(1 / 255)));
});

test('deterministic is true only without random augmentation; the standardize key names rescale and the function', () => {
  assert.equal(new ImageDataGenerator({ rescale: 1 / 255 }).deterministic, true);
  assert.equal(new ImageDataGenerator({ shearRange: 0.2 }).deterministic, false);
  assert.equal(new ImageDataGenerator({ horizontalFlip: true }).deterministic, false);
  function myPre(x: tf.Tensor3D): tf.Tensor3D {
    return x;
  }
  const k = new ImageDataGenerator({ rescale: 0.5, preprocessingFunction: myPre }).standardizeKey;
  assert.match(k, /rescale=0\.5/);
  assert.match(k, /preprocessingFunction=myPre#[0-9a-f]{8}/);
});
