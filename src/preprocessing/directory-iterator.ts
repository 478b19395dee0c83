/**
 * Batches of images read from class subfolders, ported from Keras
 * `keras/src/legacy/preprocessing/image.py` (`DirectoryIterator`, `BatchFromFilesMixin`), along
 * Keras's seams: the file listing (`file-listing.ts`), Keras's `Iterator` over the index stream with
 * its seeded order, `seek` and `setEpoch` (`batch-iterator.ts`, `index-stream.ts`), the decode
 * queue and worker pool (`decode-queue.ts`, `worker-pool.ts`); here, the iterator over a folder:
 * its files, classes and labels.
 *
 * Same as Keras: classes are the sorted subfolder names; `subset` takes the first
 * `validationSplit` fraction of each class for 'validation' and the rest for 'training'; each epoch
 * is permuted with a generator seeded from `seed + totalBatchesSeen`, and a batch's augmentation
 * is drawn from that same generator in index order — so a seed reproduces shuffle and augmentation
 * whatever the decode parallelism or prefetch depth.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { invalidParameterError } from '../util/validate';
import type { ImageAugmenter } from './augmenter';
import { BatchIterator } from './batch-iterator';
import { DirectoryScanError, type ImageDecodeError } from './errors';
import { checkImages, listImageFiles } from './file-listing';
import { type ClassMode, type FlowFromDirectoryArgs, type ResolvedFlowArgs, classLabels, preprocessingKeyOf, resolveFlowArgs } from './flow-args';
import { type ColorMode, channelsOf } from './image-io';
import type { Interpolation } from './resize';

export type { ImageBatch, BatchPlan, NextPlanArgs } from './batch';
export type { ClassMode, FlowFromDirectoryArgs } from './flow-args';

/**
 * Iterates over a folder of class subfolders in (optionally augmented) batches, like Keras
 * `DirectoryIterator`. Create it with `ImageDataGenerator.flowFromDirectory`.
 *
 * `next()` loops forever across epochs (reshuffling at each epoch start), `batch(i)` is Keras's
 * `__getitem__`, `for await (const b of it)` runs over one epoch, `toDataset()` feeds `model.fitDataset`,
 * and `nextPlan()` (the iterator is its own `BatchPlanner`) hands the same stream out as pixels on
 * demand. Each image is decoded, resized, augmented and rescaled in one pass in a pool of worker
 * threads (`workers`), `prefetch` batches ahead; prefetched work holds no tensors. Call `dispose()`
 * when done to stop the workers early (idle workers never keep the process alive).
 */
export class DirectoryIterator extends BatchIterator {
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
  /** Number of classes. */
  readonly numClasses: number;
  readonly classMode: ClassMode;
  readonly colorMode: ColorMode;
  readonly targetSize: [number, number];
  readonly interpolation: Interpolation;
  readonly subset: 'training' | 'validation' | null;
  private readonly generator: ImageAugmenter | null;
  private readonly loadOptions: ResolvedFlowArgs['load'];
  /** Each file's path as bytes when it is not valid UTF-8 (then `filepaths` cannot open it), else null. */
  private fileBytes: Array<Buffer | null>;

  /**
   * @param directory - folder with one subfolder per class
   * @param generator - augmentation and standardisation, or null for none
   * @param args - see {@link FlowFromDirectoryArgs}
   * @throws {TypeError} invalid arguments; {@link DirectoryScanError} unreadable folders
   */
  constructor(directory: string, generator: ImageAugmenter | null, args: FlowFromDirectoryArgs = {}) {
    const o = resolveFlowArgs(args, generator);
    const found = listImageFiles(directory, o);
    const imageShape: [number, number, number] = [o.load.targetSize[0], o.load.targetSize[1], channelsOf(o.load.colorMode)];
    super({ ...o, samples: found.filenames.length, imageShape, augmenter: generator });
    this.directory = directory;
    this.generator = generator;
    this.loadOptions = o.load;
    this.colorMode = o.load.colorMode;
    this.targetSize = o.load.targetSize;
    this.interpolation = o.load.interpolation;
    this.classMode = o.classMode;
    this.subset = o.subset;
    this.numClasses = found.classNames.length;
    this.classIndices = Object.fromEntries(found.classNames.map((c, i) => [c, i]));
    this.fileBytes = found.fileBytes;
    this.filenames = found.filenames;
    this.classes = found.labels;
    this.samples = found.filenames.length;
    this.filepaths = found.filenames.map((f) => path.join(directory, f));
    if (o.verbose) console.log(`Found ${this.samples} images belonging to ${this.numClasses} classes.`);
    // Start the decoding threads now, so that their start-up (~0.2 s) is over by the first batch.
    if (this.samples > 0) this.decoder.startWorkers();
  }

  /** Class names in label order. */
  get classNames(): string[] {
    return Object.keys(this.classIndices).sort((a, b) => (this.classIndices[a] as number) - (this.classIndices[b] as number));
  }

  /** True when the generator applies no random augmentation (a sample's pixels depend only on its file). */
  get deterministic(): boolean {
    return this.generator === null || this.generator.deterministic;
  }

  /** See {@link preprocessingKeyOf}: what determines a sample's pixels besides its file (for cache keys). */
  get preprocessingKey(): string {
    return preprocessingKeyOf(this.loadOptions, this.generator);
  }

  protected get targetsAreImages(): boolean {
    return this.classMode === 'input';
  }

  protected fileBytesOf(j: number): Buffer | null {
    return this.fileBytes[j] ?? null;
  }

  protected labelsOf(indices: number[]): tf.Tensor | undefined {
    return classLabels(this.classMode, this.classes, this.numClasses, indices);
  }

  protected emptyError(): Error {
    return new DirectoryScanError(this.directory, 'no images were found, so there is nothing to iterate over.');
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
    this.discardAhead();
    const errors = await checkImages(this.filepaths, this.fileBytes, this.loadOptions.limitInputPixels, concurrency);
    const bad = errors.filter((e): e is ImageDecodeError => e !== null);
    if (bad.length > 0) {
      const keep = errors.map((e) => e === null);
      this.filenames = this.filenames.filter((_, k) => keep[k]);
      this.filepaths = this.filepaths.filter((_, k) => keep[k]);
      this.fileBytes = this.fileBytes.filter((_, k) => keep[k]);
      this.classes = this.classes.filter((_, k) => keep[k]);
      this.samples = this.filenames.length;
      this.stream.resize(this.samples);
      console.warn(`Skipping ${bad.length} image(s) that cannot be decoded:\n${bad.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`);
      console.log(`Found ${this.samples} valid images belonging to ${this.numClasses} classes.`);
    }
    return bad;
  }
}
