/**
 * Real-time image augmentation, ported from Keras `keras/src/legacy/preprocessing/image.py`
 * (`ImageDataGenerator`: `get_random_transform`, `apply_transform`, `random_transform`, `standardize`,
 * `flow_from_directory`). Channels-last only.
 *
 * Random draws follow Keras's order (rotation, height shift, width shift, shear, zoom x then y, the two
 * flip coins — always drawn, as Keras does —, channel shift, brightness) but come from our seeded
 * mulberry32 generator, not numpy's Mersenne Twister: the same seed reproduces our runs, not Keras's.
 */
import * as tf from '@tensorflow/tfjs';
import { createRandom, type Random } from '../util/random';
import { checkBoolean, checkNumber, invalidParameterError, isNumber } from '../util/validate';
import { type FillMode, FILL_MODES } from './affine';
import type { ImageArray } from './image-array';
import type { ImageAugmenter, TransformParams } from './augmenter';
import { type ImageTransform, applyImageTransform, compileTransform } from './image-transform';
import { DirectoryIterator } from './directory-iterator';
import type { FlowFromDirectoryArgs } from './flow-args';

/** A shift range, Keras semantics: float < 1 fraction of the size, ≥ 1 pixels, integer n → whole pixels in (−n, n), array → choices. */
export type ShiftRange = number | readonly number[];

/** Options of {@link ImageDataGenerator}; every field optional, Keras names in camelCase. */
export interface ImageDataGeneratorArgs {
  /** Degree range for random rotations, uniform in [−r, r]; default 0. */
  rotationRange?: number;
  /** Horizontal-size shift range (see {@link ShiftRange}); default 0. Keras quirk kept: drawn as `ty`. */
  widthShiftRange?: ShiftRange;
  /** Vertical-size shift range (see {@link ShiftRange}); default 0. Keras quirk kept: drawn as `tx`. */
  heightShiftRange?: ShiftRange;
  /** Brightness factor range `[low, high]`; default none. */
  brightnessRange?: [number, number] | null;
  /**
   * Shear intensity in DEGREES (counter-clockwise), uniform in [−s, s]; default 0. Note: Keras
   * documents and applies degrees, so the walkthrough's `shear_range=0.2` is a 0.2° shear — nearly a no-op.
   */
  shearRange?: number;
  /** Zoom: a number z gives [1 − z, 1 + z]; or `[low, high]`. zx and zy are drawn independently. Default 0. */
  zoomRange?: number | [number, number];
  /** Range for random channel shifts (added, clipped to the image's range); default 0. */
  channelShiftRange?: number;
  /** `'nearest'` (default), `'constant'`, `'reflect'` or `'wrap'` — scipy's modes (see `affine.ts`). */
  fillMode?: FillMode;
  /** Fill value for `fillMode: 'constant'`; default 0. */
  cval?: number;
  /** Randomly flip left–right; default false. */
  horizontalFlip?: boolean;
  /** Randomly flip top–bottom; default false. */
  verticalFlip?: boolean;
  /** Multiply every value by this after `preprocessingFunction` (e.g. 1/255); default none (0 and null mean none). */
  rescale?: number | null;
  /**
   * Applied to each image (a `[h, w, c]` tensor) after augmentation, before `rescale`; returns a tensor
   * of the same shape. Runs inside `tf.tidy`. Default none.
   */
  preprocessingFunction?: ((x: tf.Tensor3D) => tf.Tensor3D) | null;
  /** Fraction of each class kept for `subset: 'validation'`, strictly between 0 and 1; default 0. */
  validationSplit?: number;
  /** Only `'channelsLast'` is supported (default). */
  dataFormat?: 'channelsLast';
}

export type { TransformParams } from './augmenter';

function checkShiftRange(name: string, v: unknown): ShiftRange {
  if (isNumber(v)) return v;
  if (Array.isArray(v) && v.every(isNumber)) return v as number[];
  throw invalidParameterError(name, 'number or array of numbers', v);
}

