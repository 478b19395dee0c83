/**
 * The contracts of prefix engines, the code that runs a model's frozen prefix outside the gradient
 * tape (ONNX Runtime, TF.js in inference mode, with or without a feature cache). They live here,
 * below training, so that engines need nothing from training; `fit` and `evaluate` use them
 * through `training/split-model-runner.ts` and `training/batch-stage.ts`.
 *
 * The seam between images and engines is pixels: a source that decodes images itself hands
 * the batch stage {@link PixelBatch}es (Float32Arrays on demand), and an engine with
 * `predictPixels` never gets a tensor it would only read back.
 */
import type * as tf from '@tensorflow/tfjs';
import type { PrefixRunOutput } from './cached-outputs';

/** What a {@link PrefixEngine} may use to cache or route a batch. */
export interface PrefixEngineMeta {
  /** Source file of each sample. */
  filepaths?: string[];
  /** Whether the batch's pixels are a pure function of the files (the source's `deterministic`). */
  deterministic?: boolean;
  /** Identifies the preprocessing (the source's `preprocessingKey`). */
  preprocessingKey?: string;
}

/** A batch of images as pixels, for {@link PrefixEngine.predictPixels}. */
export interface PixelBatch {
  /** Samples in the batch. */
  readonly size: number;
  /** `[height, width, channels]` of one image. */
  readonly imageShape: readonly number[];
  /**
   * Resolves to the NHWC float32 pixels of the batch positions asked for (ascending), in that
   * order, in an array the engine may take over (e.g. transfer to a worker thread). May be called
   * several times with disjoint positions (chunks), all at once.
   */
  load(positions: number[]): Promise<Float32Array>;
}

/**
 * Runs the frozen prefix of a model outside TF.js (e.g. ONNX Runtime) in inference mode.
 * `predict` (and `predictPixels`) resolve to one tensor per cut tensor, in the order of
 * `splitFrozenPrefix(...).cutTensors`; the caller disposes them.
 */
export interface PrefixEngine {
  /** Computes the prefix outputs for a batch of images. */
  predict(x: tf.Tensor4D, meta?: PrefixEngineMeta): Promise<tf.Tensor[]>;
  /**
   * The same outputs for a batch given as pixels, loaded when the engine asks (with a feature cache
   * and `meta` saying the batch is deterministic, only the misses are loaded). What `fit`,
   * `evaluate` and `predictIterator` call when their source decodes images itself. Optional: for an
   * engine without it, they make a tensor and call `predict`.
   */
  predictPixels?(batch: PixelBatch, meta?: PrefixEngineMeta): Promise<tf.Tensor[]>;
  /**
   * The outputs of `predictPixels` as flat float32 arrays, one per cut tensor, that never enter
   * TF.js (read only; they may be views of feature-cache entries): what `evaluate` and
   * `predictIterator` call when the tail predicts on ONNX Runtime too (the tail engine).
   * Optional: for an engine without it, they use `predictPixels`.
   */
  predictPixelsData?(batch: PixelBatch, meta?: PrefixEngineMeta): Promise<PrefixRunOutput[]>;
  /**
   * `predictPixelsData` with `map` applied part by part as the outputs are computed (the tail
   * engine's `predictData`), the mapped tensors concatenated in batch order: what `evaluate`,
   * `predictIterator` and `fit`'s validation call when the tail predicts on ONNX Runtime. Optional:
   * for an engine without it, they use `predictPixelsData`.
   */
  predictPixelsMapped?(batch: PixelBatch, meta: PrefixEngineMeta | undefined, map: (outputs: PrefixRunOutput[]) => Promise<tf.Tensor>): Promise<tf.Tensor>;
  /** One line naming the engine and its device, for logs. */
  describe(): string;
  /** Releases native resources. */
  dispose(): void;
}

/** A {@link PrefixEngine} with a feature cache, that runs a batch given by its files loading only its cache misses (`OnnxPrefixEngine`, `TfjsPrefixEngine` with a cache). */
export interface FilePrefixEngine extends PrefixEngine {
  /** Whether the engine keeps per-file outputs (a feature cache). */
  readonly cache?: unknown;
  /** Quick guess whether the outputs of `filepath` are cached (a hint for what to decode ahead). */
  hasCached(filepath: string, preprocessingKey: string): boolean;
  /** `predictPixels` for deterministic files: `load` is called for the positions not cached (possibly in several disjoint calls). */
  predictFiles(filepaths: string[], preprocessingKey: string, sampleShape: number[], load: (positions: number[]) => Promise<Float32Array>): Promise<tf.Tensor[]>;
}

/**
 * Whether `engine` can run batches given by their files with a feature cache ({@link FilePrefixEngine}).
 *
 * @param engine - any prefix engine, or null
 * @returns true for the ONNX Runtime engine and the TF.js engine when they have a cache
 */
export function readsFiles(engine: PrefixEngine | null | undefined): engine is FilePrefixEngine {
  const e = engine as Partial<FilePrefixEngine> | null;
  return e !== null && e !== undefined && e.cache !== undefined && typeof e.predictFiles === 'function' && typeof e.hasCached === 'function';
}
