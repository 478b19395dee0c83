/**
 * Batches of images read from class subfolders, ported from Keras
 * `keras/src/legacy/preprocessing/image.py` (`Iterator`, `BatchFromFilesMixin`, `DirectoryIterator`,
 * `_iter_valid_files`, `_list_valid_filenames_in_directory`).
 *
 * Same as Keras: classes are the sorted subfolder names (or `classes` in the given order); files are
 * found recursively, folders sorted by path and files sorted within each; `subset` takes the first
 * `validationSplit` fraction of each class for 'validation' and the rest for 'training'; at the start
 * of each epoch the order is permuted with a generator seeded from `seed + totalBatchesSeen`, and the
 * augmentation parameters of a batch come from that same generator, drawn in index order — so a seed
 * reproduces shuffle and augmentation whatever the decode parallelism or prefetch depth.
 *
 * Differences: dot-files and dot-folders are skipped (Keras would make `.ipynb_checkpoints` a class);
 * an extension needs its dot (`x.png`, not `xpng`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createRandom, deriveSeed, type Random } from '../util/random';
import { checkBoolean, checkInteger, checkOneOf, invalidParameterError } from '../util/validate';
import { DirectoryScanError, ImageDecodeError } from './errors';
import { affineMatrix } from './affine';
import { type ColorMode, type LoadImageOptions, type ResolvedLoadOptions, channelsOf, checkImage, hasAllowedExtension, resolveLoadOptions } from './image-io';
import { type ImageJob, renderImageFile } from './image-kernel';
import type { Interpolation } from './resize';
import type { ImageAugmenter, TransformParams } from './augmenter';
import { type ImageWorkerPool, acquireImagePool, releaseImagePool } from './worker-pool';

/** Keras class modes. */
export type ClassMode = 'categorical' | 'binary' | 'sparse' | 'input' | null;

const CLASS_MODES: readonly ClassMode[] = ['categorical', 'binary', 'sparse', 'input', null];

/** Options of `flowFromDirectory`, Keras names in camelCase. */
export interface FlowFromDirectoryArgs {
  /** `[height, width]` every image is resized to; default `[256, 256]`. */
  targetSize?: [number, number];
  /** `'rgb'` (default), `'grayscale'` or `'rgba'`. */
  colorMode?: ColorMode;
  /** Explicit class subfolder names, in label order; default: every subfolder, sorted. */
  classes?: string[] | null;
  /** `'categorical'` (default, one-hot), `'binary'`, `'sparse'` (index), `'input'` (ys = xs) or null (no ys). */
  classMode?: ClassMode;
  /** Images per batch; default 32. */
  batchSize?: number;
  /** Reshuffle at every epoch; default true. */
  shuffle?: boolean;
  /** Seed for shuffling and augmentation; default: a random one. */
  seed?: number | null;
  /** Follow symbolic links to subfolders; default false. A link to a folder already listed (a loop) is skipped with a warning. */
  followLinks?: boolean;
  /** Images with more pixels are reduced while decoding (see `LoadImageOptions.maxDecodePixels`); default from the machine's memory. */
  maxDecodePixels?: number;
  /** `'training'` or `'validation'` with the generator's `validationSplit`; default null (all). */
  subset?: 'training' | 'validation' | null;
  /** Resize filter: `'nearest'` (default), `'bilinear'`, `'bicubic'`, `'lanczos'`, `'box'`, `'hamming'` (PIL-exact). */
  interpolation?: Interpolation;
  /** Centre-crop to the target aspect ratio before resizing; default false. */
  keepAspectRatio?: boolean;
  /** Apply EXIF orientation; default true (Keras does not). */
  autoOrient?: boolean;
  /** Composite transparency onto this colour instead of dropping alpha; default none (as Keras). */
  background?: LoadImageOptions['background'];
  /** Batches decoded ahead while the caller trains; default 1 (0 disables). */
  prefetch?: number;
  /**
   * Worker threads that decode, resize and augment (shared by all iterators with the same count);
   * default `os.availableParallelism()`, at most 8. 0 does the work in this thread (decoding still runs
   * in sharp's thread pool). Results are identical either way.
   */
  workers?: number;
  /** Print `Found N images belonging to K classes.`; default true. */
  verbose?: boolean;
}

/** Default worker-thread count: one per available core, at most this many. */
const MAX_DEFAULT_WORKERS = 8;

