/**
 * The decoding side of a `DirectoryIterator`: turns the batches of its index stream into pixels.
 * Each image is one job (file, load options, and the transformation the generator compiled from
 * the parameters it drew) run in the shared worker pool (`worker-pool.ts`) or in this thread;
 * `prefetch` batches are planned ahead with the one prefetcher (`util/prefetch.ts`) and decoded
 * behind the batch the caller waits for. Prefetched work holds no tensors.
 *
 * No Keras original (Keras decodes in `_get_batches_of_transformed_samples`, with `workers=` for
 * parallelism).
 */
import type { ImageAugmenter, TransformParams } from './augmenter';
import type { ResolvedLoadOptions } from './image-io';
import { type ImageJob, renderImageFile } from './image-kernel';
import { IDENTITY_TRANSFORM } from './image-transform';
import type { StreamPosition, StreamStep } from './index-stream';
import { type ImageWorkerPool, acquireImagePool, releaseImagePool } from './worker-pool';
import { recycleFloat32, takeFloat32 } from '../util/float-pool';
import { Prefetcher } from '../util/prefetch';

/** Which positions of a planned batch to decode ahead: all, none, or those the hint does not skip. */
export type StartPolicy = 'all' | 'none' | ((filepath: string) => boolean);

/** A batch of the stream, planned (indices and augmentation drawn) and perhaps decoding. */
export interface PlannedBatch {
  /** Sample indices in batch order. */
  indices: number[];
  /** Drawn augmentation per position, or null without a generator. */
  params: TransformParams[] | null;
  /** The stream's position before this batch. */
  before: StreamPosition;
  /** What to decode when it is started ahead. */
  policy: StartPolicy;
  /** Batch positions whose decoding has started (in the order of `result`); null while not started. */
  started: number[] | null;
  /** Pixels of `started`, or null when nothing was started. */
  result: Promise<Float32Array> | null;
  /** Positions of `started` already copied out of `result` (its array is recycled once all are). */
  copied?: Set<number>;
  /** Calls of `pixels` on this batch still to copy out of `result`. */
  readers?: number;
}

/** Where the queue finds the files (the iterator's lists, which `validateImages` may shorten). */
export interface DecodeFiles {
  /** Path of sample `j`, as printed. */
  filepath(j: number): string;
  /** Path of sample `j` as bytes when it is not valid UTF-8, else null. */
  fileBytes(j: number): Buffer | null;
}

/** Options of a {@link DecodeQueue}. */
export interface DecodeQueueArgs {
  /** How every image is loaded (`targetSize` set). */
  load: ResolvedLoadOptions;
  /** `[height, width, channels]` of one image. */
  imageShape: readonly [number, number, number];
  /** The generator that draws, compiles and standardizes, or null for none. */
  augmenter: ImageAugmenter | null;
  /** Worker threads (0: this thread). */
  workers: number;
  /** Batches planned ahead. */
  prefetch: number;
  /** The files. */
  files: DecodeFiles;
  /** The next batch of the index stream. */
  nextStep: () => StreamStep;
}

/** Releases the worker pool of a queue that was garbage-collected without `dispose()`. */
const poolReleaser = new FinalizationRegistry<ImageWorkerPool>((pool) => releaseImagePool(pool));

/** Batches decoded ahead and on demand (see the module comment). */
export class DecodeQueue {
  private readonly args: DecodeQueueArgs;
  private readonly size: number;
  /** undefined: not acquired yet; null: in-process. */
  private pool: ImageWorkerPool | null | undefined = undefined;
  private readonly poolToken = {};
  private readonly ahead: Prefetcher<PlannedBatch>;
  /** Policy of the batches planned by the next `fill`. */
  private policy: StartPolicy = 'all';

  /** @param args - see {@link DecodeQueueArgs} */
  constructor(args: DecodeQueueArgs) {
    this.args = args;
    const [h, w, c] = args.imageShape;
    this.size = h * w * c;
    this.ahead = new Prefetcher({ depth: args.prefetch, make: () => this.plan(this.args.nextStep(), this.policy) });
  }

