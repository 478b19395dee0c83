/**
 * InceptionV3, built as Keras builds it.
 *
 * Port of Keras's `keras/src/applications/inception_v3.py`: the same layers in the same order, with
 * the names Keras gives them in a fresh session (`conv2d`, `conv2d_1`, ..., `batch_normalization_93`,
 * `activation_93`, `mixed0`..`mixed10`, `avg_pool`, `predictions`), so summaries read the same and
 * Keras's `.h5` ImageNet weights load by layer order. Arguments are checked first, the graph is
 * built second, weights are loaded last. Batch normalization uses this project's Keras-correct
 * {@link BatchNormalization} (frozen means inference mode; `scale: false` trains).
 *
 * Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getFile, kerasHome, type GetFileArgs } from '../data/get-file';
import { BatchNormalization } from '../layers/batch-normalization';
import { deriveSeed } from '../util/random';
import { checkBoolean, checkInteger, checkOneOf, invalidParameterError } from '../util/validate';
import { WeightsUnavailableError } from './errors';
import { loadFileOrKeepRandom, loadWeightsFromH5 } from './load-weights';
import { recordWeightsInfo, weightsInfo } from './weights-info';

/** Keras's URL of the ImageNet weights with the classifier. */
export const INCEPTION_V3_WEIGHTS_PATH =
  'https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5';
/** Keras's URL of the ImageNet weights without the classifier. */
export const INCEPTION_V3_WEIGHTS_PATH_NO_TOP =
  'https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5';
/** md5 of the weights with the classifier. */
export const INCEPTION_V3_WEIGHTS_MD5 = '9a0d58056eeedaa3f26cb7ebd46da564';
/** md5 of the weights without the classifier. */
export const INCEPTION_V3_WEIGHTS_NO_TOP_MD5 = 'bcbd6486424b2319ff4ef7d526e38f63';

const DEFAULT_SIZE = 299;
const MIN_SIZE = 75;

/** Options of {@link InceptionV3}; names and defaults as Keras's `InceptionV3(...)`. */
export interface InceptionV3Args {
  /** Whether to include the classifier (`avg_pool` + `predictions`). Default `true`. */
  includeTop?: boolean;
  /**
   * `'imagenet'` (Keras's pretrained file, downloaded once to `~/.keras/models/`), `null` (random,
   * seeded initialization) or the path of a Keras `.h5` weights file. Default `'imagenet'`.
   */
  weights?: 'imagenet' | null | string;
  /** Use this symbolic tensor (e.g. from `tf.input`) as the image input. `inputShape` is then only validated. */
  inputTensor?: tf.SymbolicTensor;
  /**
   * `[height, width, channels]` (channels last). Only with `includeTop: false`, else it must be
   * `[299, 299, 3]`. Sides at least 75 (or `null` for any); 3 channels with ImageNet weights.
   * Default `[299, 299, 3]` with the top, `[null, null, 3]` without.
   */
  inputShape?: [number | null, number | null, number];
  /** Without the top: `'avg'` / `'max'` global pooling of the last block, or `null` (4D output). Default `null`. */
  pooling?: 'avg' | 'max' | null;
  /** Number of classes with the top; must be 1000 with ImageNet weights. Default `1000`. */
  classes?: number;
  /** Activation of `predictions`; only `'softmax'` or `null`/`'linear'` with pretrained weights. Default `'softmax'`. */
  classifierActivation?: string | null;
  /** The model's name. Default `'inception_v3'`. */
  name?: string;
  /** Seed of the random initialization (used when `weights` is `null`, and before loading). Default `0`. */
  seed?: number;
  /** Keras cache folder for downloads (`models/` inside it). Default `$KERAS_HOME` or `~/.keras`. */
  cacheDir?: string;
  /** Further options for the download through `getFile` (`retry`, `timeoutMs`, `quiet`, `env`, `ca`, ...). Default `{}`. */
  download?: Omit<GetFileArgs, 'fileHash' | 'md5Hash' | 'cacheSubdir' | 'cacheDir' | 'extract' | 'untar'>;
  /**
   * What to do when `'imagenet'` weights can neither be downloaded nor found in the cache:
   * `'error'` throws {@link WeightsUnavailableError}; `'random'` prints that error's explanation as a
   * warning and returns the model with its seeded random initialization (the walkthrough's
   * documented offline fallback). Default `'error'`.
   *
   * A random base is not a pretrained one: frozen, it hands the head features well under 1e-3 in
   * size (measured at 224×224: 7e-4) that differ between images by a few percent of that, and a
   * model built on it stays at the majority class's accuracy. `weightsInfo(model)` says which weights the model holds
   * (`kind: 'random-fallback'` here), so a notebook can say so and measure against baselines.
   */
  weightsFallback?: 'error' | 'random';
}

