import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type FillMode,
  type ImageArray,
  affineMatrix,
  applyAffineTransform,
  applyBrightnessShift,
  applyChannelShift,
  flipAxis,
} from '../../src/preprocessing/affine';

const img = (rows: number[][], channels = 1): ImageArray => ({
  data: Float32Array.from(rows.flat()),
  height: rows.length,
  width: rows[0].length / channels,
  channels,
});
const rowsOf = (x: ImageArray): number[][] =>
  Array.from({ length: x.height }, (_, r) => Array.from(x.data.subarray(r * x.width * x.channels, (r + 1) * x.width * x.channels)));

test('flipAxis reverses columns (axis 1) and rows (axis 0) exactly, channel by channel', () => {
  const x = img([[1, 10, 2, 20, 3, 30], [4, 40, 5, 50, 6, 60]], 2);
  assert.deepEqual(rowsOf(flipAxis(x, 1)), [[3, 30, 2, 20, 1, 10], [6, 60, 5, 50, 4, 40]]);
  assert.deepEqual(rowsOf(flipAxis(x, 0)), [[4, 40, 5, 50, 6, 60], [1, 10, 2, 20, 3, 30]]);
});

// One row [0, 10, 20, 30]: tx shifts the sampling column (Keras 3 applies tx along columns).
const row = img([[0, 10, 20, 30]]);
const cases: Array<[FillMode, number, number[]]> = [
  ['nearest', 1.5, [15, 25, 30, 30]],
  ['constant', 1.5, [15, 25, -1, -1]],
  ['reflect', 1.5, [15, 25, 30, 25]],
  ['wrap', 1.5, [15, 25, 5, 15]],
  ['nearest', -1.5, [0, 0, 5, 15]],
  ['constant', -1.5, [-1, -1, 5, 15]],
  ['reflect', -1.5, [5, 0, 5, 15]],
  ['wrap', -1.5, [15, 25, 5, 15]],
];
for (const [mode, tx, expected] of cases) {
  test(`fill mode '${mode}' with a ${tx} pixel shift gives scipy's values ${JSON.stringify(expected)}`, () => {
    const out = applyAffineTransform(row, { tx }, mode, -1);
    assert.deepEqual(Array.from(out.data), expected);
  });
}

test('rotation by 90° turns a 3×3 image counter-clockwise about its centre', () => {
  const x = img([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  const out = rowsOf(applyAffineTransform(x, { theta: 90 }));
  const expected = [[3, 6, 9], [2, 5, 8], [1, 4, 7]];
  out.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - expected[i][j]) < 1e-5, `${i},${j}: ${v}`)));
});

test('zoom on a square image scales about the centre (zx = 2 samples column 2c − 2 on a 5×5 image)', () => {
  const x = img(Array.from({ length: 5 }, () => [0, 10, 20, 30, 40]));
  const out = rowsOf(applyAffineTransform(x, { zx: 2 }, 'nearest'));
  for (const r of out) assert.deepEqual(r, [0, 0, 20, 40, 40]);
});

test('on a non-square image the centre offsets are transposed, exactly as Keras passes (h, w) to transform_matrix_offset_center', () => {
  // 1 row × 5 columns: Keras puts (h-1)/2 = 0 on the column coordinate, so zx = 2 zooms about column 0.
  const out = applyAffineTransform(img([[0, 10, 20, 30, 40]]), { zx: 2 }, 'nearest');
  assert.deepEqual(Array.from(out.data), [0, 20, 40, 40, 40]);
});

test('neutral parameters return the input untouched, as Keras skips the transform', () => {
  const x = img([[1, 2], [3, 4]]);
  assert.equal(applyAffineTransform(x, { theta: 0, zx: 1, zy: 1 }), x);
  assert.equal(affineMatrix({}, 2, 2), null);
});

