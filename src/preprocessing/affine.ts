/**
 * Geometric and photometric image transforms, ported from Keras
 * `keras/src/legacy/preprocessing/image.py` (`apply_affine_transform`, `transform_matrix_offset_center`,
 * `flip_axis`, `apply_channel_shift`, `apply_brightness_shift`), with the resampling of
 * `scipy.ndimage.affine_transform(order=1)` (scipy ≥ 1.6, `ni_interpolation.c`) written out in plain
 * TypeScript over interleaved `[height, width, channels]` Float32Arrays.
 *
 * Faithfulness notes (what Keras effectively does, and so what we do):
 * - Keras builds the matrix in (x, y) order and, for channels-last images, swaps the axes
 *   (`M' = P M P`) before calling scipy, so the first matrix coordinate is the COLUMN. Hence `tx`
 *   moves the image horizontally and `ty` vertically, and `zx` scales columns, `zy` rows.
 *   `transform_matrix_offset_center(M, h, w)` nevertheless puts the centre offset `(h-1)/2` on that
 *   first (column) coordinate: for non-square images Keras rotates/zooms about the transposed centre.
 *   We reproduce both exactly (square images, as in the walkthrough's 224×224, are unaffected).
 * - Fill modes are scipy's, passed through by Keras unchanged:
 *   `'nearest'` clamps to the edge pixel; `'constant'` gives `cval` for any sample whose coordinate
 *   lies outside `[0, n-1]` on either axis (no blending with cval at the border: that would be scipy's
 *   `'grid-constant'`); `'reflect'` is half-sample symmetric (`d c b a | a b c d | d c b a`);
 *   `'wrap'` is scipy's legacy `'wrap'` whose period is `n-1` (first and last samples coincide), not
 *   `'grid-wrap'` (period `n`).
 * - Interpolation is order 1 (bilinear), computed in float64 and stored as float32, like scipy on a
 *   float32 input.
 */

/** An image as interleaved channels-last float data: `data[(row * width + col) * channels + ch]`. */
export interface ImageArray {
  /** Pixel values, length `height * width * channels`. */
  data: Float32Array;
  /** Number of rows. */
  height: number;
  /** Number of columns. */
  width: number;
  /** Number of channels (1 grayscale, 3 RGB, 4 RGBA). */
  channels: number;
}

/** How points outside the input are filled, as Keras/scipy: `'nearest'` (default), `'constant'`, `'reflect'`, `'wrap'`. */
export type FillMode = 'nearest' | 'constant' | 'reflect' | 'wrap';

/** The fill modes Keras accepts for `fill_mode`. */
export const FILL_MODES: readonly FillMode[] = ['nearest', 'constant', 'reflect', 'wrap'];

/** A 3×3 homogeneous matrix, row-major: `[[a, b, c], [d, e, f], [0, 0, 1]]`. */
export type Matrix3 = [number, number, number, number, number, number, number, number, number];

function matmul(a: Matrix3, b: Matrix3): Matrix3 {
  const out = new Array(9).fill(0) as Matrix3;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[i * 3 + k] * b[k * 3 + j];
      out[i * 3 + j] = s;
    }
  }
  return out;
}

/**
 * Keras `transform_matrix_offset_center`: conjugates `matrix` by a translation to `(x/2 - 0.5, y/2 - 0.5)`
 * so that it acts about the centre.
 *
 * @param matrix - 3×3 transform
 * @param x - size along the first coordinate (Keras passes the row count here)
 * @param y - size along the second coordinate (Keras passes the column count)
 * @returns `offset · matrix · reset`
 * @example
 * transformMatrixOffsetCenter([1, 0, 0, 0, 1, 0, 0, 0, 1], 4, 4); // identity
 */
export function transformMatrixOffsetCenter(matrix: Matrix3, x: number, y: number): Matrix3 {
  const ox = x / 2 - 0.5;
  const oy = y / 2 - 0.5;
  const offset: Matrix3 = [1, 0, ox, 0, 1, oy, 0, 0, 1];
  const reset: Matrix3 = [1, 0, -ox, 0, 1, -oy, 0, 0, 1];
  return matmul(matmul(offset, matrix), reset);
}