/** Releases the worker pool of an iterator that was garbage-collected without `dispose()`. */
const poolReleaser = new FinalizationRegistry<ImageWorkerPool>((pool) => releaseImagePool(pool));

/** One batch. `xs` and `ys` belong to the caller, who disposes them. */
export interface ImageBatch {
  /** Images, `[n, height, width, channels]`, float32. */
  xs: tf.Tensor4D;
  /**
   * Labels per `classMode`: one-hot `[n, K]` (categorical), indices `[n]` (sparse), `[n, 1]` (binary —
   * Keras gives `(n,)`; TF.js losses want the prediction's shape), a copy of xs (input); absent for null.
   */
  ys?: tf.Tensor;
  /** Absolute-ish paths (directory joined with filename) of the images, in batch order. */
  filepaths: string[];
  /** Sample indices (into `filenames`) of the images, in batch order. */
  indices: number[];
}

/**
 * A batch whose images are not decoded yet, from {@link DirectoryIterator.nextPlan}: the files and
 * labels are known, and `load` decodes only the images asked for — so a caller holding per-file
 * results (a feature cache) decodes only what it misses.
 */
export interface ImageBatchPlan {
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
   */
  load(positions: number[]): Promise<Float32Array>;
}

/** Options of {@link DirectoryIterator.nextPlan}. */
export interface NextPlanArgs {
  /**
   * Files the caller expects not to need decoded (e.g. those in its cache): batches prefetched by
   * this call leave them undecoded. Only a hint — `load` decodes whatever it is asked for, so a
   * wrong guess costs time, never correctness. Default: none (prefetch decodes every image).
   */
  skip?: (filepath: string) => boolean;
}

interface State {
  batchIndex: number;
  totalBatchesSeen: number;
  indexArray: Int32Array | null;
  /** `totalBatchesSeen` at which the stream drew `indexArray` (its epoch's first batch); null when drawn otherwise or absent. */
  permutedAt: number | null;
}

interface Planned {
  indices: number[];
  params: TransformParams[] | null;
  before: State;
  /** Batch positions whose decoding has started (in the order of `result`); empty when none. */
  started: number[];
  /** Pixels of `started`, or null when nothing was started. */
  result: Promise<Float32Array> | null;
  /** How to start decoding once the batch before it has started (its images go to the workers first); absent when started or not to be started. */
  deferred?: StartPolicy;
}

/** Which positions of a planned batch to decode ahead: all, none, or those not skipped. */
type StartPolicy = 'all' | 'none' | ((filepath: string) => boolean);

/** A folder entry with its name as bytes too (a name need not be valid UTF-8). */
interface RawEntry {
  /** The name decoded as UTF-8 (invalid bytes become U+FFFD): for sorting and messages. */
  name: string;
  /** The name's bytes, exactly as stored. */
  bytes: Buffer;
  /** True when `name` encodes back to `bytes` (then the string path opens the file). */
  utf8: boolean;
  entry: fs.Dirent;
}

/** Lists `dir` (given as bytes) by bytes, so names that are not valid UTF-8 survive; `shown` is for messages. */
function listDir(dir: Buffer, shown: string): RawEntry[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }) as unknown as fs.Dirent[];
  } catch (err) {
    throw new DirectoryScanError(shown, `${(err as Error).message}. Check the path (it should contain one subfolder per class).`, { cause: err });
  }
  return entries.map((entry) => {
    const bytes = entry.name as unknown as Buffer;
    const name = bytes.toString('utf8');
    return { name, bytes, utf8: Buffer.from(name, 'utf8').equals(bytes), entry };
  });
}

function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from(path.sep), name]);
}

