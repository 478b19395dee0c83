/**
 * The contracts of prefix engines, the code that runs a model's frozen prefix outside the gradient
 * tape (ONNX Runtime, TF.js in inference mode, with or without a feature cache). They live here,
 * below training, so that engines need nothing from training; `fit` and `evaluate` use them
 * through `training/pipeline.ts` and `training/batch-queue.ts`.
 */
import type * as tf from '@tensorflow/tfjs';

/** What a {@link PrefixEngine} may use to cache or route a batch. */
export interface PrefixEngineMeta {
  /** Source file of each sample. */
  filepaths?: string[];
  /** Whether the batch's pixels are a pure function of the files (the source's `deterministic`). */
  deterministic?: boolean;
  /** Identifies the preprocessing (the source's `preprocessingKey`). */
  preprocessingKey?: string;
}

/**
 * Runs the frozen prefix of a model outside TF.js (e.g. ONNX Runtime) in inference mode.
 * `predict` resolves to one tensor per cut tensor, in the order of `splitFrozenPrefix(...).cutTensors`;
 * the caller disposes them.
 */
export interface PrefixEngine {
  /** Computes the prefix outputs for a batch of images. */
  predict(x: tf.Tensor4D, meta?: PrefixEngineMeta): Promise<tf.Tensor[]>;
  /** One line naming the engine and its device, for logs. */
  describe(): string;
  /** Releases native resources. */
  dispose(): void;
}

/** A {@link PrefixEngine} that can run a batch given by its files, loading only its cache misses (`OnnxPrefixEngine`). */
export interface FilePrefixEngine extends PrefixEngine {
  /** Whether the engine keeps per-file outputs (a feature cache). */
  readonly cache?: unknown;
  /** Quick guess whether the outputs of `filepath` are cached. */
  hasCached(filepath: string, preprocessingKey: string): boolean;
  /** Prefix outputs of the files; `load` is called for the positions not cached (possibly in several disjoint calls). */
  predictFiles(filepaths: string[], preprocessingKey: string, sampleShape: number[], load: (positions: number[]) => Promise<Float32Array>): Promise<tf.Tensor[]>;
}

/**
 * Whether `engine` can run batches given by their files with a feature cache ({@link FilePrefixEngine}).
 *
 * @param engine - any prefix engine, or null
 * @returns true for the ONNX Runtime engine and the TF.js engine when they have a cache
 */
export function readsFiles(engine: PrefixEngine | null): engine is FilePrefixEngine {
  const e = engine as Partial<FilePrefixEngine> | null;
  return e !== null && e.cache !== undefined && typeof e.predictFiles === 'function' && typeof e.hasCached === 'function';
}
