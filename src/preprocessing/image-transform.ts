/**
 * Keras `apply_transform` (`keras/src/legacy/preprocessing/image.py`), once: the affine (about the
 * centre) → channel shift → horizontal flip → vertical flip → brightness of one image, with
 * `standardize`'s rescale folded into the last write when asked. `ImageDataGenerator.applyTransform`
 * and every image of a `DirectoryIterator` batch (in a worker thread or in this one) run
 * {@link applyImageTransform}; the generator compiles the parameters it drew into an
 * {@link ImageTransform} ({@link compileTransform}), which is plain data a worker can receive.
 *
 * Computed with less work than step by step, exactly the same values: the flips are permutations
 * and the shifts are element-wise with global min/max, so the flips, the rescale (float32 multiply)
 * and the replication of a grey channel (PIL's L→RGB) are folded into where the resampling writes.
 * Channel shift and brightness, when drawn, take the step-by-step path on the working channels.
 */
import { type FillMode, type Matrix3, affineMatrix, resampleAffine, resampleInto } from './affine';
import type { ImageArray } from './image-array';
import { applyBrightnessShift, applyChannelShift } from './photometric';
import { type NearestSampling, gatherPixels } from './resize';

/** Parameters of one random transformation, as Keras `get_random_transform` returns them. */
export interface TransformParams {
  /** Rotation, degrees. */
  theta: number;
  /** Shift drawn from `heightShiftRange` (pixels); applied along columns, as Keras 3 does. */
  tx: number;
  /** Shift drawn from `widthShiftRange` (pixels); applied along rows, as Keras 3 does. */
  ty: number;
  /** Shear, degrees. */
  shear: number;
  /** Zoom along columns. */
  zx: number;
  /** Zoom along rows. */
  zy: number;
  /** Flip left–right. */
  flipHorizontal: boolean;
  /** Flip top–bottom. */
  flipVertical: boolean;
  /** Channel shift, or null. */
  channelShiftIntensity: number | null;
  /** Brightness factor, or null. */
  brightness: number | null;
}

/** One image's transformation as plain data (structured-cloneable), from {@link compileTransform}. */
export interface ImageTransform {
  /** Row/column sampling matrix from `affineMatrix`, or null when Keras skips the affine. */
  matrix: Matrix3 | null;
  /** scipy fill mode of the affine. */
  fillMode: FillMode;
  /** Fill value for `'constant'`. */
  cval: number;
  /** Keras `flip_axis(x, 1)`. */
  flipHorizontal: boolean;
  /** Keras `flip_axis(x, 0)`. */
  flipVertical: boolean;
  /** Keras `apply_channel_shift` intensity, or null. */
  channelShiftIntensity: number | null;
  /** Keras `apply_brightness_shift` factor, or null. */
  brightness: number | null;
  /** Multiply by this (float32) at the end (`standardize`'s rescale), or null. */
  rescale: number | null;
}

/** The transformation that changes nothing (an iterator without a generator). */
export const IDENTITY_TRANSFORM: Readonly<ImageTransform> = Object.freeze({
  matrix: null,
  fillMode: 'nearest',
  cval: 0,
  flipHorizontal: false,
  flipVertical: false,
  channelShiftIntensity: null,
  brightness: null,
  rescale: null,
});

/**
 * Compiles drawn parameters into the transformation of an `h × w` image.
 *
 * @param params - from `getRandomTransform` (missing fields are neutral), or null for none
 * @param h - image height (rows)
 * @param w - image width (columns)
 * @param fillMode - scipy mode of the affine
 * @param cval - fill value for `'constant'`
 * @param rescale - factor applied last, or null
 * @returns plain data for {@link applyImageTransform}
 * @example
 * const t = compileTransform({ theta: 10, flipHorizontal: true }, 224, 224, 'nearest', 0, 1 / 255);
 */
export function compileTransform(params: Partial<TransformParams> | null, h: number, w: number, fillMode: FillMode, cval: number, rescale: number | null): ImageTransform {
  const p = params ?? {};
  return {
    matrix: params === null ? null : affineMatrix({ theta: p.theta, tx: p.tx, ty: p.ty, shear: p.shear, zx: p.zx, zy: p.zy }, h, w),
    fillMode,
    cval,
    flipHorizontal: p.flipHorizontal ?? false,
    flipVertical: p.flipVertical ?? false,
    channelShiftIntensity: p.channelShiftIntensity ?? null,
    brightness: p.brightness ?? null,
    rescale,
  };
}

/** Where {@link applyImageTransform} writes. */
export interface TransformTarget {
  /** Destination buffer. */
  out: Float32Array;
  /** Index in `out` of the first value; default 0. */
  offset?: number;
  /** Channels written per pixel: the source's, or copies of a one-channel source (grey → RGB); default the source's. */
  outChannels?: number;
}

/**
 * Applies a transformation to one channels-last image (Keras `apply_transform`, then the rescale of
 * `standardize` when `t.rescale` is set), writing the result into `target`.
 *
 * @param image - source values (8-bit or float; not modified) with their shape
 * @param t - from {@link compileTransform}
 * @param target - see {@link TransformTarget}
 * @param sampling - a nearest resize of `image` to apply first (`nearestSampling` in `resize.ts`):
 *   folded into the final write when `t` only moves and scales pixels (no affine, no channel shift,
 *   no brightness), else resized first; the same values either way. Default none.
 * @example
 * const out = new Float32Array(img.data.length);
 * applyImageTransform(img, compileTransform({ flipVertical: true }, img.height, img.width, 'nearest', 0, null), { out });
 */
export function applyImageTransform(image: { data: Uint8Array | Float32Array; height: number; width: number; channels: number }, t: ImageTransform, target: TransformTarget, sampling?: NearestSampling): void {
  let { height: h, width: w } = image;
  const ch = image.channels;
  let data = image.data;
  let matrix = t.matrix;
  if (sampling !== undefined && (matrix !== null || t.channelShiftIntensity !== null || t.brightness !== null)) {
    data = gatherPixels(data, sampling, ch);
    [h, w] = [sampling.rows.length, sampling.cols.length];
    sampling = undefined;
  }
  if (t.channelShiftIntensity !== null || t.brightness !== null) {
    let x: ImageArray = { data: data instanceof Float32Array ? data : new Float32Array(data), height: h, width: w, channels: ch };
    if (matrix !== null) x = resampleAffine(x, matrix, t.fillMode, t.cval);
    if (t.channelShiftIntensity !== null) x = applyChannelShift(x, t.channelShiftIntensity);
    if (t.brightness !== null) x = applyBrightnessShift(x, t.brightness);
    data = x.data;
    matrix = null;
  }
  resampleInto(data, h, w, ch, matrix, t.fillMode, t.cval, {
    out: target.out,
    offset: target.offset,
    outChannels: target.outChannels,
    flipHorizontal: t.flipHorizontal,
    flipVertical: t.flipVertical,
    scale: t.rescale,
    sampling,
  });
}