function isDirectory(full: Buffer, entry: fs.Dirent): boolean {
  if (entry.isDirectory()) return true;
  if (entry.isSymbolicLink()) {
    try {
      return fs.statSync(full).isDirectory();
    } catch {
      return false;
    }
  }
  return false;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One image found by {@link iterValidFiles}. */
interface FoundFile {
  /** The folder it is in (as printed). */
  root: string;
  /** Its name (as printed). */
  name: string;
  /** Its full path as bytes when the path is not valid UTF-8; null when `root/name` opens it. */
  bytes: Buffer | null;
}

/**
 * Keras `_iter_valid_files`: images under `directory`, roots sorted, files sorted within a root.
 * Names are read as bytes. With `followLinks`, a folder already listed, reached again through a
 * link (a loop such as `a/up -> ..`, or a second way to the same folder), is not entered again:
 * its path is added to `skipped`.
 */
function iterValidFiles(directory: string, directoryBytes: Buffer, exact: boolean, followLinks: boolean, seen: Set<string>, skipped: string[]): FoundFile[] {
  const roots: Array<[string, FoundFile[]]> = [];
  const walk = (dir: string, bytes: Buffer, dirExact: boolean): void => {
    const st = fs.statSync(bytes, { throwIfNoEntry: false });
    if (st !== undefined) seen.add(`${st.dev}:${st.ino}`);
    const files: FoundFile[] = [];
    for (const e of listDir(bytes, dir)) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      const fullBytes = joinBytes(bytes, e.bytes);
      const fullExact = dirExact && e.utf8;
      if (isDirectory(fullBytes, e.entry)) {
        if (!followLinks && e.entry.isSymbolicLink()) continue;
        // Only a link can lead to a folder twice; any folder already listed is not entered again.
        const target = fs.statSync(fullBytes, { throwIfNoEntry: false });
        if (target === undefined || seen.has(`${target.dev}:${target.ino}`)) {
          skipped.push(full);
          continue;
        }
        walk(full, fullBytes, fullExact);
      } else {
        files.push({ root: dir, name: e.name, bytes: fullExact ? null : fullBytes });
      }
    }
    roots.push([dir, files]);
  };
  walk(directory, directoryBytes, exact);
  roots.sort((a, b) => byCodePoint(a[0], b[0]));
  const out: FoundFile[] = [];
  for (const [, files] of roots) for (const f of files.sort((a, b) => byCodePoint(a.name, b.name))) if (hasAllowedExtension(f.name)) out.push(f);
  return out;
}

/**
 * Iterates over a folder of class subfolders in (optionally augmented) batches, like Keras
 * `DirectoryIterator`. Create it with `ImageDataGenerator.flowFromDirectory`.
 *
 * `next()` loops forever across epochs (reshuffling at each epoch start), `batch(i)` is Keras's
 * `__getitem__`, `for await (const b of it)` runs over one epoch, `toDataset()` feeds `model.fitDataset`.
 * Each image is decoded, resized, augmented and rescaled in one pass (`image-kernel.ts`) in a pool of
 * worker threads (`workers`), `prefetch` batches ahead; prefetched work holds no tensors. Call
 * `dispose()` when done to stop the workers early (idle workers never keep the process alive).
 */
export class DirectoryIterator {
  /** The folder read. */
  readonly directory: string;
  /** Number of images. */
  samples: number;
  /** Class name → label index. */
  readonly classIndices: Record<string, number>;
  /** Label of each image, in `filenames` order. */
  classes: Int32Array;
  /** Paths relative to `directory`, `'<class>/<file>'` with `/` separators. */
  filenames: string[];
  /** `directory` joined with each filename. A name that is not valid UTF-8 shows U+FFFD here; the file is still read by its bytes. */
  filepaths: string[];
  /** Each file's path as bytes when it is not valid UTF-8 (then `filepaths` cannot open it), else null. */
  private fileBytes: Array<Buffer | null>;
  /** Number of classes. */
  readonly numClasses: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** The seed in use (a random one when none was given). */
  readonly seed: number;
  readonly classMode: ClassMode;
  readonly colorMode: ColorMode;
  readonly targetSize: [number, number];
  readonly interpolation: Interpolation;
  readonly subset: 'training' | 'validation' | null;
  /** `[height, width, channels]` of one image. */
  readonly imageShape: [number, number, number];
  /** Batches decoded ahead. */
  readonly prefetch: number;
  /** Worker threads used (0: the main thread). */
  readonly workers: number;
  private readonly generator: ImageAugmenter | null;
  private readonly loadOptions: LoadImageOptions;
  private readonly resolvedLoad: ResolvedLoadOptions;
  /** undefined: not acquired yet; null: in-process. */
  private pool: ImageWorkerPool | null | undefined = undefined;
  private readonly poolToken = {};
  private state: State = { batchIndex: 0, totalBatchesSeen: 0, indexArray: null, permutedAt: null };
  private queue: Planned[] = [];