/**
 * Whether `model` came from {@link InceptionV3} with `weightsFallback: 'random'` after the ImageNet
 * weights could not be obtained — i.e. it holds random weights although `'imagenet'` was asked for.
 * Shorthand for `weightsInfo(model)?.kind === 'random-fallback'`.
 *
 * @example
 * if (usedRandomWeightsFallback(base)) console.log('offline: the base is random');
 */
export function usedRandomWeightsFallback(model: tf.LayersModel): boolean {
  return weightsInfo(model)?.kind === 'random-fallback';
}

/** Keras's auto-naming in a fresh session: `conv2d`, `conv2d_1`, `conv2d_2`, ... */
class KerasNames {
  private readonly counts = new Map<string, number>();
  next(prefix: string): string {
    const n = this.counts.get(prefix) ?? 0;
    this.counts.set(prefix, n + 1);
    return n === 0 ? prefix : `${prefix}_${n}`;
  }
}

function checkInputShape(
  inputShape: InceptionV3Args['inputShape'],
  includeTop: boolean,
  weights: string | null,
): [number | null, number | null, number] {
  // Keras's imagenet_utils.obtain_input_shape (channels last).
  const defaultShape: [number, number, number] = [DEFAULT_SIZE, DEFAULT_SIZE, weights !== 'imagenet' && inputShape?.length === 3 ? inputShape[2] : 3];
  if (weights === 'imagenet' && includeTop) {
    if (inputShape !== undefined && inputShape !== null && !(inputShape.length === 3 && inputShape.every((d, i) => d === defaultShape[i]))) {
      throw invalidParameterError('inputShape', `[${defaultShape.join(', ')}] when includeTop is true with 'imagenet' weights`, inputShape);
    }
    return defaultShape;
  }
  if (inputShape !== undefined && inputShape !== null) {
    if (!Array.isArray(inputShape) || inputShape.length !== 3) {
      throw invalidParameterError('inputShape', 'an array of three integers [height, width, channels]', inputShape);
    }
    inputShape.forEach((d, i) => {
      if (d !== null || i === 2) checkInteger(`inputShape[${i}]`, d, 1);
    });
    if (inputShape[2] !== 3 && weights === 'imagenet') {
      throw invalidParameterError('inputShape', "3 channels with 'imagenet' weights", inputShape);
    }
    if ((inputShape[0] !== null && inputShape[0] < MIN_SIZE) || (inputShape[1] !== null && inputShape[1] < MIN_SIZE)) {
      throw invalidParameterError('inputShape', `an input size of at least ${MIN_SIZE}x${MIN_SIZE}`, inputShape);
    }
  }
  const shape = inputShape ?? (includeTop ? defaultShape : [null, null, 3]);
  if (includeTop && (shape[0] === null || shape[1] === null)) {
    throw invalidParameterError('inputShape', 'a static shape when includeTop is true', shape);
  }
  return [shape[0], shape[1], shape[2]];
}

/** Keras's `operation_utils.get_source_inputs`: the input layers a symbolic tensor comes from. */
function sourceInputs(t: tf.SymbolicTensor): tf.SymbolicTensor[] {
  const layer = t.sourceLayer;
  const node = layer.inboundNodes[t.nodeIndex];
  if (node === undefined || node.inboundLayers.length === 0) return [t];
  const out: tf.SymbolicTensor[] = [];
  for (const input of node.inputTensors) for (const s of sourceInputs(input)) if (!out.includes(s)) out.push(s);
  return out;
}

