import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aspectCropBox, resolveLoadOptions, type ColorMode } from '../../src/preprocessing/image-io';
import { type ImageJob, renderDecoded } from '../../src/preprocessing/image-kernel';
import { applyImageTransform, compileTransform, type TransformParams } from '../../src/preprocessing/image-transform';
import type { Box, RawImage } from '../../src/preprocessing/resize';

/** Deterministic values of an image: bytes, or floats in [0, 255] (a 16-bit source). */
function image(h: number, w: number, ch: number, float: boolean, seed: number): RawImage<Uint8Array> | RawImage<Float32Array> {
  const n = h * w * ch;
  const data = float ? new Float32Array(n) : new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = float ? ((s >> 8) % 65536) / 257 : (s >> 16) & 255;
  }
  return { data, height: h, width: w, channels: ch } as RawImage<Uint8Array> | RawImage<Float32Array>;
}

/** PIL NEAREST written out plainly, independently of resize.ts: source floor(b + (i + 0.5)·extent/out), clamped. */
function naiveNearest(src: RawImage<Uint8Array> | RawImage<Float32Array>, th: number, tw: number, box: Box): RawImage<Uint8Array> | RawImage<Float32Array> {
  const ch = src.channels;
  const out = src.data instanceof Float32Array ? new Float32Array(th * tw * ch) : new Uint8Array(th * tw * ch);
  for (let y = 0; y < th; y++) {
    const sy = Math.min(src.height - 1, Math.floor(box[1] + ((y + 0.5) * (box[3] - box[1])) / th));
    for (let x = 0; x < tw; x++) {
      const sx = Math.min(src.width - 1, Math.floor(box[0] + ((x + 0.5) * (box[2] - box[0])) / tw));
      for (let k = 0; k < ch; k++) out[(y * tw + x) * ch + k] = src.data[(sy * src.width + sx) * ch + k] as number;
    }
  }
  return { data: out, height: th, width: tw, channels: ch } as RawImage<Uint8Array> | RawImage<Float32Array>;
}

/** The copy with flips, float32 rescale and grey replication, written out plainly (no affine, no photometric). */
function naiveCopy(src: RawImage<Uint8Array> | RawImage<Float32Array>, outCh: number, flipH: boolean, flipV: boolean, rescale: number | null): Float32Array {
  const { height: h, width: w, channels: ch } = src;
  const out = new Float32Array(h * w * outCh);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = ((flipV ? h - 1 - y : y) * w + (flipH ? w - 1 - x : x)) * outCh;
      for (let k = 0; k < outCh; k++) {
        const v = src.data[(y * w + x) * ch + (ch === 1 ? 0 : k)] as number;
        out[d + k] = rescale === null ? v : Math.fround(Math.fround(v) * Math.fround(rescale));
      }
    }
  }
  return out;
}

const TRANSFORMS: Array<[string, Partial<TransformParams> | null, number | null]> = [
  ['none', null, null],
  ['rescale', null, 1 / 255],
  ['flips + rescale', { flipHorizontal: true, flipVertical: true }, 1 / 255],
  ['horizontal flip', { flipHorizontal: true }, null],
  ['shear + zoom (affine: resized first)', { shear: 12, zx: 0.9, zy: 1.1 }, 1 / 255],
  ['brightness (photometric: resized first)', { brightness: 1.2 }, 1 / 255],
];

test('a nearest resize folded into the final write gives exactly the resize followed by the transform', () => {
  const cases: Array<[string, number, number, number, boolean, ColorMode, [number, number], boolean]> = [
    ['RGB downscale', 37, 41, 3, false, 'rgb', [24, 20], false],
    ['RGB upscale', 9, 7, 3, false, 'rgb', [20, 23], false],
    ['RGB, keepAspectRatio', 30, 50, 3, false, 'rgb', [16, 16], true],
    ['grey as RGB', 33, 29, 1, false, 'rgb', [17, 19], false],
    ['grey', 33, 29, 1, false, 'grayscale', [12, 40], false],
    ['RGBA', 21, 26, 4, false, 'rgba', [13, 11], false],
    ['16-bit RGB', 25, 19, 3, true, 'rgb', [11, 14], true],
  ];
  let seed = 3;
  for (const [name, h, w, ch, float, colorMode, [th, tw], keep] of cases) {
    const raw = image(h, w, ch, float, seed++);
    const load = resolveLoadOptions({ targetSize: [th, tw], colorMode, keepAspectRatio: keep });
    const box: Box = keep ? aspectCropBox(w, h, th, tw) : [0, 0, w, h];
    for (const [what, params, rescale] of TRANSFORMS) {
      const t = compileTransform(params, th, tw, 'nearest', 0, rescale);
      const job: ImageJob = { ...t, path: 'x.png', load };
      const outCh = colorMode === 'grayscale' ? 1 : colorMode === 'rgb' ? 3 : 4;
      const got = renderDecoded(raw, job);
      const resized = naiveNearest(raw, th, tw, box);
      let want: Float32Array = new Float32Array(th * tw * outCh);
      if (t.matrix === null && t.brightness === null) want = naiveCopy(resized, outCh, t.flipHorizontal, t.flipVertical, rescale);
      else applyImageTransform(resized, t, { out: want, outChannels: outCh });
      assert.equal(got.length, want.length, `${name}, ${what}`);
      assert.ok(got.every((v, i) => Object.is(v, want[i])), `${name}, ${what}: values differ`);
    }
  }
});

test('the folded write lands at its offset and leaves the rest of the batch buffer alone', () => {
  const raw = image(40, 40, 3, false, 11);
  const load = resolveLoadOptions({ targetSize: [8, 8] });
  const job: ImageJob = { ...compileTransform(null, 8, 8, 'nearest', 0, 1 / 255), path: 'x.png', load };
  const buf = new Float32Array(3 * 8 * 8 * 3).fill(-1);
  renderDecoded(raw, job, buf, 8 * 8 * 3);
  assert.ok(buf.subarray(0, 192).every((v) => v === -1));
  assert.ok(buf.subarray(384).every((v) => v === -1));
  const alone = renderDecoded(raw, job);
  assert.deepEqual(Array.from(buf.subarray(192, 384)), Array.from(alone));
});