function drawShift(range: ShiftRange, size: number, rng: Random): number {
  let t: number;
  if (Array.isArray(range)) {
    const arr = range as readonly number[];
    if (arr.length === 0) return 0;
    t = arr[rng.int(arr.length)] * (rng.int(2) === 0 ? -1 : 1);
    if (Math.max(...arr) < 1) t *= size;
    return t;
  }
  const r = range as number;
  if (r === 0) return 0;
  if (Number.isInteger(r) && r >= 1) {
    // np.random.choice(int n) picks from range(n), then a random sign.
    t = rng.int(r) * (rng.int(2) === 0 ? -1 : 1);
  } else {
    t = rng.uniform(-r, r);
  }
  return r < 1 ? t * size : t;
}

/** A short stable hash of a string (FNV-1a, hex). */
function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Generates batches of augmented images, like Keras `ImageDataGenerator`.
 *
 * @example
 * const gen = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
 * const train = gen.flowFromDirectory('data/train', { targetSize: [224, 224], batchSize: 32, seed: 1 });
 * const { xs, ys } = await train.next(); // caller disposes xs and ys
 */
export class ImageDataGenerator implements ImageAugmenter {
  readonly rotationRange: number;
  readonly widthShiftRange: ShiftRange;
  readonly heightShiftRange: ShiftRange;
  readonly brightnessRange: [number, number] | null;
  readonly shearRange: number;
  /** Always a `[low, high]` pair. */
  readonly zoomRange: [number, number];
  readonly channelShiftRange: number;
  readonly fillMode: FillMode;
  readonly cval: number;
  readonly horizontalFlip: boolean;
  readonly verticalFlip: boolean;
  readonly rescale: number | null;
  readonly preprocessingFunction: ((x: tf.Tensor3D) => tf.Tensor3D) | null;
  readonly validationSplit: number;
  readonly dataFormat = 'channelsLast' as const;
  private readonly rng: Random;

  /**
   * @param args - see {@link ImageDataGeneratorArgs}
   * @throws {TypeError} for any invalid option, naming it and the value received
   */
  constructor(args: ImageDataGeneratorArgs = {}) {
    this.rotationRange = checkNumber('rotationRange', args.rotationRange ?? 0, 0);
    this.widthShiftRange = checkShiftRange('widthShiftRange', args.widthShiftRange ?? 0);
    this.heightShiftRange = checkShiftRange('heightShiftRange', args.heightShiftRange ?? 0);
    const br = args.brightnessRange ?? null;
    if (br !== null && !(Array.isArray(br) && br.length === 2 && br.every(isNumber))) {
      throw invalidParameterError('brightnessRange', 'pair of numbers [low, high]', br);
    }
    this.brightnessRange = br === null ? null : [br[0], br[1]];
    this.shearRange = checkNumber('shearRange', args.shearRange ?? 0, 0);
    const z = args.zoomRange ?? 0;
    if (isNumber(z)) this.zoomRange = [1 - z, 1 + z];
    else if (Array.isArray(z) && z.length === 2 && z.every(isNumber)) this.zoomRange = [z[0], z[1]];
    else throw invalidParameterError('zoomRange', 'number or pair of numbers [low, high]', z);
    this.channelShiftRange = checkNumber('channelShiftRange', args.channelShiftRange ?? 0);
    const fm = args.fillMode ?? 'nearest';
    if (!FILL_MODES.includes(fm)) throw invalidParameterError('fillMode', "one of 'nearest', 'constant', 'reflect', 'wrap'", fm);
    this.fillMode = fm;
    this.cval = checkNumber('cval', args.cval ?? 0);
    this.horizontalFlip = checkBoolean('horizontalFlip', args.horizontalFlip ?? false);
    this.verticalFlip = checkBoolean('verticalFlip', args.verticalFlip ?? false);
    const rs = args.rescale ?? null;
    this.rescale = rs === null || rs === 0 ? null : checkNumber('rescale', rs);
    const pf = args.preprocessingFunction ?? null;
    if (pf !== null && typeof pf !== 'function') throw invalidParameterError('preprocessingFunction', 'function', pf);
    this.preprocessingFunction = pf;
    const vs = args.validationSplit ?? 0;
    if (!isNumber(vs) || (vs !== 0 && !(vs > 0 && vs < 1))) {
      throw invalidParameterError('validationSplit', 'number strictly between 0 and 1 (or 0 for none)', vs);
    }
    this.validationSplit = vs;
    if ((args.dataFormat ?? 'channelsLast') !== 'channelsLast') throw invalidParameterError('dataFormat', "'channelsLast'", args.dataFormat);
    this.rng = createRandom((Math.random() * 2 ** 32) >>> 0);
  }