/**
 * Instantiates the Inception v3 architecture, optionally with Keras's ImageNet weights.
 *
 * Same layers, order and names as Keras (311 layers without the top, 313 with it). At 224×224×3
 * without the top: output `[null, 5, 5, 2048]`, 21,802,784 parameters (21,768,352 trainable). With
 * the top at 299×299×3: 23,851,784 parameters. Feed it `preprocessInput(images)` (pixels → [-1, 1]).
 *
 * @param args - see {@link InceptionV3Args}
 * @returns the model (not compiled); the caller disposes it (`model.dispose()`). `weightsInfo(model)`
 *   says which weights it holds (`'imagenet'`, `'file'`, `'random'` or `'random-fallback'`).
 * @throws TypeError on invalid arguments (weights neither 'imagenet', null nor an existing file;
 *   classes ≠ 1000 with 'imagenet' and the top; inputShape sides < 75, channels ≠ 3 with 'imagenet',
 *   not [299, 299, 3] with 'imagenet' and the top)
 * @throws WeightsUnavailableError when 'imagenet' weights can neither be downloaded nor found cached
 * @throws WeightsFormatError when a weights file does not match the architecture
 * @example
 * const base = await InceptionV3({ includeTop: false, weights: 'imagenet', inputShape: [224, 224, 3] });
 * base.summary();
 */
