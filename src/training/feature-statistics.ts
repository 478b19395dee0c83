/**
 * How large, and how different from image to image, the features are that a base network hands a
 * new head: the numbers behind "a frozen random base gives the head nothing to learn from".
 *
 * No Keras original: a measurement for the notebooks (Keras users print `features.std()` by hand).
 */
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from './errors';
import type { BatchSource } from './types';
import { describeValue, invalidParameterError, isInteger } from '../util/validate';

/** Options of {@link featureStatistics}. */
export interface FeatureStatisticsArgs {
  /** Images to measure, at least 2 (drawn from the first batches of the source). Default `8`. */
  images?: number;
}

/** What {@link featureStatistics} measured, on the model's output in inference mode. */
export interface FeatureStatistics {
  /** Images measured. */
  images: number;
  /** Features per image after average pooling (channels of the output). */
  channels: number;
  /** `[rows, columns]` of the output grid before pooling, for a 4-D output; absent for a 2-D output or a 1×1 grid. */
  grid?: [number, number];
  /** Root mean square of the pooled features: their typical size. */
  rms: number;
  /** How much the pooled features differ between images: the root of the per-feature variance across images, averaged over features. */
  betweenImages: number;
  /** How much the features vary across the grid cells of one image (root of the per-image, per-channel variance over positions, averaged); absent when `grid` is. */
  withinGrid?: number;
  /** One line for a notebook reader. */
  text: string;
}

/** Formats a positive measurement for reading: `7.3e-4`, `0.042`, `1.3`. */
export function formatMagnitude(value: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) < 0.01) return value.toExponential(1).replace('.0e', 'e');
  return value < 10 ? value.toPrecision(2) : value.toFixed(0);
}

/**
 * Measures the features `model` (typically a frozen base such as `InceptionV3({ includeTop: false })`)
 * produces for a few images of `source`, in inference mode: their size (root mean square), how
 * much they differ between images, and — for a 4-D `[batch, rows, columns, channels]` output —
 * how much they vary across the grid before global average pooling discards the positions.
 * A pretrained base gives features of order 0.1–1 that differ clearly between images; a random
 * one, with BatchNormalization statistics at their initial values, gives features about 1e-4 in size
 * that are nearly the same vector for every image.
 *
 * @param model - a model with one image input and one 2-D or 4-D output
 * @param source - batches of images, e.g. the validation iterator (only `xs` is used; the tensors
 *   of each batch are disposed here and `reset()` is called afterwards when present)
 * @param args - see {@link FeatureStatisticsArgs}
 * @returns the measurements and a line of text; no tensors are left allocated
 * @throws TypeError for `images` < 2; TrainingError when the source yields no image tensor or the
 *   output is neither 2-D nor 4-D
 * @example
 * const stats = await featureStatistics(baseModel, validFlow);
 * console.log(stats.text);
 * // Features the head receives (8 images, after average pooling): size 7.3e-4 (root mean square), ...
 */
export async function featureStatistics(model: tf.LayersModel, source: BatchSource, args: FeatureStatisticsArgs = {}): Promise<FeatureStatistics> {
  const wanted = args.images ?? 8;
  if (!isInteger(wanted) || wanted < 2) throw invalidParameterError('images', 'integer of at least 2', wanted);
  const parts: tf.Tensor[] = [];
  let have = 0;
  try {
    for (let drawn = 0; have < wanted && drawn < Math.max(1, source.length); drawn++) {
      const batch = await source.next();
      try {
        if (!(batch?.xs instanceof tf.Tensor)) {
          throw new TrainingError(`Expected source.next() to resolve to a batch { xs } with an image tensor but received ${describeValue(batch)}.`);
        }
        const take = Math.min(wanted - have, batch.xs.shape[0] as number);
        const out = tf.tidy(() => {
          const xs = batch.xs.slice(0, take);
          const y = model.predict(xs, { batchSize: take });
          if (Array.isArray(y)) throw new TrainingError(`Expected a model with one output but '${model.name}' has ${y.length}.`);
          return y;
        });
        parts.push(out);
        have += take;
      } finally {
        tf.dispose([batch?.xs, batch?.ys].filter((t): t is tf.Tensor => t instanceof tf.Tensor));
      }
    }
    const rank = parts[0]?.rank;
    if (rank !== 2 && rank !== 4) throw new TrainingError(`Expected a 2-D [batch, features] or 4-D [batch, rows, columns, channels] output from '${model.name}' but it has rank ${String(rank)}.`);
    const [rms, between, within] = tf.tidy(() => {
      const all = tf.concat(parts, 0);
      const pooled = rank === 4 ? tf.mean(all, [1, 2]) : all;
      const rmsT = tf.sqrt(tf.mean(tf.square(pooled)));
      const betweenT = tf.sqrt(tf.mean(tf.moments(pooled, 0).variance));
      const withinT = rank === 4 ? tf.sqrt(tf.mean(tf.moments(all, [1, 2]).variance)) : tf.scalar(NaN);
      return [rmsT, betweenT, withinT].map((t) => t.dataSync()[0] as number);
    });
    const shape = parts[0].shape;
    // A 1×1 grid (small inputs) has no positions to lose: report it as a 2-D output.
    const grid: [number, number] | undefined = rank === 4 && (shape[1] as number) * (shape[2] as number) > 1 ? [shape[1] as number, shape[2] as number] : undefined;
    const channels = shape[shape.length - 1] as number;
    const ratio = rms > 0 ? ` (${Math.round((between / rms) * 100)}% of their size)` : '';
    const text = `Features the head receives (${have} images, after average pooling): size ${formatMagnitude(rms)} (root mean square), ` +
      `differences between images ${formatMagnitude(between)}${ratio}` +
      (grid ? `; before pooling they varied by ${formatMagnitude(within)} across the ${grid[0]}×${grid[1]} grid of each image.` : '.');
    return {
      images: have, channels, rms, betweenImages: between, text,
      ...(grid ? { grid, withinGrid: within } : {}),
    };
  } finally {
    tf.dispose(parts);
    source.reset?.();
  }
}
