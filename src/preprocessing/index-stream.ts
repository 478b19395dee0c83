/**
 * The Keras index stream of an iterator, ported from `keras/src/legacy/preprocessing/image.py`
 * (`Iterator._flow_index`, `__getitem__`, `on_epoch_end`, `reset`, `total_batches_seen`), plus
 * `seek` (what `setEpoch` and a resumed run need): which samples make up each batch, in order,
 * and the seeded generator each batch's augmentation is drawn from.
 *
 * Same as Keras: at the start of each epoch the order is permuted with a generator seeded from
 * `seed + totalBatchesSeen`, and that same generator then draws the batch's augmentation (in index
 * order), so a seed reproduces shuffle and augmentation whatever decodes the images and however
 * far ahead. Only indices are handled here; no image is touched.
 */
import { createRandom, deriveSeed, type Random } from '../util/random';
import { checkInteger } from '../util/validate';

/** Where a stream is: enough to put it back exactly. */
export interface StreamPosition {
  /** Batch index within the epoch (Keras `batch_index`). */
  batchIndex: number;
  /** Batches handed out so far (Keras `total_batches_seen`). */
  totalBatchesSeen: number;
  /** The epoch's sample order, or null before the first batch. */
  indexArray: Int32Array | null;
  /** `totalBatchesSeen` at which the stream drew `indexArray` (its epoch's first batch); null when drawn otherwise or absent. */
  permutedAt: number | null;
}

/** One batch of the stream. */
export interface StreamStep {
  /** Sample indices of the batch, in batch order. */
  indices: number[];
  /** The batch's generator (seeded from `seed + totalBatchesSeen`), already used for the permutation when the epoch began here: draw the augmentation from it. */
  rng: Random;
  /** The position before this batch (where to rewind to if it is dropped untaken). */
  before: StreamPosition;
}

/** The index stream of one iterator (see the module comment). */
export class IndexStream {
  /** Number of samples. */
  private samples: number;
  private state: StreamPosition = { batchIndex: 0, totalBatchesSeen: 0, indexArray: null, permutedAt: null };

  /**
   * @param samples - number of samples
   * @param batchSize - samples per batch
   * @param shuffle - permute at every epoch
   * @param seed - seed of the permutations and of the batches' generators
   */
  constructor(samples: number, readonly batchSize: number, readonly shuffle: boolean, readonly seed: number) {
    this.samples = samples;
  }

  /** Batches per epoch, rounded up (Keras `__len__`). */
  get length(): number {
    return Math.ceil(this.samples / this.batchSize);
  }

  /** A copy of the current position. */
  get position(): StreamPosition {
    return { ...this.state };
  }

  /** Puts the stream back to a position it had (a copy is kept). */
  rewind(to: StreamPosition): void {
    this.state = { ...to };
  }

  /** Restarts the epoch order over `samples` samples (files were dropped), keeping `totalBatchesSeen`. */
  resize(samples: number): void {
    this.samples = samples;
    this.state = { batchIndex: 0, totalBatchesSeen: this.state.totalBatchesSeen, indexArray: null, permutedAt: null };
  }

  /** Keras `_flow_index` step: the next batch of the endless stream (the last of an epoch may be smaller). */
  next(): StreamStep {
    const before = this.position;
    const rng = createRandom(deriveSeed(this.seed, this.state.totalBatchesSeen));
    if (this.state.batchIndex === 0 || this.state.indexArray === null) this.setIndexArray(rng, before.totalBatchesSeen);
    const n = this.samples;
    const current = n === 0 ? 0 : (this.state.batchIndex * this.batchSize) % n;
    if (n > current + this.batchSize) this.state.batchIndex += 1;
    else this.state.batchIndex = 0;
    this.state.totalBatchesSeen += 1;
    const indices = Array.from((this.state.indexArray as Int32Array).subarray(current, current + this.batchSize));
    return { indices, rng, before };
  }

  /**
   * Keras `__getitem__`: batch `i` of the current epoch order, with its generator seeded from
   * `seed + totalBatchesSeen`; counts as one batch seen.
   *
   * @param i - 0 ≤ i < `length` (checked by the caller)
   */
  batchAt(i: number): StreamStep {
    const before = this.position;
    const rng = createRandom(deriveSeed(this.seed, this.state.totalBatchesSeen));
    this.state.totalBatchesSeen += 1;
    if (this.state.indexArray === null) this.setIndexArray(rng, null);
    const indices = Array.from((this.state.indexArray as Int32Array).subarray(this.batchSize * i, this.batchSize * (i + 1)));
    return { indices, rng, before };
  }

  /**
   * Whether a stream at `at` is exactly where {@link seek}`(totalBatchesSeen)` would put it (then
   * nothing needs to change).
   */
  isAt(at: StreamPosition, totalBatchesSeen: number): boolean {
    const k = checkInteger('totalBatchesSeen', totalBatchesSeen, 0);
    const batchIndex = this.length === 0 ? 0 : k % this.length;
    // At batch 0 of an epoch the order is redrawn anyway, so only the position matters.
    const ordered = batchIndex === 0 || (at.indexArray !== null && at.indexArray.length === this.samples && at.permutedAt === k - batchIndex);
    return at.totalBatchesSeen === k && at.batchIndex === batchIndex && ordered;
  }

  /**
   * Puts the stream where an uninterrupted one is after `totalBatchesSeen` batches from a fresh
   * start: the epoch's order drawn, as Keras does, from `seed + ` the epoch's first batch, the
   * batch within the epoch, and the count.
   *
   * @param totalBatchesSeen - integer ≥ 0
   * @throws {TypeError} when it is not a non-negative integer
   */
  seek(totalBatchesSeen: number): void {
    const k = checkInteger('totalBatchesSeen', totalBatchesSeen, 0);
    const batchIndex = this.length === 0 ? 0 : k % this.length;
    const epochStart = k - batchIndex;
    this.state = batchIndex === 0
      ? { batchIndex, totalBatchesSeen: k, indexArray: null, permutedAt: null }
      : { batchIndex, totalBatchesSeen: k, indexArray: this.permutation(createRandom(deriveSeed(this.seed, epochStart))), permutedAt: epochStart };
  }

  /** Keras `reset`: the next batch starts a new epoch. */
  reset(): void {
    this.state.batchIndex = 0;
  }

  /** Keras `on_epoch_end`: draws a new epoch order (for use with {@link batchAt}). */
  onEpochEnd(): void {
    this.setIndexArray(createRandom(deriveSeed(this.seed ^ 0x5eed, this.state.totalBatchesSeen)), null);
  }

  private setIndexArray(rng: Random, permutedAt: number | null): void {
    this.state.indexArray = this.permutation(rng);
    this.state.permutedAt = permutedAt;
  }

  private permutation(rng: Random): Int32Array {
    const idx = Array.from({ length: this.samples }, (_, i) => i);
    return Int32Array.from(this.shuffle ? rng.shuffle(idx) : idx);
  }
}