  /**
   * @param directory - folder with one subfolder per class
   * @param generator - augmentation and standardisation, or null for none
   * @param args - see {@link FlowFromDirectoryArgs}
   * @throws {TypeError} invalid arguments; {@link DirectoryScanError} unreadable folders
   */
  constructor(directory: string, generator: ImageAugmenter | null, args: FlowFromDirectoryArgs = {}) {
    const load = resolveLoadOptions({
      colorMode: args.colorMode,
      targetSize: args.targetSize ?? [256, 256],
      interpolation: args.interpolation,
      keepAspectRatio: args.keepAspectRatio,
      autoOrient: args.autoOrient,
      background: args.background,
      maxDecodePixels: args.maxDecodePixels,
    });
    this.directory = directory;
    this.generator = generator;
    this.colorMode = load.colorMode;
    this.targetSize = load.targetSize as [number, number];
    this.interpolation = load.interpolation;
    this.loadOptions = { ...load, background: load.background ?? undefined };
    this.resolvedLoad = load;
    this.imageShape = [this.targetSize[0], this.targetSize[1], channelsOf(this.colorMode)];
    this.classMode = checkOneOf('classMode', args.classMode === undefined ? 'categorical' : args.classMode, CLASS_MODES);
    this.batchSize = checkInteger('batchSize', args.batchSize ?? 32, 1);
    this.shuffle = checkBoolean('shuffle', args.shuffle ?? true);
    const seed = args.seed ?? null;
    this.seed = seed === null ? (Math.random() * 2 ** 32) >>> 0 : checkInteger('seed', seed);
    this.prefetch = checkInteger('prefetch', args.prefetch ?? 1, 0, 64);
    this.workers = checkInteger('workers', args.workers ?? Math.min(os.availableParallelism(), MAX_DEFAULT_WORKERS), 0, 256);
    const followLinks = checkBoolean('followLinks', args.followLinks ?? false);
    this.subset = checkOneOf('subset', args.subset ?? null, ['training', 'validation', null] as const);
    let split: [number, number] | null = null;
    if (this.subset !== null) {
      const vs = generator?.validationSplit ?? 0;
      split = this.subset === 'validation' ? [0, vs] : [vs, 1];
    }

    let classNames = args.classes ?? null;
    if (classNames !== null && (!Array.isArray(classNames) || !classNames.every((c) => typeof c === 'string'))) {
      throw invalidParameterError('classes', 'array of subfolder names', classNames);
    }
    const directoryBytes = Buffer.from(directory);
    // Class folders by bytes: a folder whose name is not valid UTF-8 is still read (its class name shows U+FFFD).
    const classDirs = new Map<string, { bytes: Buffer; exact: boolean }>();
    if (classNames === null || classNames.length === 0) {
      const found = listDir(directoryBytes, directory).filter((e) => !e.name.startsWith('.') && isDirectory(joinBytes(directoryBytes, e.bytes), e.entry));
      for (const e of found) if (!classDirs.has(e.name)) classDirs.set(e.name, { bytes: joinBytes(directoryBytes, e.bytes), exact: e.utf8 });
      classNames = [...classDirs.keys()].sort(byCodePoint);
    }
    this.numClasses = classNames.length;
    this.classIndices = Object.fromEntries(classNames.map((c, i) => [c, i]));
    const filenames: string[] = [];
    const fileBytes: Array<Buffer | null> = [];
    const labels: number[] = [];
    const seen = new Set<string>();
    const skippedLinks: string[] = [];
    for (const cls of classNames) {
      const classDir = path.join(directory, cls);
      const where = classDirs.get(cls) ?? { bytes: Buffer.from(classDir), exact: true };
      let files = iterValidFiles(classDir, where.bytes, where.exact, followLinks, seen, skippedLinks);
      if (split !== null) files = files.slice(Math.trunc(split[0] * files.length), Math.trunc(split[1] * files.length));
      for (const f of files) {
        filenames.push([cls, ...path.relative(classDir, path.join(f.root, f.name)).split(path.sep)].join('/'));
        fileBytes.push(f.bytes);
        labels.push(this.classIndices[cls]);
      }
    }
    if (skippedLinks.length > 0) {
      console.warn(
        `Skipped ${skippedLinks.length} folder(s) reached again through symbolic links (a link loop, or a second way to the same folder), so no image is counted twice:\n` +
          skippedLinks.map((l) => `  ${l}`).join('\n'),
      );
    }
    this.fileBytes = fileBytes;
    this.filenames = filenames;
    this.classes = Int32Array.from(labels);
    this.samples = filenames.length;
    this.filepaths = filenames.map((f) => path.join(directory, f));
    if (args.verbose ?? true) console.log(`Found ${this.samples} images belonging to ${this.numClasses} classes.`);
    // Start the decoding threads now, so that their start-up (~0.2 s) is over by the first batch.
    if (this.samples > 0) this.getPool()?.start();
  }