  /** Batches planned ahead, oldest first. */
  get queued(): readonly PlannedBatch[] {
    return this.ahead.queued;
  }

  /** Starts the worker threads now (their start-up, ~0.2 s, is then over by the first batch). */
  startWorkers(): void {
    this.getPool()?.start();
  }

  /** The next batch: the oldest planned ahead, or one planned now (not started). */
  take(): PlannedBatch {
    return this.ahead.take();
  }

  /**
   * Plans batches ahead (to decode per `policy` once started), without starting them.
   *
   * @param upTo - plan no more than this many ahead (the caller takes no more). Default: the prefetch depth.
   */
  planAhead(policy: StartPolicy, upTo = Infinity): void {
    this.policy = policy;
    this.ahead.fill(upTo);
  }

  /**
   * Starts the batches planned ahead and not started yet, oldest first.
   *
   * @param upTo - start only among the first this many planned. Default: all.
   */
  startAhead(upTo = Infinity): void {
    for (const item of this.ahead.queued.slice(0, upTo)) if (item.started === null) this.start(item);
  }

  /**
   * Drops the batches planned ahead (they hold no tensors).
   *
   * @returns the stream position before the first of them (to rewind to), or undefined when none
   */
  discard(): StreamPosition | undefined {
    return this.ahead.clear()[0]?.before;
  }

  /** Plans one step of the stream: draws its augmentation from the step's generator, in index order. */
  plan(step: StreamStep, policy: StartPolicy = 'none'): PlannedBatch {
    const g = this.args.augmenter;
    const params = g === null ? null : step.indices.map(() => g.getRandomTransform(this.args.imageShape, step.rng));
    return { indices: step.indices, params, before: step.before, policy, started: null, result: null };
  }

  /** Starts decoding a planned batch per its policy. */
  private start(item: PlannedBatch): void {
    const { indices, params, policy } = item;
    const files = this.args.files;
    const started = policy === 'all' ? indices.map((_, i) => i) : policy === 'none' ? [] : indices.flatMap((j, i) => (policy(files.filepath(j)) ? [] : [i]));
    item.started = started;
    if (started.length === 0) return;
    const all = started.length === indices.length;
    const result = this.decode(all ? indices : started.map((i) => indices[i] as number), params === null || all ? params : started.map((i) => params[i] as TransformParams));
    result.catch(() => undefined); // a discarded prefetch must not become an unhandled rejection
    item.result = result;
  }

