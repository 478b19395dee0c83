/**
 * The options of `flowFromDirectory` (Keras's `flow_from_directory` arguments in camelCase), checked
 * and resolved once for a `DirectoryIterator`, and the key naming what they make of a sample.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkInteger, checkOneOf, invalidParameterError } from '../util/validate';
import type { ImageAugmenter } from './augmenter';
import { type ColorMode, type LoadImageOptions, type ResolvedLoadOptions, resolveLoadOptions } from './image-io';
import type { Interpolation } from './resize';

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

/**
 * The labels of a batch per Keras class mode: one-hot `[n, K]` (categorical), indices `[n]`
 * (sparse), `[n, 1]` (binary — Keras gives `(n,)`; TF.js losses want the prediction's shape).
 *
 * @param classMode - not 'input' (its targets are the images)
 * @param labels - label of every sample
 * @param numClasses - K
 * @param indices - the batch's samples
 * @returns a new tensor (the caller disposes it), or undefined for classMode null
 */
export function classLabels(classMode: ClassMode, labels: ArrayLike<number>, numClasses: number, indices: readonly number[]): tf.Tensor | undefined {
  const n = indices.length;
  const label = (j: number): number => labels[j] as number;
  if (classMode === 'categorical') {
    const y = new Float32Array(n * numClasses);
    indices.forEach((j, i) => (y[i * numClasses + label(j)] = 1));
    return tf.tensor2d(y, [n, numClasses]);
  }
  if (classMode === 'sparse') return tf.tensor1d(Float32Array.from(indices, label));
  if (classMode === 'binary') return tf.tensor2d(Float32Array.from(indices, label), [n, 1]);
  return undefined;
}

/** Default worker-thread count: one per available core, at most this many. */
const MAX_DEFAULT_WORKERS = 8;

/** {@link FlowFromDirectoryArgs} checked, with every default filled in. */
export interface ResolvedFlowArgs {
  /** How every image is loaded (`targetSize` set). */
  load: ResolvedLoadOptions & { targetSize: [number, number] };
  /** Class subfolders in label order, or null for every subfolder. */
  classes: string[] | null;
  classMode: ClassMode;
  batchSize: number;
  shuffle: boolean;
  /** The seed (a random one when none was given). */
  seed: number;
  followLinks: boolean;
  subset: 'training' | 'validation' | null;
  /** `[from, to)` fraction of each class kept for `subset`, or null for all. */
  split: [number, number] | null;
  /** Batches decoded ahead. */
  prefetch: number;
  /** Worker threads (0: this thread). */
  workers: number;
  /** Print `Found N images belonging to K classes.` */
  verbose: boolean;
}

/**
 * Checks the options of `flowFromDirectory` and fills in their defaults.
 *
 * @param args - see {@link FlowFromDirectoryArgs}
 * @param generator - the generator (its `validationSplit` sets `split`), or null
 * @returns see {@link ResolvedFlowArgs}
 * @throws {TypeError} for an invalid option, naming it and the value received
 */
export function resolveFlowArgs(args: FlowFromDirectoryArgs, generator: ImageAugmenter | null): ResolvedFlowArgs {
  const load = resolveLoadOptions({
    colorMode: args.colorMode,
    targetSize: args.targetSize ?? [256, 256],
    interpolation: args.interpolation,
    keepAspectRatio: args.keepAspectRatio,
    autoOrient: args.autoOrient,
    background: args.background,
    maxDecodePixels: args.maxDecodePixels,
  }) as ResolvedFlowArgs['load'];
  const classMode = checkOneOf('classMode', args.classMode === undefined ? 'categorical' : args.classMode, CLASS_MODES);
  const batchSize = checkInteger('batchSize', args.batchSize ?? 32, 1);
  const shuffle = checkBoolean('shuffle', args.shuffle ?? true);
  const seed = args.seed ?? null;
  const prefetch = checkInteger('prefetch', args.prefetch ?? 1, 0, 64);
  const workers = checkInteger('workers', args.workers ?? Math.min(os.availableParallelism(), MAX_DEFAULT_WORKERS), 0, 256);
  const followLinks = checkBoolean('followLinks', args.followLinks ?? false);
  const subset = checkOneOf('subset', args.subset ?? null, ['training', 'validation', null] as const);
  const vs = generator?.validationSplit ?? 0;
  const split: [number, number] | null = subset === null ? null : subset === 'validation' ? [0, vs] : [vs, 1];
  const classes = args.classes ?? null;
  if (classes !== null && (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string'))) {
    throw invalidParameterError('classes', 'array of subfolder names', classes);
  }
  return {
    load,
    classes,
    classMode,
    batchSize,
    shuffle,
    seed: seed === null ? (Math.random() * 2 ** 32) >>> 0 : checkInteger('seed', seed),
    followLinks,
    subset,
    split,
    prefetch,
    workers,
    verbose: args.verbose ?? true,
  };
}

/**
 * A stable string naming everything that determines a sample's pixels besides the file itself:
 * size, colour mode, resize filter, crop, orientation, background, rescale, preprocessing function
 * and whether random augmentation is on. A feature cache can key on (filepath, size, mtime, this).
 *
 * @param load - the resolved load options
 * @param generator - the generator, or null
 * @returns the key
 */
export function preprocessingKeyOf(load: ResolvedFlowArgs['load'], generator: ImageAugmenter | null): string {
  return [
    'transferlab-preprocessing-v1',
    `targetSize=${load.targetSize.join('x')}`,
    `colorMode=${load.colorMode}`,
    `interpolation=${load.interpolation}`,
    `keepAspectRatio=${load.keepAspectRatio}`,
    `autoOrient=${load.autoOrient}`,
    `background=${load.background === null ? 'none' : JSON.stringify(load.background)}`,
    generator === null ? 'rescale=none;preprocessingFunction=none' : generator.standardizeKey,
    `augmentation=${generator === null || generator.deterministic ? 'none' : 'random'}`,
  ].join('|');
}
