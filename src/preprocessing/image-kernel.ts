/**
 * One image of a `DirectoryIterator` batch, from file to float pixels in a single pass: the fused form
 * of Keras `load_img` + `img_to_array` + `apply_transform` + `standardize` (rescale) from
 * `keras/src/legacy/preprocessing/image.py`. Runs in the main thread or in a worker thread
 * (`image-worker.ts`); a job is plain data, so both give the same bits.
 *
 * Exactly the values of `loadImage` → `ImageDataGenerator.applyTransform` → `standardize`, computed
 * with less work:
 * - a grey source asked for as RGB is resized and transformed on its one channel and replicated at
 *   the end (PIL's L→RGB replicates, and every later step treats channels alike and identically);
 * - the 8-bit resized pixels are sampled directly (no float copy);
 * - flips are folded into where the affine writes, rescale into the write itself (float32 multiply);
 * - the result goes straight into the caller's batch buffer.
 * Channel shift and brightness (global min/max) take the step-by-step path on the working channels.
 */
import {
  type FillMode,
  type Matrix3,
  applyBrightnessShift,
  applyChannelShift,
  resampleAffine,
  resampleInto,
  type ImageArray,
} from './affine';
import { ImageDecodeError } from './errors';
import { type ResolvedLoadOptions, channelsOf, convertChannels, decodeImage, resizeToTarget } from './image-io';
import type { RawImage } from './resize';

/** Everything needed to turn one file into its batch slot (structured-cloneable). */
export interface ImageJob {
  /** The image file, as printed in messages. */
  path: string;
  /** The file's path as bytes, when its name is not valid UTF-8 (`path` then shows it with U+FFFD); null otherwise. */
  file?: Uint8Array | null;
  /** Resolved load options; `targetSize` must be set. */
  load: ResolvedLoadOptions;
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
  /** Multiply by this (float32) at the end, or null (also null when a preprocessing function must run first). */
  rescale: number | null;
}

/**
 * Decodes, resizes, transforms and rescales one image into `out[offset .. offset + h·w·c)`.
 *
 * @param job - see {@link ImageJob}
 * @param out - destination; default a new array of exactly one image
 * @param offset - first index written; default 0
 * @param readSync - read the file synchronously (worker threads); default false
 * @returns `out`
 * @throws {ImageDecodeError} naming the file when it cannot be decoded
 */
export async function renderImageFile(job: ImageJob, out?: Float32Array, offset = 0, readSync = false): Promise<Float32Array> {
  const raw = await decodeImage(job.path, job.load, readSync, job.file ?? null);
  return renderDecoded(raw, job, out, offset);
}

/** The synchronous part of {@link renderImageFile}, after decoding. */
export function renderDecoded(raw: RawImage<Uint8Array> | RawImage<Float32Array>, job: ImageJob, out?: Float32Array, offset = 0): Float32Array {
  const opts = job.load;
  if (opts.targetSize === null) throw new RangeError('renderDecoded needs a targetSize.');
  const [th, tw] = opts.targetSize;
  const outCh = channelsOf(opts.colorMode);
  const isFloat = raw.data instanceof Float32Array;
  let img = raw;
  // Replicating a grey channel commutes with everything below; other conversions happen first, as PIL.
  if (!(img.channels === 1 && outCh === 3)) img = convertChannels(img as RawImage<Uint8Array | Float32Array>, opts.colorMode, isFloat) as typeof img;
  img = resizeToTarget(img, opts);
  if (img.height !== th || img.width !== tw) {
    throw new ImageDecodeError(job.path, 'corrupt', `decoded to ${img.height}×${img.width}×${img.channels}, expected ${th}×${tw}×${outCh}.`);
  }
  const size = th * tw * outCh;
  const dst = out ?? new Float32Array(size);
  if (dst.length < offset + size) throw new RangeError(`Output buffer of ${dst.length} values cannot hold an image of ${size} at ${offset}.`);
  const ch = img.channels;
  // Fast path: affine, flips and rescale in one pass. Otherwise step by step (Keras order: affine,
  // channel shift, flips, brightness); the flips are permutations and the shifts are element-wise
  // with global min/max, so folding the flips into the last copy is exact.
  let data = img.data;
  let matrix = job.matrix;
  if (job.channelShiftIntensity !== null || job.brightness !== null) {
    let x: ImageArray = { data: isFloat ? (img.data as Float32Array) : new Float32Array(img.data), height: th, width: tw, channels: ch };
    if (matrix !== null) x = resampleAffine(x, matrix, job.fillMode, job.cval);
    if (job.channelShiftIntensity !== null) x = applyChannelShift(x, job.channelShiftIntensity);
    if (job.brightness !== null) x = applyBrightnessShift(x, job.brightness);
    data = x.data;
    matrix = null;
  }
  resampleInto(data, th, tw, ch, matrix, job.fillMode, job.cval, {
    out: dst,
    offset,
    outChannels: outCh,
    flipHorizontal: job.flipHorizontal,
    flipVertical: job.flipVertical,
    scale: job.rescale,
  });
  return dst;
}
