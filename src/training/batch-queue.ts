/**
 * The next batch of a source as tail inputs (frozen-prefix outputs), for `fit`, `evaluate` and
 * `predictIterator`. For a deterministic source that can plan batches (`DirectoryIterator.nextPlan`)
 * and an engine with a feature cache, every sample's cached features are looked up BEFORE any image
 * is decoded, and only the misses are decoded and run; a warm validation epoch then decodes
 * nothing. Any other source or engine takes the ordinary path: `next()`, then the prefix.
 *
 * The engines' side of this (`FilePrefixEngine`, `readsFiles`) is in `acceleration/engine.ts`.
 *
 * No Keras original: Keras decodes and recomputes the frozen base every epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { readsFiles } from '../acceleration/engine';
import { TrainingError } from './errors';
import type { Pipeline } from './pipeline';
import type { BatchSource } from './types';

/** A batch planned but not decoded (what `DirectoryIterator.nextPlan` returns). */
export interface PlannedBatch {
  /** File of each sample, in batch order. */
  filepaths: string[];
  /** Targets (the caller disposes them), when the source has labels. */
  ys?: tf.Tensor;
  /** Resolves to the NHWC float32 pixels of the batch positions asked for, in that order. */
  load(positions: number[]): Promise<Float32Array>;
}

/** A {@link BatchSource} that can also plan its next batch without decoding it (`DirectoryIterator`). */
export interface PlanningBatchSource extends BatchSource {
  /** `[height, width, channels]` of one image. */
  readonly imageShape: readonly number[];
  /** Keras class mode; 'input' cannot be planned (its targets are the images). */
  readonly classMode?: string | null;
  /** The next batch of the same stream as `next()`, undecoded; `skip` names files prefetch need not decode. */
  nextPlan(args?: { skip?: (filepath: string) => boolean }): Promise<PlannedBatch>;
}

/** One batch as tail inputs. The caller disposes `ys` and `features`. */
export interface PrefixBatch {
  /** Tail inputs (prefix outputs, or the images when nothing is frozen), in cut order. */
  features: tf.Tensor[];
  /** Targets, when the source yields them. */
  ys?: tf.Tensor;
  /** Samples in the batch. */
  size: number;
  /** File of each sample, when the source knows them. */
  filepaths?: string[];
}

function plans(source: BatchSource): source is PlanningBatchSource {
  const s = source as Partial<PlanningBatchSource>;
  return typeof s.nextPlan === 'function' && Array.isArray(s.imageShape) && s.classMode !== 'input';
}

/**
 * Draws the next batch of `source` and computes its tail inputs through `pipeline`, decoding only
 * the images whose prefix outputs are not cached when that is possible (see the module comment).
 * Results equal `pipeline.features(await source.next(), source)`; the batch's images are disposed
 * here.
 *
 * @param pipeline - from `createPipeline` (its engine decides whether a cache is consulted)
 * @param source - the batches; same stream position and epoch semantics as `source.next()`
 * @returns a {@link PrefixBatch}; the caller disposes `features` and `ys`
 * @throws TrainingError when the engine returns the wrong number of tensors; whatever decoding throws
 * @example
 * const { features, ys, size } = await nextPrefixBatch(pipeline, valGen);
 * try { ... pipeline.tail(features, false) ... } finally { tf.dispose([...features, ...(ys ? [ys] : [])]); }
 */
export async function nextPrefixBatch(pipeline: Pipeline, source: BatchSource): Promise<PrefixBatch> {
  const engine = pipeline.engine;
  const key = source.preprocessingKey;
  if (pipeline.split.prefix !== null && readsFiles(engine) && source.deterministic === true && key !== undefined && plans(source)) {
    const plan = await source.nextPlan({ skip: (f) => engine.hasCached(f, key) });
    try {
      const features = await engine.predictFiles(plan.filepaths, key, [...source.imageShape], plan.load);
      const expected = pipeline.split.tail.inputs.length;
      if (features.length !== expected) {
        tf.dispose(features);
        throw new TrainingError(`PrefixEngine ${engine.describe()} returned ${features.length} tensors but the cut has ${expected} (${pipeline.split.cutTensors.join(', ')}).`);
      }
      return { features, ys: plan.ys, size: plan.filepaths.length, filepaths: plan.filepaths };
    } catch (error) {
      plan.ys?.dispose();
      throw error;
    }
  }
  const batch = await source.next();
  try {
    const features = await pipeline.features(batch, source);
    return { features, ys: batch.ys, size: batch.xs.shape[0] as number, filepaths: batch.filepaths };
  } catch (error) {
    batch.ys?.dispose();
    throw error;
  } finally {
    batch.xs.dispose();
  }
}

/**
 * Batches of a source as tail inputs, started ahead: up to `depth` calls of {@link nextPrefixBatch}
 * are in flight at once (never more than `total` in all), so the next batches' decoding and frozen
 * prefix (ONNX Runtime in its worker thread) proceed while the caller runs the tail of the current
 * one, and ONNX Runtime finds the next batch queued the moment it finishes one.
 *
 * Batches are handed out in stream order. Those started and never taken (the caller stopped early
 * or failed) are freed by `dispose()`.
 *
 * No Keras original (Keras overlaps input with its `OrderedEnqueuer` / `tf.data` prefetch, not the
 * frozen base).
 */
export class PrefixBatchQueue {
  private readonly pending: Array<Promise<PrefixBatch>> = [];
  private issued = 0;

  /**
   * Starts the first batches at once.
   *
   * @param pipeline - from `createPipeline`
   * @param source - the batches, drawn in order with `nextPrefixBatch`
   * @param total - batches that will be taken (no batch beyond them is drawn from `source`)
   * @param depth - batches in flight, ≥ 1. Default 2.
   */
  constructor(private readonly pipeline: Pipeline, private readonly source: BatchSource, private readonly total: number, private readonly depth = 2) {
    this.fill();
  }

  private fill(): void {
    while (this.pending.length < this.depth && this.issued < this.total) {
      const batch = nextPrefixBatch(this.pipeline, this.source);
      batch.catch(() => undefined); // surfaces when taken; must not be an unhandled rejection meanwhile
      this.pending.push(batch);
      this.issued++;
    }
  }

  /**
   * The next batch (the caller disposes its `features` and `ys`); starts another one behind it,
   * then yields once to the event loop so that it reaches the prefix engine before the caller
   * occupies this thread with the tail.
   *
   * @throws TrainingError when all `total` batches were taken; whatever drawing the batch threw
   */
  async next(): Promise<PrefixBatch> {
    const batch = this.pending.shift();
    // Internal invariant of the training loops (they take each batch once): a plain Error.
    if (batch === undefined) throw new Error(`All ${this.total} batches of this queue were taken already.`);
    try {
      return await batch;
    } finally {
      this.fill();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Frees the batches started and not taken, waiting for those still in flight (a failed one is
   * ignored: nobody asked for it).
   *
   * @returns once their tensors are disposed
   */
  async dispose(): Promise<void> {
    const left = this.pending.splice(0);
    await Promise.all(left.map((batch) => batch.then((b) => tf.dispose([...(b.ys ? [b.ys] : []), ...b.features]), () => undefined)));
  }
}
