import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { displayGradCam, gradCamOverlays } from '../../src/plots/grad-cam';
import type { GradCamResult } from '../../src/training/grad-cam';

function fakeCam(): { images: { xs: Float32Array; shape: [number, number, number, number] }; cam: GradCamResult } {
  const xs = new Float32Array(2 * 8 * 8).fill(0.5);
  const hot = new Float32Array(64);
  hot[3 * 8 + 5] = 1; // one hot pixel at (5, 3)
  return {
    images: { xs, shape: [2, 8, 8, 1] },
    cam: { heatmaps: [hot, new Float32Array(64)], height: 8, width: 8, layerName: 'conv', layerSize: [2, 2], classIndices: Int32Array.from([1, 0]), outputs: [Float32Array.from([0.2, 0.8]), Float32Array.from([0.6, 0.4])], emptyMaps: 1 },
  };
}

test('gradCamOverlays: grey where the map is cold, jet red where it is hottest, the true box outlined, caption with class, probability and truth', () => {
  const { images, cam } = fakeCam();
  const tiles = gradCamOverlays(images, cam, { classNames: ['normal', 'nodule'], labels: [1, 1], boxes: [{ x0: 0, y0: 0, x1: 2, y1: 2 }, null], alpha: 0.5 });
  assert.equal(tiles.length, 2);
  const t = tiles[0];
  assert.deepEqual([t.height, t.width, t.channels], [8, 8, 3]);
  const px = (x: number, y: number) => Array.from(t.data.slice((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
  assert.deepEqual(px(7, 7), [128, 128, 128], 'cold: the grey image');
  const [r, g, b] = px(5, 3);
  assert.ok(r > 1.5 * g && r > 1.5 * b, `hot pixel is red-ish (jet ends in dark red): ${[r, g, b]}`);
  assert.deepEqual(px(0, 0), [40, 220, 60], 'box outline');
  assert.deepEqual(px(1, 1), [40, 220, 60], 'a 2×2 box is all outline');
  assert.equal(t.title, 'nodule 80%\ntrue nodule');
  assert.equal(tiles[1].title, 'normal 60%\ntrue nodule');
  assert.throws(() => gradCamOverlays(images, cam, { indices: [2] }), TypeError);
});

test('displayGradCam draws a grid PNG of the overlays', async () => {
  const { images, cam } = fakeCam();
  const png = await displayGradCam(images, cam, { show: false, scale: 4, columns: 2 });
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! >= 2 * 32 && meta.height! >= 32);
});

test('gradCamOverlays from a tensor of images leaves no tensor behind', () => {
  const { images, cam } = fakeCam();
  const x = tf.tensor4d(images.xs, images.shape);
  const before = tf.memory().numTensors;
  const tiles = gradCamOverlays(x, cam);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(Array.from(tiles[0].data.slice(0, 3)), Array.from(gradCamOverlays(images, cam)[0].data.slice(0, 3)));
  x.dispose();
});