  /** True when no random augmentation is configured: every sample's tensor depends only on its file. */
  get deterministic(): boolean {
    return (
      this.rotationRange === 0 &&
      (Array.isArray(this.widthShiftRange) ? this.widthShiftRange.length === 0 : this.widthShiftRange === 0) &&
      (Array.isArray(this.heightShiftRange) ? this.heightShiftRange.length === 0 : this.heightShiftRange === 0) &&
      this.shearRange === 0 &&
      this.zoomRange[0] === 1 &&
      this.zoomRange[1] === 1 &&
      !this.horizontalFlip &&
      !this.verticalFlip &&
      this.channelShiftRange === 0 &&
      this.brightnessRange === null
    );
  }

  /** A stable description of `standardize` (rescale and preprocessing function identity), for cache keys. */
  get standardizeKey(): string {
    const pf = this.preprocessingFunction;
    const pfKey = pf === null ? 'none' : `${pf.name || 'anonymous'}#${hashString(pf.toString())}`;
    return `rescale=${this.rescale === null ? 'none' : this.rescale.toPrecision(17)};preprocessingFunction=${pfKey}`;
  }

  /**
   * Draws the parameters of one random transformation (Keras `get_random_transform`).
   *
   * @param imgShape - `[height, width, channels]` of the image to transform (fractions of shifts use it)
   * @param seed - a number seeds a fresh generator (pure: same seed, same result); a {@link Random} is
   *   drawn from in place; omitted, the generator's own unseeded stream is used
   * @returns the parameters
   */
  getRandomTransform(imgShape: readonly number[], seed?: number | Random): TransformParams {
    const rng = seed === undefined ? this.rng : typeof seed === 'number' ? createRandom(seed) : seed;
    const theta = this.rotationRange ? rng.uniform(-this.rotationRange, this.rotationRange) : 0;
    const tx = drawShift(this.heightShiftRange, imgShape[0], rng);
    const ty = drawShift(this.widthShiftRange, imgShape[1], rng);
    const shear = this.shearRange ? rng.uniform(-this.shearRange, this.shearRange) : 0;
    let zx = 1;
    let zy = 1;
    if (!(this.zoomRange[0] === 1 && this.zoomRange[1] === 1)) {
      zx = rng.uniform(this.zoomRange[0], this.zoomRange[1]);
      zy = rng.uniform(this.zoomRange[0], this.zoomRange[1]);
    }
    const flipHorizontal = rng.next() < 0.5 && this.horizontalFlip;
    const flipVertical = rng.next() < 0.5 && this.verticalFlip;
    const channelShiftIntensity = this.channelShiftRange !== 0 ? rng.uniform(-this.channelShiftRange, this.channelShiftRange) : null;
    const brightness = this.brightnessRange !== null ? rng.uniform(this.brightnessRange[0], this.brightnessRange[1]) : null;
    return { theta, tx, ty, shear, zx, zy, flipHorizontal, flipVertical, channelShiftIntensity, brightness };
  }

  /**
   * Applies a transformation (Keras `apply_transform`): affine (about the centre) → channel shift →
   * horizontal flip → vertical flip → brightness — the same `applyImageTransform` the iterator's
   * workers run.
   *
   * @param x - one `[h, w, c]` image: a tensor (not disposed) or an {@link ImageArray} (not modified)
   * @param params - from {@link getRandomTransform}; missing fields are neutral
   * @returns a new image of the same kind; a returned tensor is the caller's to dispose
   */
  applyTransform(x: tf.Tensor3D, params: Partial<TransformParams>): tf.Tensor3D;
  applyTransform(x: ImageArray, params: Partial<TransformParams>): ImageArray;
  applyTransform(x: tf.Tensor3D | ImageArray, params: Partial<TransformParams>): tf.Tensor3D | ImageArray {
    if (x instanceof tf.Tensor) {
      const [h, w, c] = x.shape;
      const out = this.applyTransform({ data: x.dataSync() as Float32Array, height: h, width: w, channels: c }, params);
      return tf.tensor3d(out.data, [h, w, c]);
    }
    const out = new Float32Array(x.data.length);
    applyImageTransform(x, compileTransform(params, x.height, x.width, this.fillMode, this.cval, null), { out });
    return { ...x, data: out };
  }