export async function InceptionV3(args: InceptionV3Args = {}): Promise<tf.LayersModel> {
  // 1. Arguments.
  const includeTop = checkBoolean('includeTop', args.includeTop ?? true);
  const weights = args.weights === undefined ? 'imagenet' : args.weights;
  const weightsFallback = checkOneOf('weightsFallback', args.weightsFallback ?? 'error', ['error', 'random'] as const);
  if (!(weights === 'imagenet' || weights === null || (typeof weights === 'string' && fs.existsSync(weights)))) {
    throw invalidParameterError('weights', "'imagenet' (pre-training on ImageNet), null (random initialization) or the path of an existing weights file", weights);
  }
  const classes = checkInteger('classes', args.classes ?? 1000, 1);
  if (weights === 'imagenet' && includeTop && classes !== 1000) {
    throw invalidParameterError('classes', "1000 when using 'imagenet' weights with includeTop", classes);
  }
  const inputShape = checkInputShape(args.inputShape, includeTop, weights);
  const pooling = checkOneOf<'avg' | 'max' | null>('pooling', args.pooling ?? null, ['avg', 'max', null]);
  const classifierActivation = args.classifierActivation === undefined ? 'softmax' : args.classifierActivation;
  if (includeTop && weights !== null && !(classifierActivation === 'softmax' || classifierActivation === null || classifierActivation === 'linear')) {
    throw invalidParameterError('classifierActivation', "'softmax' or null when using pretrained weights", classifierActivation);
  }
  const seed = checkInteger('seed', args.seed ?? 0, 0);

  // 2. Graph.
  const names = new KerasNames();
  let seedCounter = 0;
  const kernelInitializer = () => tf.initializers.glorotUniform({ seed: deriveSeed(seed, seedCounter++) });
  const channelAxis = 3;

  /** Conv2D (no bias) → BatchNormalization (scale false) → ReLU, as Keras's `conv2d_bn`. */
  const conv2dBn = (
    x: tf.SymbolicTensor,
    filters: number,
    numRow: number,
    numCol: number,
    padding: 'same' | 'valid' = 'same',
    strides: [number, number] = [1, 1],
  ): tf.SymbolicTensor => {
    x = tf.layers
      .conv2d({ filters, kernelSize: [numRow, numCol], strides, padding, useBias: false, kernelInitializer: kernelInitializer(), name: names.next('conv2d') })
      .apply(x) as tf.SymbolicTensor;
    x = new BatchNormalization({ axis: channelAxis, scale: false, name: names.next('batch_normalization') }).apply(x) as tf.SymbolicTensor;
    return tf.layers.activation({ activation: 'relu', name: names.next('activation') }).apply(x) as tf.SymbolicTensor;
  };
  const maxPool = (x: tf.SymbolicTensor, strides: [number, number] = [2, 2], padding: 'valid' | 'same' = 'valid') =>
    tf.layers.maxPooling2d({ poolSize: [3, 3], strides, padding, name: names.next('max_pooling2d') }).apply(x) as tf.SymbolicTensor;
  const avgPool = (x: tf.SymbolicTensor) =>
    tf.layers.averagePooling2d({ poolSize: [3, 3], strides: [1, 1], padding: 'same', name: names.next('average_pooling2d') }).apply(x) as tf.SymbolicTensor;
  const concat = (xs: tf.SymbolicTensor[], name?: string) =>
    tf.layers.concatenate({ axis: channelAxis, name: name ?? names.next('concatenate') }).apply(xs) as tf.SymbolicTensor;

  const imgInput = args.inputTensor ?? tf.input({ shape: inputShape, name: names.next('input_layer') });

  let x = conv2dBn(imgInput, 32, 3, 3, 'valid', [2, 2]);
  x = conv2dBn(x, 32, 3, 3, 'valid');
  x = conv2dBn(x, 64, 3, 3);
  x = maxPool(x);

  x = conv2dBn(x, 80, 1, 1, 'valid');
  x = conv2dBn(x, 192, 3, 3, 'valid');
  x = maxPool(x);

  // mixed 0: 35 x 35 x 256
  {
    const branch1x1 = conv2dBn(x, 64, 1, 1);
    let branch5x5 = conv2dBn(x, 48, 1, 1);
    branch5x5 = conv2dBn(branch5x5, 64, 5, 5);
    let branch3x3dbl = conv2dBn(x, 64, 1, 1);
    branch3x3dbl = conv2dBn(branch3x3dbl, 96, 3, 3);
    branch3x3dbl = conv2dBn(branch3x3dbl, 96, 3, 3);
    let branchPool = avgPool(x);
    branchPool = conv2dBn(branchPool, 32, 1, 1);
    x = concat([branch1x1, branch5x5, branch3x3dbl, branchPool], 'mixed0');
  }

  // mixed 1: 35 x 35 x 288, mixed 2: 35 x 35 x 288
  for (let i = 0; i < 2; i++) {
    const branch1x1 = conv2dBn(x, 64, 1, 1);
    let branch5x5 = conv2dBn(x, 48, 1, 1);
    branch5x5 = conv2dBn(branch5x5, 64, 5, 5);
    let branch3x3dbl = conv2dBn(x, 64, 1, 1);
    branch3x3dbl = conv2dBn(branch3x3dbl, 96, 3, 3);
    branch3x3dbl = conv2dBn(branch3x3dbl, 96, 3, 3);
    let branchPool = avgPool(x);
    branchPool = conv2dBn(branchPool, 64, 1, 1);
    x = concat([branch1x1, branch5x5, branch3x3dbl, branchPool], `mixed${1 + i}`);
  }

  // mixed 3: 17 x 17 x 768
  {
    const branch3x3 = conv2dBn(x, 384, 3, 3, 'valid', [2, 2]);
    let branch3x3dbl = conv2dBn(x, 64, 1, 1);
    branch3x3dbl = conv2dBn(branch3x3dbl, 96, 3, 3);
    branch3x3dbl = conv2dBn(branch3x3dbl, 96, 3, 3, 'valid', [2, 2]);
    const branchPool = maxPool(x);
    x = concat([branch3x3, branch3x3dbl, branchPool], 'mixed3');
  }

  // mixed 4: 17 x 17 x 768 (128 filters); mixed 5, 6: 17 x 17 x 768 (160); mixed 7: 17 x 17 x 768 (192)
  for (const [i, width] of [128, 160, 160, 192].entries()) {
    const branch1x1 = conv2dBn(x, 192, 1, 1);
    let branch7x7 = conv2dBn(x, width, 1, 1);
    branch7x7 = conv2dBn(branch7x7, width, 1, 7);
    branch7x7 = conv2dBn(branch7x7, 192, 7, 1);
    let branch7x7dbl = conv2dBn(x, width, 1, 1);
    branch7x7dbl = conv2dBn(branch7x7dbl, width, 7, 1);
    branch7x7dbl = conv2dBn(branch7x7dbl, width, 1, 7);
    branch7x7dbl = conv2dBn(branch7x7dbl, width, 7, 1);
    branch7x7dbl = conv2dBn(branch7x7dbl, 192, 1, 7);
    let branchPool = avgPool(x);
    branchPool = conv2dBn(branchPool, 192, 1, 1);
    x = concat([branch1x1, branch7x7, branch7x7dbl, branchPool], `mixed${4 + i}`);
  }

  // mixed 8: 8 x 8 x 1280
  {
    let branch3x3 = conv2dBn(x, 192, 1, 1);
    branch3x3 = conv2dBn(branch3x3, 320, 3, 3, 'valid', [2, 2]);
    let branch7x7x3 = conv2dBn(x, 192, 1, 1);
    branch7x7x3 = conv2dBn(branch7x7x3, 192, 1, 7);
    branch7x7x3 = conv2dBn(branch7x7x3, 192, 7, 1);
    branch7x7x3 = conv2dBn(branch7x7x3, 192, 3, 3, 'valid', [2, 2]);
    const branchPool = maxPool(x);
    x = concat([branch3x3, branch7x7x3, branchPool], 'mixed8');
  }

  // mixed 9, 10: 8 x 8 x 2048
  for (let i = 0; i < 2; i++) {
    const branch1x1 = conv2dBn(x, 320, 1, 1);
    let branch3x3 = conv2dBn(x, 384, 1, 1);
    const branch3x3a = conv2dBn(branch3x3, 384, 1, 3);
    const branch3x3b = conv2dBn(branch3x3, 384, 3, 1);
    branch3x3 = concat([branch3x3a, branch3x3b], `mixed9_${i}`);
    let branch3x3dbl = conv2dBn(x, 448, 1, 1);
    branch3x3dbl = conv2dBn(branch3x3dbl, 384, 3, 3);
    const branch3x3dblA = conv2dBn(branch3x3dbl, 384, 1, 3);
    const branch3x3dblB = conv2dBn(branch3x3dbl, 384, 3, 1);
    branch3x3dbl = concat([branch3x3dblA, branch3x3dblB]);
    let branchPool = avgPool(x);
    branchPool = conv2dBn(branchPool, 192, 1, 1);
    x = concat([branch1x1, branch3x3, branch3x3dbl, branchPool], `mixed${9 + i}`);
  }

  if (includeTop) {
    // Classification block
    x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
    const activation = (classifierActivation ?? 'linear') as Parameters<typeof tf.layers.dense>[0]['activation'];
    x = tf.layers
      .dense({ units: classes, activation, kernelInitializer: kernelInitializer(), name: 'predictions' })
      .apply(x) as tf.SymbolicTensor;
  } else if (pooling === 'avg') {
    x = tf.layers.globalAveragePooling2d({ name: names.next('global_average_pooling2d') }).apply(x) as tf.SymbolicTensor;
  } else if (pooling === 'max') {
    x = tf.layers.globalMaxPooling2d({ name: names.next('global_max_pooling2d') }).apply(x) as tf.SymbolicTensor;
  }

  const inputs = args.inputTensor !== undefined ? sourceInputs(args.inputTensor) : [imgInput];
  const model = tf.model({ inputs, outputs: x, name: args.name ?? 'inception_v3' });

  // 3. Weights.
  try {
    if (weights === 'imagenet') {
      const [fname, url, md5] = includeTop
        ? ['inception_v3_weights_tf_dim_ordering_tf_kernels.h5', INCEPTION_V3_WEIGHTS_PATH, INCEPTION_V3_WEIGHTS_MD5]
        : ['inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5', INCEPTION_V3_WEIGHTS_PATH_NO_TOP, INCEPTION_V3_WEIGHTS_NO_TOP_MD5];
      const cacheDir = args.cacheDir ?? kerasHome(args.download?.env);
      let file: string;
      try {
        file = await getFile(fname, url, { ...args.download, fileHash: md5, cacheSubdir: 'models', cacheDir });
      } catch (err) {
        const unavailable = new WeightsUnavailableError(url, path.join(cacheDir, 'models', fname), { cause: err });
        if (weightsFallback === 'random') {
          console.warn(`${unavailable.message}\nContinuing with randomly initialised weights (seed ${seed}) because weightsFallback is 'random': everything runs, but this is not transfer learning — a frozen random base gives the head almost nothing to learn from, so expect about the majority class's accuracy.`);
          recordWeightsInfo(model, { kind: 'random-fallback', requested: 'imagenet', seed, reason: unavailable.message });
          return model;
        }
        throw unavailable;
      }
      await loadWeightsFromH5(model, file);
      recordWeightsInfo(model, { kind: 'imagenet', requested: 'imagenet', path: file });
    } else {
      await loadFileOrKeepRandom(model, weights, seed);
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