  /** Class names in label order. */
  get classNames(): string[] {
    return Object.keys(this.classIndices).sort((a, b) => this.classIndices[a] - this.classIndices[b]);
  }

  /** Batches per epoch, rounded up (Keras `__len__`). */
  get length(): number {
    return Math.ceil(this.samples / this.batchSize);
  }

  /** Batches handed out so far (Keras `total_batches_seen`). */
  get totalBatchesSeen(): number {
    return this.queue.length > 0 ? this.queue[0].before.totalBatchesSeen : this.state.totalBatchesSeen;
  }

  /** True when the generator applies no random augmentation (a sample's tensor depends only on its file). */
  get deterministic(): boolean {
    return this.generator === null || this.generator.deterministic;
  }

  /**
   * A stable string naming everything that determines a sample's tensor besides the file itself:
   * size, colour mode, resize filter, crop, orientation, background, rescale, preprocessing function
   * and whether random augmentation is on. A feature cache can key on (filepath, size, mtime, this).
   */
  get preprocessingKey(): string {
    const o = this.loadOptions;
    return [
      'transferlab-preprocessing-v1',
      `targetSize=${this.targetSize.join('x')}`,
      `colorMode=${this.colorMode}`,
      `interpolation=${this.interpolation}`,
      `keepAspectRatio=${o.keepAspectRatio}`,
      `autoOrient=${o.autoOrient}`,
      `background=${o.background === undefined ? 'none' : JSON.stringify(o.background)}`,
      this.generator === null ? 'rescale=none;preprocessingFunction=none' : this.generator.standardizeKey,
      `augmentation=${this.deterministic ? 'none' : 'random'}`,
    ].join('|');
  }

  /** Draws the sample order with `rng`; `permutedAt` is the stream position it belongs to (null: not the stream's). */
  private setIndexArray(rng: Random, permutedAt: number | null): void {
    this.state.indexArray = this.permutation(rng);
    this.state.permutedAt = permutedAt;
  }

  private permutation(rng: Random): Int32Array {
    const idx = Array.from({ length: this.samples }, (_, i) => i);
    return Int32Array.from(this.shuffle ? rng.shuffle(idx) : idx);
  }

  private drawParams(count: number, rng: Random): TransformParams[] | null {
    if (this.generator === null) return null;
    const out: TransformParams[] = [];
    for (let i = 0; i < count; i++) out.push(this.generator.getRandomTransform(this.imageShape, rng));
    return out;
  }

  /** Drops prefetched batches and rewinds the state to the first of them (they never happened). */
  private discardQueue(): void {
    if (this.queue.length === 0) return;
    this.state = { ...this.queue[0].before };
    this.queue = [];
  }

  /** Keras `_flow_index` step: plans the next batch of the endless stream and starts loading it (per `policy`). */
  private planNext(policy: StartPolicy = 'all'): Planned {
    const before = { ...this.state };
    const rng = createRandom(deriveSeed(this.seed, this.state.totalBatchesSeen));
    if (this.state.batchIndex === 0 || this.state.indexArray === null) this.setIndexArray(rng, before.totalBatchesSeen);
    const n = this.samples;
    const current = n === 0 ? 0 : (this.state.batchIndex * this.batchSize) % n;
    if (n > current + this.batchSize) this.state.batchIndex += 1;
    else this.state.batchIndex = 0;
    this.state.totalBatchesSeen += 1;
    const indices = Array.from((this.state.indexArray as Int32Array).subarray(current, current + this.batchSize));
    const params = this.drawParams(indices.length, rng);
    return this.start(indices, params, before, policy);
  }

  /** Starts the queued batches that wait for the batch before them (see `Planned.deferred`). */
  private startDeferred(): void {
    for (const item of this.queue) {
      const policy = item.deferred;
      if (policy === undefined) continue;
      const { started, result } = this.start(item.indices, item.params, item.before, policy);
      Object.assign(item, { started, result, deferred: undefined });
    }
  }

  private start(indices: number[], params: TransformParams[] | null, before: State, policy: StartPolicy): Planned {
    const started = policy === 'all' ? indices.map((_, i) => i) : policy === 'none' ? [] : indices.flatMap((j, i) => (policy(this.filepaths[j]) ? [] : [i]));
    if (started.length === 0) return { indices, params, before, started, result: null };
    const all = started.length === indices.length;
    const result = this.loadBatch(all ? indices : started.map((i) => indices[i]), params === null || all ? params : started.map((i) => params[i]));
    result.catch(() => undefined); // a discarded prefetch must not become an unhandled rejection
    return { indices, params, before, started, result };
  }

