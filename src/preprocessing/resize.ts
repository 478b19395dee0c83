/**
 * PIL's `Image.resize` written out in TypeScript, so `loadImage` resizes exactly as Keras `load_img`
 * does (Keras calls PIL `img.resize((w, h), resample)`; Pillow `src/libImaging/Resample.c` and the
 * NEAREST path of `_imaging.c` through `ImagingTransform`).
 *
 * - `'nearest'`: output pixel `x` takes source `floor((x + 0.5) * in / out)`.
 * - Convolution filters (`'bilinear'`, `'bicubic'` a = −0.5, `'lanczos'` (3 lobes), `'box'`,
 *   `'hamming'`): separable, antialiased (support scaled by the reduction factor), horizontal pass then
 *   vertical pass. 8-bit data uses PIL's fixed-point arithmetic (22 fraction bits, rounding,
 *   clipping to 0–255, 8-bit intermediate) and is bit-exact; float data uses PIL's 32-bit float path.
 *   PIL premultiplies alpha for RGBA before filtering; we do not (RGBA resizing differs at
 *   semi-transparent edges).
 */

/** Keras `interpolation` names (PIL resampling filters). */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos' | 'box' | 'hamming';

/** The interpolation names Keras accepts. */
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming'];

interface Filter {
  support: number;
  fn: (x: number) => number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      return x < 1 ? 1 - x : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x *= Math.PI;
      return (Math.sin(x) / x) * (0.54 + 0.46 * Math.cos(x));
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [xmin, count] per output pixel
  kk: Float64Array; // ksize weights per output pixel
}

function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coeffs {
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const kk = new Float64Array(outSize * ksize);
  const bounds = new Int32Array(outSize * 2);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    const k = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      kk[k + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) kk[k + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;

function fixedCoeffs(kk: Float64Array): Int32Array {
  const out = new Int32Array(kk.length);
  for (let i = 0; i < kk.length; i++) out[i] = kk[i] < 0 ? Math.trunc(-0.5 + kk[i] * ONE) : Math.trunc(0.5 + kk[i] * ONE);
  return out;
}

function clip8(v: number): number {
  if (v >= ONE * 256) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / ONE);
}

// The four passes below are PIL's ImagingResampleHorizontal/Vertical (8-bit fixed point and float),
// with the 8-bit/float choice made once per pass instead of per sample.

function horizontalFixed(src: Uint8Array, srcW: number, ch: number, y0: number, rows: number, width: number, hc: Coeffs, ik: Int32Array, out: Uint8Array): void {
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < rows; y++) {
    const srow = (y + y0) * srcW;
    for (let x = 0; x < width; x++) {
      const xmin = hc.bounds[x * 2];
      const xn = hc.bounds[x * 2 + 1];
      const k = x * hc.ksize;
      const s0 = (srow + xmin) * ch;
      const d = (y * width + x) * ch;
      for (let c = 0; c < ch; c++) {
        let ss = half;
        for (let i = 0; i < xn; i++) ss += src[s0 + i * ch + c] * ik[k + i];
        out[d + c] = clip8(ss);
      }
    }
  }
}

function horizontalFloat(src: Float32Array, srcW: number, ch: number, y0: number, rows: number, width: number, hc: Coeffs, out: Float32Array): void {
  for (let y = 0; y < rows; y++) {
    const srow = (y + y0) * srcW;
    for (let x = 0; x < width; x++) {
      const xmin = hc.bounds[x * 2];
      const xn = hc.bounds[x * 2 + 1];
      const k = x * hc.ksize;
      const s0 = (srow + xmin) * ch;
      const d = (y * width + x) * ch;
      for (let c = 0; c < ch; c++) {
        let ss = 0;
        for (let i = 0; i < xn; i++) ss += src[s0 + i * ch + c] * hc.kk[k + i];
        out[d + c] = ss;
      }
    }
  }
}