/** Parameters of {@link affineMatrix}, as Keras `apply_affine_transform` (angles in degrees). */
export interface AffineParams {
  /** Rotation angle in degrees; default 0. */
  theta?: number;
  /** Shift along the first matrix coordinate (columns for channels-last images), pixels; default 0. */
  tx?: number;
  /** Shift along the second matrix coordinate (rows), pixels; default 0. */
  ty?: number;
  /** Shear angle in DEGREES; default 0. */
  shear?: number;
  /** Zoom along the first coordinate (columns); default 1. */
  zx?: number;
  /** Zoom along the second coordinate (rows); default 1. */
  zy?: number;
}

/**
 * The sampling matrix scipy receives from Keras for a channels-last `[h, w, c]` image, or `null` when
 * Keras skips the transform (all parameters neutral). `out[r, c] = in[A·(r, c) + offset]` where
 * `A = [m[0], m[1]; m[3], m[4]]` and `offset = (m[2], m[5])`.
 *
 * @param params - rotation/shift/shear/zoom
 * @param h - image height (rows)
 * @param w - image width (columns)
 * @returns the row/column sampling matrix, or `null` for the identity
 * @example
 * affineMatrix({ tx: 2 }, 5, 5); // [1, 0, 0, 0, 1, 2, 0, 0, 1]: column + 2
 */
