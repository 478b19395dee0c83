/**
 * The source task's slices as network input: rendered by `phantomSourceSample` (src/data) and then
 * prepared exactly as `flowFromDirectory` prepares the target's images — grayscale, resized to the
 * target size with the same PIL-exact interpolation, scaled by `rescale` — so a network pretrained
 * on them sees the same kind of input as when it is reused on the chest-CT phantom.
 */
import { PHANTOM_SOURCE_CLASSES, phantomSourceSample } from '../data/phantom-source';
import { checkInteger, checkOneOf } from '../util/validate';
import { resizeToTarget, resolveLoadOptions } from './image-io';
import { INTERPOLATIONS, type Interpolation } from './resize';

/** Options of {@link phantomSourceSet}. */
export interface PhantomSourceSetArgs {
  /** Number of slices, ≥ 1. */
  count: number;
  /** Index of the first slice (slices `start … start + count − 1`). Default 0. Held-out sets conventionally start at 1,000,000. */
  start?: number;
  /** Seed of the source set. Default 0. */
  seed?: number;
  /** `[height, width]` of the network input. Default `[64, 64]`. */
  targetSize?: [number, number];
  /** Resampling, as `flowFromDirectory`'s. Default `'nearest'` (Keras's default). */
  interpolation?: Interpolation;
  /** Factor applied to the 0–255 pixels. Default `1 / 255`. */
  rescale?: number;
}

/** Slices of the source task, ready for a network: one channel, `[count, height, width, 1]`. */
export interface PhantomSourceSet {
  /** Pixels, NHWC, row-major. */
  xs: Float32Array;
  /** `[count, height, width, 1]`. */
  shape: [number, number, number, 1];
  /** Label of each slice (index into `classNames`). */
  labels: Int32Array;
  /** {@link PHANTOM_SOURCE_CLASSES}. */
  classNames: string[];
}

/**
 * Renders and prepares `count` source-task slices (classes balanced, in turn).
 *
 * @param args - see {@link PhantomSourceSetArgs}
 * @returns pixels, shape, labels and class names
 * @throws TypeError for invalid arguments
 * @example
 * const heldOut = phantomSourceSet({ count: 500, start: 1_000_000, seed: 1 });
 */
export function phantomSourceSet(args: PhantomSourceSetArgs): PhantomSourceSet {
  const count = checkInteger('count', args.count, 1, 10_000_000);
  const start = checkInteger('start', args.start ?? 0, 0);
  const seed = checkInteger('seed', args.seed ?? 0);
  const [h, w] = args.targetSize ?? [64, 64];
  checkInteger('targetSize[0]', h, 1, 4096);
  checkInteger('targetSize[1]', w, 1, 4096);
  const interpolation = checkOneOf('interpolation', args.interpolation ?? 'nearest', INTERPOLATIONS);
  const rescale = args.rescale ?? 1 / 255;
  const load = resolveLoadOptions({ colorMode: 'grayscale', targetSize: [h, w], interpolation });
  const xs = new Float32Array(count * h * w);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const s = phantomSourceSample(start + i, { seed });
    const img = resizeToTarget({ data: s.pixels, width: s.width, height: s.height, channels: 1 }, load);
    const offset = i * h * w;
    for (let p = 0; p < h * w; p++) xs[offset + p] = img.data[p] * rescale;
    labels[i] = s.label;
  }
  return { xs, shape: [count, h, w, 1], labels, classNames: [...PHANTOM_SOURCE_CLASSES] };
}