// ---- an independent reference: bilinear interpolation of the boundary-extended signal -------------
function refMatrix(p: { theta?: number; tx?: number; ty?: number; shear?: number; zx?: number; zy?: number }, h: number, w: number) {
  // Keras: M = R·T·S·Z in (x=col, y=row) with centre offsets ((h-1)/2 on x, (w-1)/2 on y).
  const t = ((p.theta ?? 0) * Math.PI) / 180;
  const s = ((p.shear ?? 0) * Math.PI) / 180;
  const zx = p.zx ?? 1;
  const zy = p.zy ?? 1;
  const ox = h / 2 - 0.5;
  const oy = w / 2 - 0.5;
  return (r: number, c: number): [number, number] => {
    let x = c - ox;
    let y = r - oy;
    // apply Z, then S, then T, then R (the product acts right-to-left)
    x *= zx;
    y *= zy;
    [x, y] = [x - Math.sin(s) * y, Math.cos(s) * y];
    x += p.tx ?? 0;
    y += p.ty ?? 0;
    [x, y] = [Math.cos(t) * x - Math.sin(t) * y, Math.sin(t) * x + Math.cos(t) * y];
    return [y + oy, x + ox]; // (row_in, col_in)
  };
}
function extend(i: number, n: number, mode: FillMode): number {
  if (mode === 'nearest') return Math.min(n - 1, Math.max(0, i));
  // reflect: half-sample symmetric, period 2n
  const p = 2 * n;
  let k = ((i % p) + p) % p;
  if (k >= n) k = p - 1 - k;
  return k;
}
function refSample(x: ImageArray, r: number, c: number, ch: number, mode: FillMode, cval: number): number {
  const n0 = x.height;
  const n1 = x.width;
  if (mode === 'constant' && (r < 0 || r > n0 - 1 || c < 0 || c > n1 - 1)) return cval;
  if (mode === 'wrap') {
    const fold = (v: number, n: number) => (n <= 1 ? 0 : v < 0 || v > n - 1 ? ((v % (n - 1)) + (n - 1)) % (n - 1) : v);
    r = fold(r, n0);
    c = fold(c, n1);
  }
  const at = (i: number, j: number) => {
    const ii = mode === 'constant' || mode === 'wrap' ? Math.min(i, n0 - 1) : extend(i, n0, mode);
    const jj = mode === 'constant' || mode === 'wrap' ? Math.min(j, n1 - 1) : extend(j, n1, mode);
    return x.data[(ii * n1 + jj) * x.channels + ch];
  };
  const r0 = Math.floor(r);
  const c0 = Math.floor(c);
  const fr = r - r0;
  const fc = c - c0;
  return (1 - fr) * (1 - fc) * at(r0, c0) + (1 - fr) * fc * at(r0, c0 + 1) + fr * (1 - fc) * at(r0 + 1, c0) + fr * fc * at(r0 + 1, c0 + 1);
}

const checker: ImageArray = (() => {
  const h = 9;
  const w = 9;
  const data = new Float32Array(h * w * 2);
  for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
    data[(r * w + c) * 2] = ((r >> 1) + (c >> 1)) % 2 === 0 ? 200 : 10;
    data[(r * w + c) * 2 + 1] = r * 9 + c;
  }
  return { data, height: h, width: w, channels: 2 };
})();

const geometry = [
  { theta: 17 },
  { shear: 25 },
  { zx: 0.8, zy: 1.3 },
  { tx: 2.5, ty: -1.25 },
  { theta: -33, tx: 1, ty: 2, shear: 12, zx: 1.2, zy: 0.7 },
];
for (const mode of ['nearest', 'constant', 'reflect', 'wrap'] as FillMode[]) {
  test(`rotation, shear, zoom and shift on a checkerboard match a reference bilinear resampler (${mode})`, () => {
    for (const p of geometry) {
      const out = applyAffineTransform(checker, p, mode, 3);
      const map = refMatrix(p, checker.height, checker.width);
      for (let r = 0; r < checker.height; r++) for (let c = 0; c < checker.width; c++) {
        const [ri, ci] = map(r, c);
        for (let k = 0; k < 2; k++) {
          const want = refSample(checker, ri, ci, k, mode, 3);
          const got = out.data[(r * checker.width + c) * 2 + k];
          assert.ok(Math.abs(got - want) < 1e-3, `${JSON.stringify(p)} ${mode} at ${r},${c},${k}: got ${got}, want ${want}`);
        }
      }
    }
  });
}

test('channel shift adds the intensity and clips to the image range', () => {
  const out = applyChannelShift(img([[0, 100], [50, 200]]), 60);
  assert.deepEqual(Array.from(out.data), [60, 160, 110, 200]);
});

test('brightness goes through 8-bit truncation like PIL ImageEnhance.Brightness', () => {
  const out = applyBrightnessShift(img([[0, 1.9, 101, 255]]), 0.5);
  assert.deepEqual(Array.from(out.data), [0, 0, 50, 127]);
  const up = applyBrightnessShift(img([[0, 100, 200, 255]]), 1.5);
  assert.deepEqual(Array.from(up.data), [0, 150, 255, 255]);
});
