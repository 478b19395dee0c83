import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { displayImageGrid } from '../../src/plots';

test('displayImageGrid composes tiles and captions into a PNG of the expected size', async () => {
  const rgb = new Float32Array(8 * 10 * 3).fill(1); // white in [0, 1]
  const grey = new Uint8Array(8 * 10).fill(0);
  const png = await displayImageGrid(
    [{ data: rgb, height: 8, width: 10, channels: 3, title: 'one' }, { data: grey, height: 8, width: 10, channels: 1, title: 'two' }, { data: rgb, height: 8, width: 10, channels: 3 }],
    { columns: 2, scale: 2, show: false },
  );
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  // 2 columns of 20 px + 3 gaps of 6; 2 rows of (16 + 20 caption) + 3 gaps of 6.
  assert.equal(meta.width, 2 * 20 + 3 * 6);
  assert.equal(meta.height, 2 * (16 + 20) + 3 * 6);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number): number => data[(y * info.width + x) * info.channels] as number;
  assert.equal(at(6 + 20 + 6 + 5, 6 + 5), 0, 'the black tile is black');
  assert.equal(at(6 + 5, 6 + 36 + 6 + 5), 255, 'the float tile in [0, 1] is white');
});

test('float pixels in [-1, 1] are mapped to 0..255 (InceptionV3 preprocessing)', async () => {
  const data = new Float32Array(4 * 4).fill(-1);
  const png = await displayImageGrid([{ data, height: 4, width: 4, channels: 1 }], { show: false });
  const { data: raw, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, 'RGB, no alpha');
  assert.equal(raw[(6 * info.width + 6) * 3], 0);
});

test('displayImageGrid rejects data of the wrong length', async () => {
  await assert.rejects(displayImageGrid([{ data: new Uint8Array(5), height: 2, width: 2, channels: 3 }], { show: false }), {
    message: "Expected 12 values (height × width × channels) for images[0].data but received '5 values' of type string",
  });
  await assert.rejects(displayImageGrid([]), /non-empty array of images/);
});