export function affineMatrix(params: AffineParams, h: number, w: number): Matrix3 | null {
  const theta = params.theta ?? 0;
  const tx = params.tx ?? 0;
  const ty = params.ty ?? 0;
  const shear = params.shear ?? 0;
  const zx = params.zx ?? 1;
  const zy = params.zy ?? 1;
  let m: Matrix3 | null = null;
  if (theta !== 0) {
    const t = theta * (Math.PI / 180);
    m = [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
  }
  if (tx !== 0 || ty !== 0) {
    const s: Matrix3 = [1, 0, tx, 0, 1, ty, 0, 0, 1];
    m = m === null ? s : matmul(m, s);
  }
  if (shear !== 0) {
    const s = shear * (Math.PI / 180);
    const sh: Matrix3 = [1, -Math.sin(s), 0, 0, Math.cos(s), 0, 0, 0, 1];
    m = m === null ? sh : matmul(m, sh);
  }
  if (zx !== 1 || zy !== 1) {
    const z: Matrix3 = [zx, 0, 0, 0, zy, 0, 0, 0, 1];
    m = m === null ? z : matmul(m, z);
  }
  if (m === null) return null;
  const c = transformMatrixOffsetCenter(m, h, w);
  // Channels-last: swap the first two rows and columns (Keras: col_axis > row_axis).
  return [c[4], c[3], c[5], c[1], c[0], c[2], 0, 0, 1];
}

/** scipy `map_coordinate` for one axis (modes other than 'nearest'); returns -1 for "use cval". */
function mapCoordinate(x: number, len: number, mode: FillMode): number {
  if (x < 0) {
    if (len <= 1) return mode === 'constant' ? -1 : 0;
    switch (mode) {
      case 'reflect': {
        const sz2 = 2 * len;
        if (x < -sz2) x = sz2 * Math.trunc(-x / sz2) + x;
        return x < -len ? x + sz2 : (x > -1e-15 ? 1e-15 : -x) - 1;
      }
      case 'wrap': {
        const sz = len - 1;
        return x + sz * (Math.trunc(-x / sz) + 1);
      }
      default:
        return -1;
    }
  } else if (x > len - 1) {
    if (len <= 1) return mode === 'constant' ? -1 : 0;
    switch (mode) {
      case 'reflect': {
        const sz2 = 2 * len;
        x -= sz2 * Math.trunc(x / sz2);
        return x >= len ? sz2 - x - 1 : x;
      }
      case 'wrap': {
        const sz = len - 1;
        return x - sz * Math.trunc(x / sz);
      }
      default:
        return -1;
    }
  }
  return x;
}

/** scipy's boundary mapping of an integer stencil index (reflect → reflect, nearest → clamp, else mirror). */
function mapIndex(i: number, len: number, mode: FillMode): number {
  if (i >= 0 && i < len) return i;
  if (len <= 1) return 0;
  if (mode === 'nearest') return i < 0 ? 0 : len - 1;
  if (mode === 'reflect') return mapCoordinate(i, len, 'reflect');
  // mirror (whole-sample symmetric), used by scipy for 'constant' and 'wrap' stencils
  const s2 = 2 * len - 2;
  if (i < 0) {
    i = s2 * Math.trunc(-i / s2) + i;
    return i <= 1 - len ? i + s2 : -i;
  }
  i -= s2 * Math.trunc(i / s2);
  return i >= len ? s2 - i : i;
}

/**
 * Resolves one coordinate into two stencil indices and the weight of the first, or `false` for cval.
 * Writes into `out[0..2]`: index0, index1, weight0.
 */
function resolveAxis(x: number, len: number, mode: FillMode, out: Float64Array): boolean {
  let cc = x;
  if (mode !== 'nearest') {
    cc = mapCoordinate(x, len, mode);
    if (!(cc > -1)) return false;
  }
  const start = Math.floor(cc);
  const w0 = 1 - (cc - start);
  out[0] = mapIndex(start, len, mode);
  out[1] = mapIndex(start + 1, len, mode);
  out[2] = w0;
  return true;
}

/**
 * Where {@link resampleInto} writes, and what it does on the way: flips, rescale, channel replication.
 * All of them only move or scale the resampled value, so the result is exactly that of resampling,
 * then `flipAxis`, then multiplying by `scale` in float32 (Keras `standardize`), then replicating a
 * single channel (PIL `convert('RGB')` of a grey image).
 */
export interface ResampleTarget {
  /** Destination buffer. */
  out: Float32Array;
  /** Index in `out` of the first value; default 0. */
  offset?: number;
  /** Channels written per pixel: the source's, or several copies of a one-channel source; default the source's. */
  outChannels?: number;
  /** Reverse columns (Keras `flip_axis(x, 1)` after the affine); default false. */
  flipHorizontal?: boolean;
  /** Reverse rows (Keras `flip_axis(x, 0)`); default false. */
  flipVertical?: boolean;
  /** Multiply each (float32) value by `Math.fround(scale)` in float32; default none. */
  scale?: number | null;
}

/**
 * Resamples a channels-last image through a row/column sampling matrix (see {@link affineMatrix}) with
 * bilinear (order 1) interpolation and scipy's boundary modes, writing into `target` (flipped, scaled
 * and channel-replicated on the way). `m === null` copies the pixels. The arithmetic per sample is
 * exactly {@link resampleAffine}'s.
 *
 * @param data - source values (8-bit or float), `h * w * ch` long
 * @param h - rows
 * @param w - columns
 * @param ch - channels of the source
 * @param m - sampling matrix, or null for none
 * @param fillMode - scipy mode
 * @param cval - value for `'constant'`
 * @param target - see {@link ResampleTarget}
 */
export function resampleInto(
  data: Uint8Array | Float32Array,
  h: number,
  w: number,
  ch: number,
  m: Matrix3 | null,
  fillMode: FillMode,
  cval: number,
  target: ResampleTarget,
): void {
  const out = target.out;
  const offset = target.offset ?? 0;
  const outCh = target.outChannels ?? ch;
  if (outCh !== ch && ch !== 1) throw new RangeError(`Cannot write ${ch} channels as ${outCh}: only a one-channel source is replicated.`);
  const rep = outCh === ch ? 0 : outCh; // > 0: replicate the single channel `rep` times
  const flipH = target.flipHorizontal ?? false;
  const flipV = target.flipVertical ?? false;
  const doScale = target.scale !== undefined && target.scale !== null;
  const sc = doScale ? Math.fround(target.scale as number) : 1;
  const colStep = flipH ? -outCh : outCh;
  const rowLen = w * ch;
  if (m === null) {
    for (let r = 0; r < h; r++) {
      let d = offset + ((flipV ? h - 1 - r : r) * w + (flipH ? w - 1 : 0)) * outCh;
      let s = r * rowLen;
      for (let c = 0; c < w; c++, d += colStep, s += ch) {
        if (rep > 0) {
          const v = doScale ? Math.fround(data[s] * sc) : data[s];
          for (let j = 0; j < rep; j++) out[d + j] = v;
        } else {
          for (let k = 0; k < ch; k++) out[d + k] = doScale ? Math.fround(data[s + k] * sc) : data[s + k];
        }
      }
    }
    return;
  }
  if (ch === 1) {
    resampleOneChannel(data, h, w, m, fillMode, cval, out, offset, outCh, flipH, flipV, doScale, sc);
    return;
  }
  const ra = new Float64Array(3);
  const ca = new Float64Array(3);
  const [a00, a01, o0, a10, a11, o1] = m;
  const fcval = Math.fround(cval);
  const vcval = doScale ? Math.fround(fcval * sc) : fcval;
  const hm1 = h - 1;
  const wm1 = w - 1;
  for (let r = 0; r < h; r++) {
    let d = offset + ((flipV ? h - 1 - r : r) * w + (flipH ? w - 1 : 0)) * outCh;
    for (let c = 0; c < w; c++, d += colStep) {
      // Same accumulation order as scipy: shift, then coordinate terms.
      let y = o0;
      y += r * a00;
      y += c * a01;
      let x = o1;
      x += r * a10;
      x += c * a11;
      let wr0: number;
      let wc0: number;
      let p00: number;
      let p01: number;
      let p10: number;
      let p11: number;
      if (y >= 0 && y < hm1 && x >= 0 && x < wm1) {
        // Interior fast path: both stencil points in range on both axes, no boundary mapping.
        const r0 = Math.floor(y);
        const c0 = Math.floor(x);
        wr0 = 1 - (y - r0);
        wc0 = 1 - (x - c0);
        p00 = r0 * rowLen + c0 * ch;
        p01 = p00 + ch;
        p10 = p00 + rowLen;
        p11 = p10 + ch;
      } else {
        if (!resolveAxis(y, h, fillMode, ra) || !resolveAxis(x, w, fillMode, ca)) {
          const n = rep > 0 ? rep : ch;
          for (let k = 0; k < n; k++) out[d + k] = vcval;
          continue;
        }
        wr0 = ra[2];
        wc0 = ca[2];
        p00 = ra[0] * rowLen + ca[0] * ch;
        p01 = ra[0] * rowLen + ca[1] * ch;
        p10 = ra[1] * rowLen + ca[0] * ch;
        p11 = ra[1] * rowLen + ca[1] * ch;
      }
      const wr1 = 1 - wr0;
      const wc1 = 1 - wc0;
      if (rep > 0) {
        let t = data[p00] * wr0 * wc0;
        t += data[p01] * wr0 * wc1;
        t += data[p10] * wr1 * wc0;
        t += data[p11] * wr1 * wc1;
        const v = doScale ? Math.fround(Math.fround(t) * sc) : Math.fround(t);
        for (let j = 0; j < rep; j++) out[d + j] = v;
      } else {
        for (let k = 0; k < ch; k++) {
          let t = data[p00 + k] * wr0 * wc0;
          t += data[p01 + k] * wr0 * wc1;
          t += data[p10 + k] * wr1 * wc0;
          t += data[p11 + k] * wr1 * wc1;
          out[d + k] = doScale ? Math.fround(Math.fround(t) * sc) : t;
        }
      }
    }
  }
}

/**
 * {@link resampleInto} for a one-channel source (grey, possibly replicated to `outCh` channels): the
 * same arithmetic, with `'nearest'` edge handling inlined (clamping start and start + 1 is exactly
 * `mapIndex` for that mode) and no per-channel loop.
 */
function resampleOneChannel(
  data: Uint8Array | Float32Array,
  h: number,
  w: number,
  m: Matrix3,
  fillMode: FillMode,
  cval: number,
  out: Float32Array,
  offset: number,
  outCh: number,
  flipH: boolean,
  flipV: boolean,
  doScale: boolean,
  sc: number,
): void {
  const ra = new Float64Array(3);
  const ca = new Float64Array(3);
  const [a00, a01, o0, a10, a11, o1] = m;
  const fcval = Math.fround(cval);
  const vcval = doScale ? Math.fround(fcval * sc) : fcval;
  const hm1 = h - 1;
  const wm1 = w - 1;
  const nearest = fillMode === 'nearest';
  const colStep = flipH ? -outCh : outCh;
  for (let r = 0; r < h; r++) {
    let d = offset + ((flipV ? h - 1 - r : r) * w + (flipH ? w - 1 : 0)) * outCh;
    for (let c = 0; c < w; c++, d += colStep) {
      let y = o0;
      y += r * a00;
      y += c * a01;
      let x = o1;
      x += r * a10;
      x += c * a11;
      let wr0: number;
      let wc0: number;
      let p00: number;
      let p01: number;
      let p10: number;
      let p11: number;
      if (nearest || (y >= 0 && y < hm1 && x >= 0 && x < wm1)) {
        const r0 = Math.floor(y);
        const c0 = Math.floor(x);
        wr0 = 1 - (y - r0);
        wc0 = 1 - (x - c0);
        const ri0 = r0 < 0 ? 0 : r0 > hm1 ? hm1 : r0;
        const ri1 = r0 + 1 < 0 ? 0 : r0 + 1 > hm1 ? hm1 : r0 + 1;
        const ci0 = c0 < 0 ? 0 : c0 > wm1 ? wm1 : c0;
        const ci1 = c0 + 1 < 0 ? 0 : c0 + 1 > wm1 ? wm1 : c0 + 1;
        p00 = ri0 * w + ci0;
        p01 = ri0 * w + ci1;
        p10 = ri1 * w + ci0;
        p11 = ri1 * w + ci1;
      } else {
        if (!resolveAxis(y, h, fillMode, ra) || !resolveAxis(x, w, fillMode, ca)) {
          for (let k = 0; k < outCh; k++) out[d + k] = vcval;
          continue;
        }
        wr0 = ra[2];
        wc0 = ca[2];
        p00 = ra[0] * w + ca[0];
        p01 = ra[0] * w + ca[1];
        p10 = ra[1] * w + ca[0];
        p11 = ra[1] * w + ca[1];
      }
      const wr1 = 1 - wr0;
      const wc1 = 1 - wc0;
      let t = data[p00] * wr0 * wc0;
      t += data[p01] * wr0 * wc1;
      t += data[p10] * wr1 * wc0;
      t += data[p11] * wr1 * wc1;
      const v = doScale ? Math.fround(Math.fround(t) * sc) : Math.fround(t);
      if (outCh === 3) {
        out[d] = v;
        out[d + 1] = v;
        out[d + 2] = v;
      } else if (outCh === 1) {
        out[d] = v;
      } else {
        for (let k = 0; k < outCh; k++) out[d + k] = v;
      }
    }
  }
}

/**
 * Resamples `image` through a row/column sampling matrix (see {@link affineMatrix}) with bilinear
 * (order 1) interpolation and scipy's boundary modes, on every channel.
 *
 * @param image - input image (not modified)
 * @param m - sampling matrix; `out[r, c] = in[m·(r, c, 1)]`
 * @param fillMode - default `'nearest'`
 * @param cval - value for `'constant'`; default 0
 * @returns a new image of the same shape
 */
export function resampleAffine(image: ImageArray, m: Matrix3, fillMode: FillMode = 'nearest', cval = 0): ImageArray {
  const { data, height: h, width: w, channels: ch } = image;
  const out = new Float32Array(data.length);
  resampleInto(data, h, w, ch, m, fillMode, cval, { out });
  return { data: out, height: h, width: w, channels: ch };
}

/**
 * Keras `apply_affine_transform` for a channels-last image: rotation, shift, shear (degrees) and zoom
 * about the image centre, resampled like `scipy.ndimage.affine_transform(order=1, mode=fillMode, cval)`.
 *
 * @param image - input `[h, w, c]` image (not modified)
 * @param params - see {@link AffineParams}
 * @param fillMode - default `'nearest'`
 * @param cval - fill value for `'constant'`; default 0
 * @returns a new image, or the input itself when every parameter is neutral (as Keras)
 * @example
 * const out = applyAffineTransform(img, { theta: 90 }, 'constant', 0);
 */
export function applyAffineTransform(image: ImageArray, params: AffineParams, fillMode: FillMode = 'nearest', cval = 0): ImageArray {
  const m = affineMatrix(params, image.height, image.width);
  if (m === null) return image;
  return resampleAffine(image, m, fillMode, cval);
}

/**
 * Keras `flip_axis` for a channels-last image: reverses rows (`axis` 0) or columns (`axis` 1).
 *
 * @param image - input (not modified)
 * @param axis - 0 flips vertically, 1 flips horizontally
 * @returns a new image
 */
export function flipAxis(image: ImageArray, axis: 0 | 1): ImageArray {
  const { data, height: h, width: w, channels: ch } = image;
  const out = new Float32Array(data.length);
  const rowLen = w * ch;
  for (let r = 0; r < h; r++) {
    const srcRow = axis === 0 ? h - 1 - r : r;
    for (let c = 0; c < w; c++) {
      const srcCol = axis === 1 ? w - 1 - c : c;
      const s = srcRow * rowLen + srcCol * ch;
      const d = r * rowLen + c * ch;
      for (let k = 0; k < ch; k++) out[d + k] = data[s + k];
    }
  }
  return { data: out, height: h, width: w, channels: ch };
}

/**
 * Keras `apply_channel_shift`: adds `intensity` to every channel, clipped to the image's own
 * `[min, max]` (taken over all channels before the shift).
 *
 * @param image - input (not modified)
 * @param intensity - value added
 * @returns a new image
 */
export function applyChannelShift(image: ImageArray, intensity: number): ImageArray {
  const { data } = image;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] + intensity;
    out[i] = v < min ? min : v > max ? max : v;
  }
  return { ...image, data: out };
}

