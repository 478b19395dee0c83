/**
 * The batch stage of `fit`, `evaluate` and `predictIterator`: the next batch of a source as the
 * inputs of the trainable tail, started ahead with the one prefetcher (`util/prefetch.ts`).
 *
 * The seam between images and engines is pixels. A source that decodes images itself (its
 * `planner`: a `DirectoryIterator`) hands out `BatchPlan`s: an engine with `predictPixels` gets
 * the pixels as Float32Arrays, chunk by chunk, and with a feature cache only the misses of a
 * deterministic batch are decoded (a warm validation epoch decodes nothing). A tensor is made
 * only where TF.js needs one: the TF.js prefix, an engine without `predictPixels`, or the tail
 * itself when nothing is frozen. Loops that only predict (`evaluate`, `predictIterator`, `fit`'s
 * validation) with the tail on ONNX Runtime run the tail here, chunk by chunk as the prefix returns
 * each (`predictPixelsMapped`, else `predictPixelsData`), on arrays: the cut tensors never enter
 * TF.js either, and a batch's tail is done moments after its last chunk. Any other source yields
 * tensors (`next()`), run as they are.
 *
 * The engines' side of this (`PixelBatch`, `FilePrefixEngine`) is in `acceleration/engine.ts`.
 *
 * No Keras original: Keras decodes and recomputes the frozen base every epoch, and overlaps input
 * with its `OrderedEnqueuer` / `tf.data` prefetch.
 */
import * as tf from '@tensorflow/tfjs';
import type { PrefixRunOutput } from '../acceleration/cached-outputs';
import { readsFiles } from '../acceleration/engine';
import type { BatchPlanner } from '../preprocessing/batch';
import { Prefetcher } from '../util/prefetch';
import { TrainingError } from './errors';
import type { SplitModelRunner } from './split-model-runner';
import type { BatchSource, PrefixEngine } from './types';

/** One batch as the inputs of the trainable tail. The caller disposes `ys` and `features`. */
export interface TailBatch {
  /** Tail inputs (prefix outputs, or the images when nothing is frozen), in cut order; empty when `data` holds them. */
  features: tf.Tensor[];
  /**
   * The tail inputs as flat arrays instead of tensors (read only), when the batch was drawn for
   * prediction (`predictOnly`), the runner predicts its tail on ONNX Runtime and the prefix engine
   * has `predictPixelsData`: the cut tensors never enter TF.js. Give both to `runner.predictTail`.
   * Also when drawn with `asData` (the tail trains on ONNX Runtime: `TailTrainer.step` takes arrays).
   */
  data?: PrefixRunOutput[];
  /**
   * The tail's output for the whole batch, already computed in this stage, when the batch was drawn
   * with `predictOnly`, the runner predicts its tail on ONNX Runtime and the prefix engine has
   * `predictPixelsMapped`: each chunk's tail runs as soon as the prefix returns it (`features` is
   * then empty and `data` unset). Take it with {@link tailOutput}.
   */
  predicted?: tf.Tensor;
  /** Targets, when the source yields them. */
  ys?: tf.Tensor;
  /** Samples in the batch. */
  size: number;
  /** File of each sample, when the source knows them. */
  filepaths?: string[];
}

/** `outputs`, when the engine returned one array per cut tensor. */
function checkCut(runner: SplitModelRunner, engine: PrefixEngine, outputs: PrefixRunOutput[]): PrefixRunOutput[] {
  if (outputs.length !== runner.split.cutTensors.length) {
    throw new TrainingError(`PrefixEngine ${engine.describe()} returned ${outputs.length} outputs but the cut has ${runner.split.cutTensors.length} (${runner.split.cutTensors.join(', ')}).`);
  }
  return outputs;
}

