/**
 * The batch types, one per role: {@link Batch} (tensors, what every training source yields),
 * {@link ImageBatch} (the tensors a `DirectoryIterator` yields, with their files), and
 * {@link BatchPlan} (files and labels known, pixels loaded on demand as Float32Arrays — the seam
 * between images and the engines that run a frozen prefix). A {@link BatchPlanner} hands out plans;
 * `DirectoryIterator` is one. (The batch of tail inputs, after the frozen prefix, is training's
 * `TailBatch`.)
 */
import type * as tf from '@tensorflow/tfjs';

/** One batch of tensors, as a training `BatchSource` yields it. The caller disposes `xs` and `ys`. */
export interface Batch {
  /** Inputs, e.g. images `[batch, height, width, channels]`, float32. */
  xs: tf.Tensor;
  /** Targets: one-hot `[batch, classes]` (categorical), indices `[batch]` (sparse) or `[batch, 1]` (binary). */
  ys?: tf.Tensor;
  /** Source file of each sample, in batch order, when the source knows them. */
  filepaths?: string[];
}

/** One batch of a `DirectoryIterator` (`next()`, `batch(i)`). `xs` and `ys` belong to the caller, who disposes them. */
export interface ImageBatch extends Batch {
  /** Images, `[n, height, width, channels]`, float32. */
  xs: tf.Tensor4D;
  /**
   * Labels per `classMode`: one-hot `[n, K]` (categorical), indices `[n]` (sparse), `[n, 1]` (binary —
   * Keras gives `(n,)`; TF.js losses want the prediction's shape), a copy of xs (input); absent for null.
   */
  ys?: tf.Tensor;
  /** Paths (directory joined with filename) of the images, in batch order. */
  filepaths: string[];
  /** Sample indices (into `filenames`) of the images, in batch order. */
  indices: number[];
}

/**
 * A batch whose files and labels are known and whose pixels are loaded on demand (from
 * `DirectoryIterator.nextPlan`), so a caller holding per-file results (a feature cache) decodes
 * only what it misses, and an engine gets Float32Arrays, never a tensor it would read back.
 */
export interface BatchPlan {
  /** Sample indices (into `filenames`) in batch order. */
  indices: number[];
  /** Paths of the images in batch order. */
  filepaths: string[];
  /** Labels per `classMode`, as in {@link ImageBatch} (absent for null); the caller disposes them. */
  ys?: tf.Tensor;
  /**
   * Decodes, resizes and augments the images at `positions` (0 ≤ p < batch size) — exactly what
   * `next()` would give for them — and resolves to their pixels, `[positions.length, h, w, c]`
   * row-major in the order asked. No tensors; the array belongs to the caller.
   *
   * @throws {ImageDecodeError} naming the file when an image cannot be decoded
   * @throws {RangeError} for a position outside the batch
   */
  load(positions: number[]): Promise<Float32Array>;
}

/** Options of {@link BatchPlanner.nextPlan}. */
export interface NextPlanArgs {
  /**
   * Files the caller expects not to need decoded (e.g. those in its cache): batches prefetched by
   * this call leave them undecoded. Only a hint — `load` decodes whatever it is asked for, so a
   * wrong guess costs time, never correctness. Default: none (prefetch decodes every image).
   */
  skip?: (filepath: string) => boolean;
  /**
   * Batches the caller will still ask for after this one (a loop's remaining steps): no batch
   * beyond them is planned or decoded ahead, since a stream that is reset or dropped next would
   * throw that work away. Default: no bound (the stream is endless, and the next epoch's first
   * batch decodes while this epoch ends).
   */
  ahead?: number;
}

/**
 * A stream of batches as {@link BatchPlan}s: what a `DirectoryIterator` offers `fit`, `evaluate`
 * and `predictIterator` besides `next()` (its `planner`), so that they hand engines pixels and
 * decode only what a feature cache lacks.
 */
export interface BatchPlanner {
  /** `[height, width, channels]` of one image. */
  readonly imageShape: readonly [number, number, number];
  /** True when a sample's pixels depend only on its file (no random augmentation). */
  readonly deterministic: boolean;
  /** A stable string naming everything besides the file that determines a sample's pixels (for cache keys). */
  readonly preprocessingKey: string;
  /** The next batch of the stream (the same stream as the source's `next()`), planned, not decoded. */
  nextPlan(args?: NextPlanArgs): Promise<BatchPlan>;
}