/**
 * Keras `apply_brightness_shift(x, brightness, scale=False)`, which goes through PIL: the image is cast
 * to 8 bits (truncating; min–max scaled to 0–255 first when it lies outside [0, 255]), blended with
 * black by PIL's `ImageEnhance.Brightness` (float32 factor, truncation, clipping to [0, 255]), and
 * mapped back to its original range when it had been scaled.
 *
 * @param image - input (not modified)
 * @param brightness - factor; 1 keeps the image, 0 gives black
 * @returns a new image
 */
export function applyBrightnessShift(image: ImageArray, brightness: number): ImageArray {
  const { data } = image;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const localScale = min < 0 || max > 255;
  const factor = Math.fround(brightness);
  const range = Math.fround(max - min);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    let v = data[i];
    if (localScale) {
      // array_to_img(scale=True): x - min, / max (if non-zero), * 255 — in float32 like numpy.
      v = Math.fround(v - min);
      if (range !== 0) v = Math.fround(v / range);
      v = Math.fround(v * 255);
    }
    const u8 = Math.trunc(v) & 0xff; // astype('uint8')
    const t = Math.fround(factor * u8);
    let res = t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
    if (localScale) res = Math.fround(Math.fround(res / 255) * range) + min;
    out[i] = res;
  }
  return { ...image, data: out };
}