/** A batch of a planner's stream as tail inputs (see the module comment). */
async function fromPlan(runner: SplitModelRunner, planner: BatchPlanner, predictOnly: boolean, asData: boolean, ahead: number | undefined): Promise<TailBatch> {
  const engine = runner.engine;
  const key = planner.preprocessingKey;
  // Prefetch need not decode what the engine's cache will answer.
  const skip = planner.deterministic && readsFiles(engine) ? (f: string) => engine.hasCached(f, key) : undefined;
  const plan = await planner.nextPlan({ skip, ahead });
  try {
    const size = plan.filepaths.length;
    const meta = { filepaths: plan.filepaths, deterministic: planner.deterministic, preprocessingKey: key };
    let features: tf.Tensor[];
    const tailEngine = runner.tailEngine;
    if (predictOnly && tailEngine !== null && runner.split.prefix !== null && engine?.predictPixelsMapped !== undefined) {
      const predicted = await engine.predictPixelsMapped({ size, imageShape: planner.imageShape, load: plan.load }, meta, async (outputs) => tailEngine.predictData(checkCut(runner, engine, outputs)));
      return { features: [], predicted, ys: plan.ys, size, filepaths: plan.filepaths };
    }
    if (((predictOnly && tailEngine !== null) || asData) && runner.split.prefix !== null && engine?.predictPixelsData !== undefined) {
      const data = checkCut(runner, engine, await engine.predictPixelsData({ size, imageShape: planner.imageShape, load: plan.load }, meta));
      return { features: [], data, ys: plan.ys, size, filepaths: plan.filepaths };
    }
    if (runner.split.prefix !== null && engine?.predictPixels !== undefined) {
      features = runner.checkOutputs(await engine.predictPixels({ size, imageShape: planner.imageShape, load: plan.load }, meta));
    } else {
      const xs = tf.tensor4d(await plan.load(Array.from({ length: size }, (_, i) => i)), [size, ...planner.imageShape]);
      if (runner.split.prefix === null) {
        features = [xs]; // nothing frozen: the images are the tail's input
      } else {
        try {
          features = await runner.prefixOutputs(xs, meta);
        } finally {
          xs.dispose();
        }
      }
    }
    return { features, ys: plan.ys, size, filepaths: plan.filepaths };
  } catch (error) {
    plan.ys?.dispose();
    throw error;
  }
}

/**
 * The tail's output of a batch drawn with `predictOnly`, in inference mode: its `predicted` (taken
 * over: the batch no longer holds it), else `runner.predictTail` on its features or data.
 *
 * @param runner - the runner the batch was drawn with
 * @param batch - from {@link nextTailBatch} or the loops of {@link forEachTailBatch}
 * @returns the output; the caller disposes it
 * @throws whatever the tail throws
 * @example
 * const probs = await tailOutput(runner, batch);
 */
export async function tailOutput(runner: SplitModelRunner, batch: TailBatch): Promise<tf.Tensor> {
  const predicted = batch.predicted;
  if (predicted !== undefined) {
    batch.predicted = undefined;
    return predicted;
  }
  return runner.predictTail(batch.features, batch.data);
}

/** The tensors a batch holds (freed after its loop step, or when it was never taken). */
function tensorsOf(batch: TailBatch): tf.Tensor[] {
  return [...(batch.ys ? [batch.ys] : []), ...batch.features, ...(batch.predicted ? [batch.predicted] : [])];
}

/** A batch of tensors from `source.next()` as tail inputs; the images are disposed here. */
async function fromTensors(runner: SplitModelRunner, source: BatchSource): Promise<TailBatch> {
  const batch = await source.next();
  try {
    const features = await runner.prefixOutputs(batch.xs, { filepaths: batch.filepaths, deterministic: source.deterministic, preprocessingKey: source.preprocessingKey });
    return { features, ys: batch.ys, size: batch.xs.shape[0] as number, filepaths: batch.filepaths };
  } catch (error) {
    batch.ys?.dispose();
    throw error;
  } finally {
    batch.xs.dispose();
  }
}

/**
 * Draws the next batch of `source` and computes its tail inputs through `runner` (see the module
 * comment): from pixels when the source has a `planner`, else from its tensors.
 *
 * @param runner - from `createSplitModelRunner` (its engine decides whether a cache is consulted)
 * @param source - the batches; same stream position and epoch semantics as `source.next()`
 * @param options - `predictOnly: true`: the batch only goes to `runner.predictTail`, so its
 *   features may come as `data` (see {@link TailBatch.data}); `asData: true`: they may come as
 *   `data` whatever the tail engine (the caller trains the tail on ONNX Runtime). Default false.
 *   `ahead`: batches the caller will still take after this one (see `NextPlanArgs.ahead`). Default: no bound.
 * @returns a {@link TailBatch}; the caller disposes `features` and `ys`
 * @throws TrainingError when the engine returns the wrong number of tensors; whatever decoding throws
 * @example
 * const { features, ys, size } = await nextTailBatch(runner, valGen);
 * try { ... runner.tail(features, false) ... } finally { tf.dispose([...features, ...(ys ? [ys] : [])]); }
 */
export function nextTailBatch(runner: SplitModelRunner, source: BatchSource, options: { predictOnly?: boolean; asData?: boolean; ahead?: number } = {}): Promise<TailBatch> {
  const planner = source.planner ?? null;
  return planner === null ? fromTensors(runner, source) : fromPlan(runner, planner, options.predictOnly ?? false, options.asData ?? false, options.ahead);
}