  /**
   * Pixels of `positions` of a planned batch: taken from what was decoded ahead, the rest decoded
   * now. The decoded-ahead array is handed out at most once (when asked for exactly its positions).
   */
  private async pixelsOf(item: Planned, positions: number[]): Promise<Float32Array> {
    for (const p of positions) {
      if (!Number.isInteger(p) || p < 0 || p >= item.indices.length) throw new RangeError(`Expected batch positions 0 ≤ p < ${item.indices.length}, but received ${String(p)}.`);
    }
    const ahead = item.result;
    const startedAt = new Map(item.started.map((p, k) => [p, k]));
    if (ahead !== null && positions.length === item.started.length && positions.every((p, k) => p === item.started[k])) {
      item.result = null;
      item.started = [];
      return ahead;
    }
    const missing = [...new Set(positions.filter((p) => !startedAt.has(p)))];
    const params = item.params;
    const [early, fresh] = await Promise.all([
      positions.some((p) => startedAt.has(p)) ? ahead : null,
      missing.length === 0 ? null : this.loadBatch(missing.map((p) => item.indices[p]), params === null ? null : missing.map((p) => params[p])),
    ]);
    // Every position decoded just now, once each and in order: that array is the answer (a large new
    // array costs page faults on first touch, ~1 ms per image here, so copies are avoided).
    if (early === null && fresh !== null && missing.length === positions.length) return fresh;
    const freshAt = new Map(missing.map((p, k) => [p, k]));
    const size = this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
    const out = new Float32Array(positions.length * size);
    positions.forEach((p, i) => {
      const k = startedAt.get(p);
      const [src, at] = k === undefined ? [fresh as Float32Array, freshAt.get(p) as number] : [early as Float32Array, k];
      out.set(src.subarray(at * size, (at + 1) * size), i * size);
    });
    return out;
  }

  private job(j: number, params: TransformParams | null): ImageJob {
    const g = this.generator;
    const [h, w] = this.imageShape;
    const p = params;
    return {
      path: this.filepaths[j],
      file: this.fileBytes[j],
      load: this.resolvedLoad,
      matrix: p === null ? null : affineMatrix({ theta: p.theta, tx: p.tx, ty: p.ty, shear: p.shear, zx: p.zx, zy: p.zy }, h, w),
      fillMode: g?.fillMode ?? 'nearest',
      cval: g?.cval ?? 0,
      flipHorizontal: p?.flipHorizontal ?? false,
      flipVertical: p?.flipVertical ?? false,
      channelShiftIntensity: p?.channelShiftIntensity ?? null,
      brightness: p?.brightness ?? null,
      // With a preprocessing function, rescale must come after it: standardize() on this thread does both.
      rescale: g === null || g.preprocessingFunction !== null ? null : g.rescale,
    };
  }

  private getPool(): ImageWorkerPool | null {
    if (this.pool === undefined) {
      this.pool = this.workers > 0 ? acquireImagePool(this.workers) : null;
      if (this.pool !== null) poolReleaser.register(this, this.pool, this.poolToken);
    }
    return this.pool;
  }

  private async loadBatch(indices: number[], params: TransformParams[] | null): Promise<Float32Array> {
    const [h, w, c] = this.imageShape;
    const size = h * w * c;
    const out = new Float32Array(indices.length * size);
    const pool = this.getPool();
    await Promise.all(
      indices.map(async (j, i) => {
        const job = this.job(j, params === null ? null : params[i]);
        if (pool === null) await renderImageFile(job, out, i * size);
        else {
          const data = await pool.run(job);
          out.set(data, i * size);
          pool.recycle(data);
        }
      }),
    );
    const g = this.generator;
    if (g !== null && g.preprocessingFunction !== null) {
      for (let i = 0; i < indices.length; i++) {
        const x = g.standardize({ data: out.slice(i * size, (i + 1) * size), height: h, width: w, channels: c });
        out.set(x.data, i * size);
      }
    }
    return out;
  }

  private toBatch(indices: number[], xsData: Float32Array): ImageBatch {
    const n = indices.length;
    const [h, w, c] = this.imageShape;
    const xs = tf.tensor4d(xsData, [n, h, w, c]);
    const ys = this.classMode === 'input' ? tf.tensor4d(xsData.slice(), [n, h, w, c]) : this.labelsOf(indices);
    return { xs, ys, filepaths: indices.map((j) => this.filepaths[j]), indices };
  }