  /**
   * Pixels of `positions` of a planned batch: taken from what was decoded ahead, the rest decoded
   * now. The decoded-ahead array is handed out at most once (when asked for exactly its positions).
   *
   * @throws {RangeError} for a position outside the batch; {@link ImageDecodeError} naming a file that cannot be decoded
   */
  async pixels(item: PlannedBatch, positions: number[]): Promise<Float32Array> {
    for (const p of positions) {
      if (!Number.isInteger(p) || p < 0 || p >= item.indices.length) throw new RangeError(`Expected batch positions 0 ≤ p < ${item.indices.length}, but received ${String(p)}.`);
    }
    const ahead = item.result;
    // Once the decoded-ahead array went back to the pool, its positions are decoded again.
    const started = ahead === null ? [] : (item.started ?? []);
    const startedAt = new Map(started.map((p, k) => [p, k]));
    if (ahead !== null && positions.length === started.length && positions.every((p, k) => p === started[k])) {
      item.result = null;
      item.started = [];
      return ahead;
    }
    const missing = [...new Set(positions.filter((p) => !startedAt.has(p)))];
    const params = item.params;
    const reads = positions.some((p) => startedAt.has(p));
    if (reads) item.readers = (item.readers ?? 0) + 1;
    let early: Float32Array | null;
    let fresh: Float32Array | null;
    try {
      [early, fresh] = await Promise.all([
        reads ? ahead : null,
        missing.length === 0 ? null : this.decode(missing.map((p) => item.indices[p] as number), params === null ? null : missing.map((p) => params[p] as TransformParams)),
      ]);
    } catch (error) {
      if (reads) item.readers = (item.readers ?? 1) - 1;
      throw error;
    }
    // Every position decoded just now, once each and in order: that array is the answer (a large new
    // array costs page faults on first touch, ~1 ms per image here, so copies are avoided).
    if (early === null && fresh !== null && missing.length === positions.length) return fresh;
    const freshAt = new Map(missing.map((p, k) => [p, k]));
    const size = this.size;
    // Every slot is written below, so a recycled array (old contents) will do.
    const out = takeFloat32(positions.length * size);
    const copied = (item.copied ??= new Set());
    positions.forEach((p, i) => {
      const k = startedAt.get(p);
      const [src, at] = k === undefined ? [fresh as Float32Array, freshAt.get(p) as number] : [early as Float32Array, k];
      out.set(src.subarray(at * size, (at + 1) * size), i * size);
      if (k !== undefined) copied.add(p);
    });
    // The decoded-ahead array is spent once every position was copied out of it (one batch's
    // chunks), and goes back to the pool for the next batch decoded ahead.
    if (reads) item.readers = (item.readers ?? 1) - 1;
    if (early !== null && item.result === ahead && item.readers === 0 && copied.size === started.length) {
      item.result = null;
      recycleFloat32(early);
    }
    if (fresh !== null) recycleFloat32(fresh);
    return out;
  }

  /** One image's job: its file, the load options, and the transformation the generator compiled. */
  private job(j: number, params: TransformParams | null): ImageJob {
    const g = this.args.augmenter;
    const transform = g === null || params === null ? IDENTITY_TRANSFORM : g.compileTransform(params, this.args.imageShape);
    return { ...transform, path: this.args.files.filepath(j), file: this.args.files.fileBytes(j), load: this.args.load };
  }

  private getPool(): ImageWorkerPool | null {
    if (this.pool === undefined) {
      this.pool = this.args.workers > 0 ? acquireImagePool(this.args.workers) : null;
      if (this.pool !== null) poolReleaser.register(this, this.pool, this.poolToken);
    }
    return this.pool;
  }

  /**
   * Decodes, resizes and transforms the images `indices` (with `params`) in the pool, then runs
   * what `standardize` could not compile (a preprocessing function) here.
   *
   * @returns their pixels, `[indices.length, h, w, c]`, in a new array
   */
  async decode(indices: number[], params: TransformParams[] | null): Promise<Float32Array> {
    const [h, w, c] = this.args.imageShape;
    const size = this.size;
    // Every image's slot is written below, so a recycled array (old contents) will do.
    const out = takeFloat32(indices.length * size);
    const pool = this.getPool();
    await Promise.all(
      indices.map(async (j, i) => {
        const job = this.job(j, params === null ? null : (params[i] as TransformParams));
        if (pool === null) await renderImageFile(job, out, i * size);
        else {
          const data = await pool.run(job);
          out.set(data, i * size);
          pool.recycle(data);
        }
      }),
    );
    const g = this.args.augmenter;
    if (g !== null && !g.standardizeCompiled) {
      for (let i = 0; i < indices.length; i++) {
        const x = g.standardize({ data: out.slice(i * size, (i + 1) * size), height: h, width: w, channels: c });
        out.set(x.data, i * size);
      }
    }
    return out;
  }

  /** Gives the worker threads back (a later batch acquires them again). Drop the batches ahead first ({@link discard}). */
  releaseWorkers(): void {
    if (this.pool !== undefined && this.pool !== null) {
      poolReleaser.unregister(this.poolToken);
      releaseImagePool(this.pool);
    }
    this.pool = undefined;
  }
}