function verticalFixed(src: Uint8Array, w: number, ch: number, height: number, vBounds: Int32Array, vc: Coeffs, ik: Int32Array, out: Uint8Array): void {
  const half = 1 << (PRECISION_BITS - 1);
  const rowLen = w * ch;
  for (let y = 0; y < height; y++) {
    const ymin = vBounds[y * 2];
    const yn = vBounds[y * 2 + 1];
    const k = y * vc.ksize;
    const base = ymin * rowLen;
    const d = y * rowLen;
    for (let j = 0; j < rowLen; j++) {
      let ss = half;
      for (let i = 0; i < yn; i++) ss += src[base + i * rowLen + j] * ik[k + i];
      out[d + j] = clip8(ss);
    }
  }
}

function verticalFloat(src: Float32Array, w: number, ch: number, height: number, vBounds: Int32Array, vc: Coeffs, out: Float32Array): void {
  const rowLen = w * ch;
  for (let y = 0; y < height; y++) {
    const ymin = vBounds[y * 2];
    const yn = vBounds[y * 2 + 1];
    const k = y * vc.ksize;
    const base = ymin * rowLen;
    const d = y * rowLen;
    for (let j = 0; j < rowLen; j++) {
      let ss = 0;
      for (let i = 0; i < yn; i++) ss += src[base + i * rowLen + j] * vc.kk[k + i];
      out[d + j] = ss;
    }
  }
}

/** An interleaved image buffer being resized (8-bit or float). */
export interface RawImage<T extends Uint8Array | Float32Array> {
  data: T;
  height: number;
  width: number;
  channels: number;
}

/** A crop box in source pixels: left, top, right, bottom (PIL order). */
export type Box = [number, number, number, number];

/**
 * Where a nearest-neighbour resize takes each output pixel from: output pixel `(y, x)` is the
 * source's pixel at value offset `rows[y] + cols[x]` (PIL NEAREST: source `floor(b + (i + 0.5) ·
 * extent / out)` on each axis, clamped to the image). Used by {@link resizeLikePil} and, folded into
 * the final float write, by `resampleInto` (see its `sampling`), so both sample the same pixels.
 */
export interface NearestSampling {
  /** Per output row, the value offset of its source row (`sy · width · channels`). */
  rows: Int32Array;
  /** Per output column, the value offset within a source row (`sx · channels`). */
  cols: Int32Array;
}

/**
 * The {@link NearestSampling} of a PIL NEAREST resize of `src` to `width × height`.
 *
 * @param src - the source's dimensions and channels
 * @param width - output width
 * @param height - output height
 * @param box - source crop box (`keepAspectRatio`); default the whole image
 * @returns the offsets (`rows.length === height`, `cols.length === width`)
 * @example
 * const s = nearestSampling({ width: 256, height: 256, channels: 3 }, 224, 224);
 */
export function nearestSampling(src: { width: number; height: number; channels: number }, width: number, height: number, box?: Box): NearestSampling {
  const b: Box = box ?? [0, 0, src.width, src.height];
  const ch = src.channels;
  const ax = (b[2] - b[0]) / width;
  const ay = (b[3] - b[1]) / height;
  const cols = new Int32Array(width);
  const rows = new Int32Array(height);
  for (let x = 0; x < width; x++) cols[x] = Math.min(src.width - 1, Math.floor(b[0] + (x + 0.5) * ax)) * ch;
  for (let y = 0; y < height; y++) rows[y] = Math.min(src.height - 1, Math.floor(b[1] + (y + 0.5) * ay)) * src.width * ch;
  return { rows, cols };
}

/**
 * The pixels `sampling` picks from `data`, as a new array of the same type: a nearest resize.
 *
 * @param data - the source's values, channels-last
 * @param sampling - from {@link nearestSampling}
 * @param ch - channels per pixel
 * @returns `sampling.rows.length × sampling.cols.length × ch` values
 */