  /**
   * The per-image work of a `DirectoryIterator` batch for drawn `params` (see {@link ImageAugmenter}):
   * `apply_transform`, with `rescale` folded in unless a preprocessing function must run before it.
   *
   * @param params - from {@link getRandomTransform}
   * @param imgShape - `[height, width, channels]` of the image
   * @returns plain data for `applyImageTransform`
   */
  compileTransform(params: TransformParams, imgShape: readonly number[]): ImageTransform {
    return compileTransform(params, imgShape[0] as number, imgShape[1] as number, this.fillMode, this.cval, this.standardizeCompiled ? this.rescale : null);
  }

  /** True when `standardize` is plain rescaling (no preprocessing function), so {@link compileTransform} includes it. */
  get standardizeCompiled(): boolean {
    return this.preprocessingFunction === null;
  }

  /**
   * Applies a random transformation (Keras `random_transform`).
   *
   * @param x - one `[h, w, c]` image (tensor or {@link ImageArray})
   * @param seed - optional seed, as in {@link getRandomTransform}
   * @returns a new image of the same kind (caller disposes a tensor)
   */
  randomTransform(x: tf.Tensor3D, seed?: number | Random): tf.Tensor3D;
  randomTransform(x: ImageArray, seed?: number | Random): ImageArray;
  randomTransform(x: tf.Tensor3D | ImageArray, seed?: number | Random): tf.Tensor3D | ImageArray {
    const shape = x instanceof tf.Tensor ? x.shape : [x.height, x.width, x.channels];
    const params = this.getRandomTransform(shape, seed);
    return x instanceof tf.Tensor ? this.applyTransform(x, params) : this.applyTransform(x, params);
  }

  /**
   * Normalises inputs as Keras `standardize`: `preprocessingFunction` first, then `* rescale`
   * (float32 arithmetic, as numpy).
   *
   * @param x - a tensor of any rank (not disposed) or one {@link ImageArray} (not modified)
   * @returns a new tensor (caller disposes) or a new image
   */
  standardize(x: tf.Tensor): tf.Tensor;
  standardize(x: ImageArray): ImageArray;
  standardize(x: tf.Tensor | ImageArray): tf.Tensor | ImageArray {
    if (x instanceof tf.Tensor) {
      return tf.tidy(() => {
        let y: tf.Tensor = x;
        if (this.preprocessingFunction) y = this.preprocessingFunction(y as tf.Tensor3D);
        if (this.rescale !== null) y = tf.mul(y, tf.scalar(this.rescale));
        return y === x ? x.clone() : y;
      });
    }
    let data = x.data;
    if (this.preprocessingFunction) {
      const pf = this.preprocessingFunction;
      data = tf.tidy(() => pf(tf.tensor3d(x.data, [x.height, x.width, x.channels])).dataSync() as Float32Array);
      data = data === x.data ? data.slice() : data;
    } else {
      data = data.slice();
    }
    if (this.rescale !== null) {
      const r = Math.fround(this.rescale);
      for (let i = 0; i < data.length; i++) data[i] *= r;
    }
    return { ...x, data };
  }

  /**
   * Reads images from class subfolders of `directory` in batches (Keras `flow_from_directory`).
   * Prints `Found N images belonging to K classes.`
   *
   * @param directory - folder with one subfolder per class
   * @param args - see {@link FlowFromDirectoryArgs}
   * @returns a {@link DirectoryIterator}
   * @throws {TypeError} for invalid arguments; {@link DirectoryScanError} when the folder cannot be listed
   */
  flowFromDirectory(directory: string, args: FlowFromDirectoryArgs = {}): DirectoryIterator {
    return new DirectoryIterator(directory, this, args);
  }
}