/**
 * Tail batches of a source, started ahead: up to `depth` calls of {@link nextTailBatch} are in
 * flight at once (never more than `total` in all), so the next batches' decoding and frozen prefix
 * (ONNX Runtime in its worker thread) proceed while the caller runs the tail of the current one,
 * and ONNX Runtime finds the next batch queued the moment it finishes one.
 *
 * Batches are handed out in stream order. Those started and never taken (the caller stopped early
 * or failed) are freed by `dispose()`.
 */
export class TailBatchQueue {
  private readonly ahead: Prefetcher<Promise<TailBatch>>;

  /**
   * Starts the first batches at once.
   *
   * @param runner - from `createSplitModelRunner`
   * @param source - the batches, drawn in order with `nextTailBatch`
   * @param total - batches that will be taken (no batch beyond them is drawn from `source`)
   * @param depth - batches in flight, ≥ 1. Default 2.
   * @param predictOnly - as in {@link nextTailBatch}. Default false.
   * @param asData - as in {@link nextTailBatch}. Default false.
   */
  constructor(runner: SplitModelRunner, source: BatchSource, total: number, depth = 2, predictOnly = false, asData = false) {
    let drawn = 0;
    this.ahead = new Prefetcher({
      depth,
      limit: total,
      make: () => {
        // A loop that only predicts ends its pass here (evaluate, predictIterator, validation):
        // nothing beyond its last batch is decoded ahead. Training runs on into the next epoch.
        const batch = nextTailBatch(runner, source, { predictOnly, asData, ahead: predictOnly ? total - ++drawn : undefined });
        batch.catch(() => undefined); // surfaces when taken; must not be an unhandled rejection meanwhile
        return batch;
      },
      // A batch nobody asked for: freed when it arrives; a failed one is ignored.
      release: (batch) => batch.then((b) => tf.dispose(tensorsOf(b)), () => undefined),
    });
    this.ahead.fill();
  }

  /**
   * The next batch (the caller disposes its `features` and `ys`); starts another one behind it,
   * then yields once to the event loop so that it reaches the prefix engine before the caller
   * occupies this thread with the tail.
   *
   * @throws Error (internal: the training loops take each batch once) when all `total` batches were
   *   taken; whatever drawing the batch threw
   */
  async next(): Promise<TailBatch> {
    const batch = this.ahead.take();
    try {
      return await batch;
    } finally {
      this.ahead.fill();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Frees the batches started and not taken, waiting for those still in flight.
   *
   * @returns once their tensors are disposed
   */
  dispose(): Promise<void> {
    return this.ahead.dispose();
  }
}

/** The steps of a loop over tail batches, for {@link forEachTailBatch}. */
export interface TailBatchLoop {
  /** Before a batch is taken (a callback's `on...BatchBegin`). */
  before?(step: number): Promise<void>;
  /** Uses the batch; its tensors are disposed right after (whatever happens). */
  each(batch: TailBatch, step: number): Promise<void>;
  /** After the batch's tensors are disposed (`on...BatchEnd`); true stops the loop. */
  after?(step: number): Promise<boolean | void>;
  /** The loop only predicts the tail (`tailOutput(runner, batch)`), so batches may carry `data` or the tail's output (`predicted`) instead of tensors. Default false. */
  predictOnly?: boolean;
  /** The loop takes the tail inputs as arrays (`data`) where the engine gives them so (it trains the tail on ONNX Runtime). Default false. */
  asData?: boolean;
}

/**
 * Runs `loop` over `steps` tail batches of `source` in stream order, the next ones started ahead
 * ({@link TailBatchQueue}). Each batch's `features` and `ys` are disposed after `loop.each`, and
 * batches started and not taken (the loop stopped or failed) are freed before this returns.
 *
 * @param runner - from `createSplitModelRunner`
 * @param source - the batches
 * @param steps - batches to take, at most
 * @param loop - see {@link TailBatchLoop}
 * @returns once the loop has ended and nothing it started is left
 * @throws whatever drawing a batch or `loop` throws
 * @example
 * await forEachTailBatch(runner, valGen, valGen.length, { each: async (b) => { ... runner.tail(b.features, false) ... } });
 */
export async function forEachTailBatch(runner: SplitModelRunner, source: BatchSource, steps: number, loop: TailBatchLoop): Promise<void> {
  const queue = new TailBatchQueue(runner, source, steps, 2, loop.predictOnly ?? false, loop.asData ?? false);
  try {
    for (let step = 0; step < steps; step++) {
      await loop.before?.(step);
      const batch = await queue.next();
      try {
        await loop.each(batch, step);
      } finally {
        tf.dispose(tensorsOf(batch));
      }
      if ((await loop.after?.(step)) === true) break;
    }
  } finally {
    await queue.dispose();
  }
}
