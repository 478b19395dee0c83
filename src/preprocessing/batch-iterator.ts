/**
 * The batch iteration of Keras's `Iterator` (`keras/src/legacy/preprocessing/image.py`: `__len__`,
 * `__next__`, `__getitem__`, `reset`, `on_epoch_end`, `total_batches_seen`), with `seek`/`setEpoch`
 * for resumable training and `nextPlan` (batches as pixels on demand) besides: the index stream
 * (`index-stream.ts`) says which samples come next, the decode queue (`decode-queue.ts`) turns
 * them into pixels, and a subclass says where the samples are and what their targets are
 * (`DirectoryIterator`, as Keras's `DirectoryIterator` subclasses `Iterator`).
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger, invalidParameterError } from '../util/validate';
import type { ImageAugmenter } from './augmenter';
import type { BatchPlan, BatchPlanner, ImageBatch, NextPlanArgs } from './batch';
import { DecodeQueue, type PlannedBatch } from './decode-queue';
import type { ResolvedLoadOptions } from './image-io';
import { IndexStream } from './index-stream';

/** What a {@link BatchIterator} is made of. */
export interface BatchIteratorArgs {
  /** Number of samples. */
  samples: number;
  batchSize: number;
  shuffle: boolean;
  seed: number;
  /** Batches decoded ahead. */
  prefetch: number;
  /** Worker threads (0: this thread). */
  workers: number;
  /** `[height, width, channels]` of one image. */
  imageShape: [number, number, number];
  /** How every image is loaded. */
  load: ResolvedLoadOptions;
  /** The generator, or null. */
  augmenter: ImageAugmenter | null;
}

/** Keras's `Iterator` over images (see the module comment); subclass it, as `DirectoryIterator` does. */
export abstract class BatchIterator implements BatchPlanner {
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** The seed in use (a random one when none was given). */
  readonly seed: number;
  /** `[height, width, channels]` of one image. */
  readonly imageShape: [number, number, number];
  /** Batches decoded ahead. */
  readonly prefetch: number;
  /** Worker threads used (0: the main thread). */
  readonly workers: number;
  /** Number of samples. */
  abstract samples: number;
  /** The file of each sample (sample index → path). */
  abstract filepaths: string[];
  abstract readonly deterministic: boolean;
  abstract readonly preprocessingKey: string;
  protected readonly stream: IndexStream;
  protected readonly decoder: DecodeQueue;

  /** @param args - see {@link BatchIteratorArgs} */
  constructor(args: BatchIteratorArgs) {
    ({ batchSize: this.batchSize, shuffle: this.shuffle, seed: this.seed, imageShape: this.imageShape, prefetch: this.prefetch, workers: this.workers } = args);
    this.stream = new IndexStream(args.samples, this.batchSize, this.shuffle, this.seed);
    this.decoder = new DecodeQueue({
      load: args.load,
      imageShape: this.imageShape,
      augmenter: args.augmenter,
      workers: this.workers,
      prefetch: this.prefetch,
      files: { filepath: (j) => this.filepaths[j] as string, fileBytes: (j) => this.fileBytesOf(j) },
      nextStep: () => this.stream.next(),
    });
  }

  /** Sample `j`'s path as bytes when it is not valid UTF-8 (then `filepaths` cannot open it), else null. */
  protected abstract fileBytesOf(j: number): Buffer | null;
  /** Labels of the samples `indices`, or undefined for none (not called when the targets are the images). */
  protected abstract labelsOf(indices: number[]): tf.Tensor | undefined;
  /** Whether the targets are the images themselves (Keras's classMode 'input'; then a batch cannot be planned). */
  protected abstract readonly targetsAreImages: boolean;
  /** The error for iterating over no samples at all. */
  protected abstract emptyError(): Error;

  /** Batches per epoch, rounded up (Keras `__len__`). */
  get length(): number {
    return Math.ceil(this.samples / this.batchSize);
  }

  /** Batches handed out so far (Keras `total_batches_seen`). */
  get totalBatchesSeen(): number {
    return (this.decoder.queued[0]?.before ?? this.stream.position).totalBatchesSeen;
  }

  /** The iterator as a {@link BatchPlanner} for `fit`'s batch stage, or null when its targets are the images. */
  get planner(): BatchPlanner | null {
    return this.targetsAreImages ? null : this;
  }

  /** Batches planned ahead, oldest first (tests look at it). */
  private get queue(): readonly PlannedBatch[] {
    return this.decoder.queued;
  }

  /** Drops the batches planned ahead and rewinds the stream to the first of them (they never happened). */
  protected discardAhead(): void {
    const at = this.decoder.discard();
    if (at !== undefined) this.stream.rewind(at);
  }

  /** The tensors of a decoded batch (the only place this iterator makes images into a tensor). */
  private toBatch(indices: number[], pixels: Float32Array): ImageBatch {
    const shape: [number, number, number, number] = [indices.length, ...this.imageShape];
    const xs = tf.tensor4d(pixels, shape);
    const ys = this.targetsAreImages ? tf.tensor4d(pixels.slice(), shape) : this.labelsOf(indices);
    return { xs, ys, filepaths: indices.map((j) => this.filepaths[j] as string), indices };
  }

  /**
   * The next batch of the endless stream (Keras `__next__`): the last batch of an epoch may be smaller,
   * and the following call starts a new, reshuffled epoch.
   *
   * @returns an {@link ImageBatch}; the caller disposes `xs` and `ys`
   * @throws {ImageDecodeError} naming the file when an image cannot be decoded
   */
  async next(): Promise<ImageBatch> {
    if (this.samples === 0) throw this.emptyError();
    const item = this.decoder.take();
    // This batch's images go to the workers first, then the batches decoded ahead.
    const data = this.decoder.pixels(item, item.indices.map((_, i) => i));
    this.decoder.planAhead('all');
    this.decoder.startAhead();
    return this.toBatch(item.indices, await data);
  }

