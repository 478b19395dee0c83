/**
 * Shared types of the training loop: what `fit` reads batches from, the engine that may run the
 * frozen prefix instead of TF.js, and the per-epoch / per-batch logs passed to callbacks.
 */
import type { Batch, BatchPlanner } from '../preprocessing/batch';

// The tensor batch is the preprocessing area's (a DirectoryIterator yields it too).
export type { Batch } from '../preprocessing/batch';

/**
 * Anything `fit`/`evaluate` can draw batches from — structurally what the preprocessing area's
 * `DirectoryIterator` is (Keras's `DirectoryIterator` / `PyDataset`).
 *
 * `next()` is expected to loop forever (wrapping, and possibly reshuffling, at each epoch
 * boundary); `length` is the number of batches in one pass.
 */
export interface BatchSource {
  /** Batches per pass over the data. */
  readonly length: number;
  /** Returns the next batch; the caller disposes its tensors. */
  next(): Promise<Batch>;
  /** Restarts at the beginning of a pass (Keras `Iterator.reset`). Called before each validation pass. */
  reset?(): void;
  /**
   * Positions the stream for training epoch `epoch` (0-based), where `fit` draws `stepsPerEpoch`
   * batches per epoch. `fit` calls it before the first batch of every epoch, so a source whose
   * order or augmentation depends on its position (a shuffling `DirectoryIterator`) can make what it
   * yields depend only on (seed, epoch, step) and not on the process's history — which is what lets
   * a run resumed by `BackupAndRestore` see exactly the batches of an uninterrupted run. Must be
   * cheap when the source is already there. A source without it is used as it stands.
   */
  setEpoch?(epoch: number, stepsPerEpoch: number): void;
  /** True when the same position always yields the same pixels (no augmentation). Passed to a {@link PrefixEngine}. */
  deterministic?: boolean;
  /** A key identifying the preprocessing (for caching prefix features). Passed to a {@link PrefixEngine}. */
  preprocessingKey?: string;
  /** False when the source keeps file order; `predictIterator` requires it. */
  shuffle?: boolean;
  /** Class names, index = label, when the source knows them. */
  classNames?: string[];
  /** Class label of every sample in file order, when known. */
  classes?: ArrayLike<number>;
  /**
   * The same stream as {@link BatchPlan}s, when the source decodes images itself (a
   * `DirectoryIterator` is its own planner; null for classMode 'input'): `fit`, `evaluate` and
   * `predictIterator` then hand engines pixels and decode only what a feature cache lacks.
   */
  readonly planner?: BatchPlanner | null;
}

// The engine contracts live below training, in acceleration (engines need nothing from training).
export type { PrefixEngine, PrefixEngineMeta } from '../acceleration/engine';

/** Keras logs: metric name → value (`loss`, `accuracy`, `val_loss`, `learning_rate`, ...). */
export type Logs = Record<string, number>;