export function gatherPixels<T extends Uint8Array | Float32Array>(data: T, sampling: NearestSampling, ch: number): T {
  const { rows, cols } = sampling;
  const width = cols.length;
  const rowLen = width * ch;
  const out = (data instanceof Float32Array ? new Float32Array(rows.length * rowLen) : new Uint8Array(rows.length * rowLen)) as T;
  for (let y = 0; y < rows.length; y++) {
    const d0 = y * rowLen;
    const srow = rows[y] as number;
    if (y > 0 && srow === rows[y - 1]) {
      out.copyWithin(d0, d0 - rowLen, d0); // an upscale repeats the row above
      continue;
    }
    if (ch === 3) {
      for (let x = 0, d = d0; x < width; x++, d += 3) {
        const s = srow + (cols[x] as number);
        out[d] = data[s] as number;
        out[d + 1] = data[s + 1] as number;
        out[d + 2] = data[s + 2] as number;
      }
    } else {
      for (let x = 0, d = d0; x < width; x++, d += ch) {
        const s = srow + (cols[x] as number);
        for (let k = 0; k < ch; k++) out[d + k] = data[s + k] as number;
      }
    }
  }
  return out;
}

/**
 * Resizes like PIL `Image.resize((width, height), resample, box)`.
 *
 * @param src - 8-bit (`Uint8Array`, bit-exact PIL) or float (`Float32Array`, PIL 'F' path) image
 * @param width - output width
 * @param height - output height
 * @param interpolation - Keras interpolation name
 * @param box - optional source crop box (used for `keepAspectRatio`); default the whole image
 * @returns a new image of the same element type
 */
export function resizeLikePil<T extends Uint8Array | Float32Array>(
  src: RawImage<T>,
  width: number,
  height: number,
  interpolation: Interpolation,
  box?: Box,
): RawImage<T> {
  const b: Box = box ?? [0, 0, src.width, src.height];
  const ch = src.channels;
  const isFloat = src.data instanceof Float32Array;
  const make = (n: number): T => (isFloat ? new Float32Array(n) : new Uint8Array(n)) as T;
  if (width === src.width && height === src.height && b[0] === 0 && b[1] === 0 && b[2] === src.width && b[3] === src.height) {
    return { ...src, data: src.data.slice() as T };
  }
  if (interpolation === 'nearest') return { data: gatherPixels(src.data, nearestSampling(src, width, height, box), ch), height, width, channels: ch };
  const filter = FILTERS[interpolation];
  const needH = width !== src.width || b[0] !== 0 || b[2] !== width;
  const needV = height !== src.height || b[1] !== 0 || b[3] !== height;
  const hc = precomputeCoeffs(src.width, b[0], b[2], width, filter);
  const vc = precomputeCoeffs(src.height, b[1], b[3], height, filter);
  const yFirst = vc.bounds[0];
  const yLast = vc.bounds[height * 2 - 2] + vc.bounds[height * 2 - 1];
  let cur: RawImage<T> = src;
  let vBounds = vc.bounds;
  if (needH) {
    vBounds = vc.bounds.slice();
    for (let i = 0; i < height; i++) vBounds[i * 2] -= yFirst;
    const rows = yLast - yFirst;
    const out = make(width * rows * ch);
    if (isFloat) horizontalFloat(src.data as Float32Array, src.width, ch, yFirst, rows, width, hc, out as Float32Array);
    else horizontalFixed(src.data as Uint8Array, src.width, ch, yFirst, rows, width, hc, fixedCoeffs(hc.kk), out as Uint8Array);
    cur = { data: out, height: rows, width, channels: ch };
  }
  if (needV) {
    const out = make(width * height * ch);
    const w = cur.width;
    if (isFloat) verticalFloat(cur.data as Float32Array, w, ch, height, vBounds, vc, out as Float32Array);
    else verticalFixed(cur.data as Uint8Array, w, ch, height, vBounds, vc, fixedCoeffs(vc.kk), out as Uint8Array);
    cur = { data: out, height, width: w, channels: ch };
  }
  return cur;
}