  /** Labels of `indices` per classMode (not 'input'), or undefined for null. */
  private labelsOf(indices: number[]): tf.Tensor | undefined {
    const n = indices.length;
    let ys: tf.Tensor | undefined;
    if (this.classMode === 'categorical') {
      const y = new Float32Array(n * this.numClasses);
      indices.forEach((j, i) => (y[i * this.numClasses + this.classes[j]] = 1));
      ys = tf.tensor2d(y, [n, this.numClasses]);
    } else if (this.classMode === 'sparse') {
      ys = tf.tensor1d(Float32Array.from(indices, (j) => this.classes[j]));
    } else if (this.classMode === 'binary') {
      ys = tf.tensor2d(Float32Array.from(indices, (j) => this.classes[j]), [n, 1]);
    }
    return ys;
  }

  /**
   * The next batch of the endless stream (Keras `__next__`): the last batch of an epoch may be smaller,
   * and the following call starts a new, reshuffled epoch.
   *
   * @returns a {@link ImageBatch}; the caller disposes `xs` and `ys`
   * @throws {ImageDecodeError} naming the file when an image cannot be decoded
   */
  async next(): Promise<ImageBatch> {
    if (this.samples === 0) throw new DirectoryScanError(this.directory, 'no images were found, so there is nothing to iterate over.');
    const item = this.queue.length > 0 ? (this.queue.shift() as Planned) : this.planNext('none');
    // This batch's images go to the workers first, then the batches decoded ahead.
    const data = this.pixelsOf(item, item.indices.map((_, i) => i));
    this.startDeferred();
    while (this.queue.length < this.prefetch) this.queue.push(this.planNext());
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
   * @returns an {@link ImageBatchPlan}; the caller disposes its `ys`
   * @throws {TypeError} for classMode 'input' (its targets are the images; use `next()`);
   *   {@link DirectoryScanError} when there are no images
   * @example
   * const plan = await it.nextPlan({ skip: (f) => cache.has(f) });
   * const misses = plan.filepaths.flatMap((f, i) => (cache.has(f) ? [] : [i]));
   * const pixels = await plan.load(misses); // [misses.length, h, w, c]
   */
  async nextPlan(args: NextPlanArgs = {}): Promise<ImageBatchPlan> {
    if (this.classMode === 'input') throw invalidParameterError('classMode', "a class mode other than 'input' for nextPlan() (use next())", this.classMode);
    if (this.samples === 0) throw new DirectoryScanError(this.directory, 'no images were found, so there is nothing to iterate over.');
    const skip = args.skip;
    const item = this.queue.length > 0 ? (this.queue.shift() as Planned) : this.planNext('none');
    // Batches after this one are planned now and decoded once this one's images are on their way
    // (when `load` is first called, or at once when this one is decoding already), so that they
    // never hold up the batch the caller waits for.
    while (this.queue.length < this.prefetch) this.queue.push({ ...this.planNext('none'), deferred: skip ?? 'all' });
    if (item.result !== null) this.startDeferred();
    const indices = item.indices;
    const load = (positions: number[]): Promise<Float32Array> => {
      const pixels = this.pixelsOf(item, positions);
      this.startDeferred();
      return pixels;
    };
    return { indices, filepaths: indices.map((j) => this.filepaths[j]), ys: this.labelsOf(indices), load };
  }

  /**
   * ImageBatch `i` of the current epoch order (Keras `__getitem__`); seeds augmentation from
   * `seed + totalBatchesSeen` and counts as one batch seen. Discards prefetched batches.
   *
   * @param i - 0 ≤ i < `length`
   * @returns a {@link ImageBatch} (caller disposes)
   * @throws {RangeError} when `i` is out of range
   */
  async batch(i: number): Promise<ImageBatch> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`Asked to retrieve batch ${i}, but the iterator has length ${this.length}.`);
    }
    this.discardQueue();
    const rng = createRandom(deriveSeed(this.seed, this.state.totalBatchesSeen));
    this.state.totalBatchesSeen += 1;
    if (this.state.indexArray === null) this.setIndexArray(rng, null);
    const indices = Array.from((this.state.indexArray as Int32Array).subarray(this.batchSize * i, this.batchSize * (i + 1)));
    const params = this.drawParams(indices.length, rng);
    return this.toBatch(indices, await this.loadBatch(indices, params));
  }

  /**
   * Frees the worker threads (when the last iterator using them lets go) and drops prefetched batches.
   * The iterator stays usable: a later batch starts workers again. Never needed for the process to
   * exit (idle workers do not keep it alive); an iterator that is garbage-collected is released too.
   */
  dispose(): void {
    this.discardQueue();
    if (this.pool !== undefined && this.pool !== null) {
      poolReleaser.unregister(this.poolToken);
      releaseImagePool(this.pool);
    }
    this.pool = undefined;
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
    const k = checkInteger('totalBatchesSeen', totalBatchesSeen, 0);
    const perEpoch = this.length;
    const batchIndex = perEpoch === 0 ? 0 : k % perEpoch;
    const epochStart = k - batchIndex;
    const at = this.queue.length > 0 ? this.queue[0].before : this.state;
    // At batch 0 of an epoch the order is redrawn anyway, so only the position matters.
    const ordered = batchIndex === 0 || (at.indexArray !== null && at.indexArray.length === this.samples && at.permutedAt === epochStart);
    if (at.totalBatchesSeen === k && at.batchIndex === batchIndex && ordered) return;
    this.queue = [];
    this.state = batchIndex === 0
      ? { batchIndex, totalBatchesSeen: k, indexArray: null, permutedAt: null }
      : { batchIndex, totalBatchesSeen: k, indexArray: this.permutation(createRandom(deriveSeed(this.seed, epochStart))), permutedAt: epochStart };
  }

  /**
   * The {@link BatchSource} hook `fit` calls before the first batch of every epoch: seeks to
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
    this.discardQueue();
    this.state.batchIndex = 0;
  }

  /** Draws a new epoch order (Keras `on_epoch_end`, for use with `batch(i)`). */
  onEpochEnd(): void {
    this.discardQueue();
    this.setIndexArray(createRandom(deriveSeed(this.seed ^ 0x5eed, this.state.totalBatchesSeen)), null);
  }

  /** Iterates over ONE epoch from its start (calls `reset()` first). Each batch is the caller's to dispose. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ImageBatch> {
    this.reset();
    for (let i = 0; i < this.length; i++) yield await this.next();
  }

  /**
   * A `tf.data.Dataset` of `{ xs, ys }` for `model.fitDataset`; each iteration of the dataset is one
   * epoch (a fresh shuffle). Needs a class mode other than null.
   *
   * @returns the dataset
   */
  toDataset(): tf.data.Dataset<{ xs: tf.Tensor4D; ys: tf.Tensor }> {
    if (this.classMode === null) throw invalidParameterError('classMode', "a class mode other than null for toDataset()", this.classMode);
    const self = this;
    return tf.data.generator(async function* () {
      for await (const b of self) yield { xs: b.xs, ys: b.ys as tf.Tensor };
    } as unknown as () => Iterator<{ xs: tf.Tensor4D; ys: tf.Tensor }>);
  }

  /**
   * Decodes every file once and drops those that fail, printing ONE warning that lists them all, then
   * `Found N valid images belonging to K classes.` Call before iterating (it resets the iterator).
   *
   * @param concurrency - decodes in flight; default 8
   * @returns the errors of the skipped files (empty when all decode)
   */
  async validateImages(concurrency = 8): Promise<ImageDecodeError[]> {
    this.discardQueue();
    const errors: Array<ImageDecodeError | null> = new Array(this.samples).fill(null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.samples) {
        const k = next++;
        errors[k] = await checkImage(this.filepaths[k], this.resolvedLoad.limitInputPixels, this.fileBytes[k]);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    const bad = errors.filter((e): e is ImageDecodeError => e !== null);
    if (bad.length > 0) {
      const keep = errors.map((e) => e === null);
      this.filenames = this.filenames.filter((_, k) => keep[k]);
      this.filepaths = this.filepaths.filter((_, k) => keep[k]);
      this.fileBytes = this.fileBytes.filter((_, k) => keep[k]);
      this.classes = this.classes.filter((_, k) => keep[k]);
      this.samples = this.filenames.length;
      this.state = { batchIndex: 0, totalBatchesSeen: this.state.totalBatchesSeen, indexArray: null, permutedAt: null };
      console.warn(`Skipping ${bad.length} image(s) that cannot be decoded:\n${bad.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`);
      console.log(`Found ${this.samples} valid images belonging to ${this.numClasses} classes.`);
    }
    return bad;
  }
}