  /**
   * The next batch of the stream, like `next()` (same order, epoch boundaries, shuffling,
   * augmentation and `totalBatchesSeen`), but planned rather than decoded: its images are decoded
   * only when `load` asks for them. Batches prefetched meanwhile decode every image except those
   * `skip` names, starting once this batch's `load` has been called (its images are decoded first).
   * `next()` and `nextPlan()` may be mixed freely.
   *
   * @param args - see {@link NextPlanArgs}
   * @returns a {@link BatchPlan}; the caller disposes its `ys`
   * @throws {TypeError} for classMode 'input' (its targets are the images; use `next()`);
   *   {@link DirectoryScanError} when there are no images
   * @example
   * const plan = await it.nextPlan({ skip: (f) => cache.has(f) });
   * const misses = plan.filepaths.flatMap((f, i) => (cache.has(f) ? [] : [i]));
   * const pixels = await plan.load(misses); // [misses.length, h, w, c]
   */
  async nextPlan(args: NextPlanArgs = {}): Promise<BatchPlan> {
    if (this.targetsAreImages) throw invalidParameterError('classMode', "a class mode other than 'input' for nextPlan() (use next())", 'input');
    if (this.samples === 0) throw this.emptyError();
    const item = this.decoder.take();
    // Batches after this one are planned now and decoded once this one's images are on their way
    // (when `load` is first called, or at once when this one is decoding already), so that they
    // never hold up the batch the caller waits for.
    const upTo = args.ahead ?? Infinity;
    this.decoder.planAhead(args.skip ?? 'all', upTo);
    if (item.result !== null) this.decoder.startAhead(upTo);
    const load = (positions: number[]): Promise<Float32Array> => {
      const pixels = this.decoder.pixels(item, positions);
      this.decoder.startAhead(upTo);
      return pixels;
    };
    return { indices: item.indices, filepaths: item.indices.map((j) => this.filepaths[j] as string), ys: this.labelsOf(item.indices), load };
  }

  /**
   * Batch `i` of the current epoch order (Keras `__getitem__`); seeds augmentation from
   * `seed + totalBatchesSeen` and counts as one batch seen. Discards prefetched batches.
   *
   * @param i - 0 ≤ i < `length`
   * @returns an {@link ImageBatch} (caller disposes)
   * @throws {RangeError} when `i` is out of range
   */
  async batch(i: number): Promise<ImageBatch> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`Asked to retrieve batch ${i}, but the iterator has length ${this.length}.`);
    }
    this.discardAhead();
    const item = this.decoder.plan(this.stream.batchAt(i));
    return this.toBatch(item.indices, await this.decoder.decode(item.indices, item.params));
  }

  /**
   * Puts the stream exactly where an uninterrupted iterator is after `totalBatchesSeen` calls of
   * `next()` from a fresh start: the same epoch order (drawn, as Keras does, from
   * `seed + ` the epoch's first batch), the same batch within the epoch, and `totalBatchesSeen` — so
   * what comes next depends only on (seed, position), not on what this process did before (a run
   * resumed by `BackupAndRestore` sees the batches and augmentation of an uninterrupted one).
   * Prefetched batches are discarded (they hold no tensors) and rebuilt by the next call; when the
   * stream is already there (the common case) nothing happens and the prefetch is kept.
   *
   * @param totalBatchesSeen - integer ≥ 0: batches an uninterrupted stream has handed out
   * @throws {TypeError} when `totalBatchesSeen` is not a non-negative integer
   * @example
   * it.seek(5);
   * const b = await it.next(); // batch 6 of a fresh iterator with the same seed
   */
  seek(totalBatchesSeen: number): void {
    if (this.stream.isAt(this.decoder.queued[0]?.before ?? this.stream.position, totalBatchesSeen)) return;
    this.decoder.discard();
    this.stream.seek(totalBatchesSeen);
  }

  /**
   * The `BatchSource` hook `fit` calls before the first batch of every epoch: seeks to
   * `epoch * stepsPerEpoch`, where an uninterrupted fit from a fresh iterator is at that point
   * (with `stepsPerEpoch` below `length` the stream runs on across fit's epochs, as in Keras).
   *
   * @param epoch - 0-based epoch index (integer ≥ 0)
   * @param stepsPerEpoch - batches fit draws per epoch (integer ≥ 1)
   * @throws {TypeError} for arguments that are not such integers
   * @example
   * it.setEpoch(2, 10); // same as it.seek(20)
   */
  setEpoch(epoch: number, stepsPerEpoch: number): void {
    this.seek(checkInteger('epoch', epoch, 0) * checkInteger('stepsPerEpoch', stepsPerEpoch, 1));
  }

  /** Restarts at the beginning of a new epoch (Keras `reset`); prefetched batches are discarded. */
  reset(): void {
    this.discardAhead();
    this.stream.reset();
  }

  /** Draws a new epoch order (Keras `on_epoch_end`, for use with `batch(i)`). */
  onEpochEnd(): void {
    this.discardAhead();
    this.stream.onEpochEnd();
  }

  /** Iterates over ONE epoch from its start (calls `reset()` first). Each batch is the caller's to dispose. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ImageBatch> {
    this.reset();
    for (let i = 0; i < this.length; i++) yield await this.next();
  }

  /**
   * Frees the worker threads (when the last iterator using them lets go) and drops prefetched batches.
   * The iterator stays usable: a later batch starts workers again. Never needed for the process to
   * exit (idle workers do not keep it alive); an iterator that is garbage-collected is released too.
   */
  dispose(): void {
    this.discardAhead();
    this.decoder.releaseWorkers();
  }
}
