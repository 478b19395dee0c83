/**
 * PhantomNet: a compact VGG-style convolutional network for small grayscale slices, and the
 * project's own pretrained weights for it (`weights: 'phantom-source'`), trained on the phantom's
 * source task ("where is the lesion?", see `src/data/phantom-source.ts`) by `transferlab pretrain`.
 *
 * Built as Keras applications are: arguments checked first, the graph second, weights last; stable
 * layer names (`block1_conv` … `block4_pool`, `flatten`, `dropout`, `predictions`) so a summary reads
 * well and the `.h5` file loads by layer order. Four blocks of 3×3 convolution → BatchNormalization
 * → ReLU → 2×2 max-pooling (8, 16, 32 and 2 × 64 filters); at 64×64 the base ends in a 4×4×64
 * grid that still knows *where* things are, which both the source task and the target's findings
 * need. The top flattens that grid and reads it out with dropout and a softmax.
 *
 * There is no Keras original; the layout follows `keras/src/applications/vgg16.py` at a tenth of its width.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { hashFile } from '../data/get-file';
import { BatchNormalization } from '../layers/batch-normalization';
import { deriveSeed } from '../util/random';
import { checkBoolean, checkInteger, invalidParameterError } from '../util/validate';
import { WeightsFormatError } from './errors';
import { loadFileOrKeepRandom, loadWeightsFromH5 } from './load-weights';
import { recordWeightsInfo } from './weights-info';

/** The name of the bundled pretrained weights. */
export const PHANTOM_SOURCE_WEIGHTS = 'phantom-source';

/** Input size the bundled weights were trained at: 64×64 grayscale. */
export const PHANTOM_NET_INPUT_SHAPE: readonly [number, number, number] = Object.freeze([64, 64, 1]) as readonly [number, number, number];

/** Filters per convolution, block by block (the last block has two convolutions). */
const BLOCKS: ReadonlyArray<readonly number[]> = [[8], [16], [32], [64, 64]];

/** The manifest written beside the bundled weights by `transferlab pretrain`. */
export interface PhantomSourceManifest {
  /** `'phantom-source'`. */
  name: string;
  /** One sentence on the source task. */
  task: string;
  /** Class names of the source task, in label order. */
  classes: string[];
  /** `[height, width, channels]` the weights were trained at. */
  inputShape: [number, number, number];
  /** The weight files, relative to the manifest's folder, with their sha256. */
  files: { top: { file: string; sha256: string }; notop: { file: string; sha256: string } };
  /** How the source data was drawn and the network trained. */
  pretraining: {
    seed: number;
    trainImages: number;
    heldOutImages: number;
    heldOutStart: number;
    epochs: number;
    batchSize: number;
    learningRate: number;
    seconds: number;
    backend: string;
    command: string;
  };
  /** Accuracy of the network with its top on the fixed held-out source set. */
  heldOutAccuracy: number;
  /** transferlab version that wrote it. */
  transferlabVersion: string;
}

/** Options of {@link PhantomNet}. */
export interface PhantomNetArgs {
  /** Include the flatten → dropout → predictions top. Default true. */
  includeTop?: boolean;
  /**
   * `'phantom-source'` (the bundled weights pretrained on the source task), `null` (seeded random
   * initialization) or the path of a Keras `.h5` weights file. Default `null`.
   */
  weights?: 'phantom-source' | null | string;
  /** `[height, width, channels]`. Default `[64, 64, 1]`; with `'phantom-source'`, 1 channel (and 64×64 with the top). */
  inputShape?: [number, number, number];
  /** Classes of the top. Default 5 (the source task's); with `'phantom-source'` and the top, must be 5. */
  classes?: number;
  /** Dropout rate before `predictions`. Default 0.3. */
  dropout?: number;
  /** Seed of the random initialization. Default 0. */
  seed?: number;
  /**
   * Momentum of the BatchNormalization moving averages. Default 0.99 (Keras's). A network trained
   * for only a few hundred steps needs less (e.g. 0.9): at 0.99 its moving statistics are still
   * close to their initial values when training ends, and inference-mode accuracy suffers.
   */
  batchNormMomentum?: number;
  /** Folder holding the bundled weights and manifest. Default: the package's `weights/phantom-source`. */
  weightsDir?: string;
}

/** Walks up from this file to the folder holding transferlab's package.json. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'transferlab') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, '..', '..');
    dir = parent;
  }
}

/**
 * The folder of the bundled `'phantom-source'` weights (`<package>/weights/phantom-source`).
 *
 * @returns an absolute path (it exists in an installed package; `transferlab pretrain` writes it)
 */
export function phantomSourceWeightsDir(): string {
  return path.join(packageRoot(), 'weights', PHANTOM_SOURCE_WEIGHTS);
}

/**
 * Reads the manifest of the bundled weights.
 *
 * @param dir - folder holding `manifest.json`. Default {@link phantomSourceWeightsDir}
 * @returns the parsed manifest
 * @throws WeightsFormatError when it is missing or not valid JSON (the message says how to rebuild it)
 * @example
 * const m = readPhantomSourceManifest();
 * console.log(m.task, m.heldOutAccuracy);
 */
export function readPhantomSourceManifest(dir = phantomSourceWeightsDir()): PhantomSourceManifest {
  const file = path.join(dir, 'manifest.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PhantomSourceManifest;
  } catch (err) {
    throw new WeightsFormatError(
      `Expected the manifest of the '${PHANTOM_SOURCE_WEIGHTS}' weights at ${file} but it could not be read (${(err as Error).message}). ` +
        'Reinstall transferlab, or rebuild the weights with `npx transferlab pretrain`.',
      file, undefined, { cause: err },
    );
  }
}

/**
 * The path of one bundled weights file, after checking its sha256 against the manifest.
 *
 * @param includeTop - the file with the source task's top, or the one without
 * @param dir - folder of the bundled weights. Default {@link phantomSourceWeightsDir}
 * @returns the absolute path of the verified file
 * @throws WeightsFormatError when the manifest or file is missing, or the hash differs
 */
export async function phantomSourceWeightsFile(includeTop: boolean, dir = phantomSourceWeightsDir()): Promise<string> {
  const manifest = readPhantomSourceManifest(dir);
  const entry = includeTop ? manifest.files.top : manifest.files.notop;
  const file = path.join(dir, entry.file);
  if (!fs.existsSync(file)) {
    throw new WeightsFormatError(`The '${PHANTOM_SOURCE_WEIGHTS}' weights file ${file} listed in its manifest is missing. Reinstall transferlab, or rebuild it with \`npx transferlab pretrain\`.`, file);
  }
  const actual = await hashFile(file, 'sha256');
  if (actual !== entry.sha256) {
    throw new WeightsFormatError(
      `The '${PHANTOM_SOURCE_WEIGHTS}' weights file ${file} does not match its manifest (sha256 ${actual}, expected ${entry.sha256}); ` +
        'it was changed or damaged. Reinstall transferlab, or rebuild it with `npx transferlab pretrain`.',
      file,
    );
  }
  return file;
}

/**
 * flatten → dropout → predictions (softmax): PhantomNet's top, seeded. A linear read-out of the
 * 4×4 feature grid keeps *where* a feature fired, and cannot die the way a ReLU layer between
 * them did in early trials (all units off after the first steps, the loss stuck at ln(classes)).
 */
function topLayers(x: tf.SymbolicTensor, classes: number, dropout: number, seed: number): tf.SymbolicTensor {
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: dropout, seed: deriveSeed(seed, 1), name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  return tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 2) }), name: 'predictions' }).apply(x) as tf.SymbolicTensor;
}

/** Options of {@link addPhantomNetTop}. */
export interface AddPhantomNetTopArgs {
  /** Classes of the new softmax. */
  classes: number;
  /** Dropout rate before it. Default 0.3. */
  dropout?: number;
  /** Seed of the new layers' initialization. Default 0. */
  seed?: number;
}

/**
 * Puts a new top (the same layers as PhantomNet's own: flatten → dropout → predictions) on a
 * base built with `includeTop: false` — the "new head" of feature extraction and fine-tuning.
 *
 * @param base - a PhantomNet without its top (or any model with one 4-D output)
 * @param args - see {@link AddPhantomNetTopArgs}
 * @returns a new model sharing the base's layers (disposing it disposes the base too)
 * @example
 * const base = await PhantomNet({ includeTop: false, weights: 'phantom-source' });
 * base.layers.forEach((l) => (l.trainable = false));
 * const model = addPhantomNetTop(base, { classes: 4, seed: 1 });
 */
export function addPhantomNetTop(base: tf.LayersModel, args: AddPhantomNetTopArgs): tf.LayersModel {
  const classes = checkInteger('classes', args.classes, 1);
  const dropout = args.dropout ?? 0.3;
  const output = topLayers(base.outputs[0], classes, dropout, checkInteger('seed', args.seed ?? 0, 0));
  return tf.model({ inputs: base.inputs, outputs: output, name: `${base.name}_with_top` });
}

/**
 * Instantiates PhantomNet, optionally with the bundled weights pretrained on the phantom's source task.
 *
 * @param args - see {@link PhantomNetArgs}
 * @returns the model (its weights recorded for `weightsInfo`); the caller disposes it
 * @throws TypeError on invalid arguments
 * @throws WeightsFormatError when a weights file is missing, damaged or does not match the architecture
 * @example
 * const base = await PhantomNet({ includeTop: false, weights: 'phantom-source' }); // 4×4×64 features
 * const source = await PhantomNet({ weights: 'phantom-source' }); // with the source task's 5-class top
 */
export async function PhantomNet(args: PhantomNetArgs = {}): Promise<tf.LayersModel> {
  // 1. Arguments.
  const includeTop = checkBoolean('includeTop', args.includeTop ?? true);
  const weights = args.weights === undefined ? null : args.weights;
  if (!(weights === null || weights === PHANTOM_SOURCE_WEIGHTS || (typeof weights === 'string' && fs.existsSync(weights)))) {
    throw invalidParameterError('weights', `'${PHANTOM_SOURCE_WEIGHTS}' (pretrained on the phantom's source task), null (random initialization) or the path of an existing weights file`, weights);
  }
  const inputShape = args.inputShape ?? [...PHANTOM_NET_INPUT_SHAPE];
  if (!Array.isArray(inputShape) || inputShape.length !== 3) throw invalidParameterError('inputShape', 'an array [height, width, channels]', inputShape);
  inputShape.forEach((d, i) => checkInteger(`inputShape[${i}]`, d, i < 2 ? 16 : 1, 4096));
  const classes = checkInteger('classes', args.classes ?? 5, 1);
  const dropout = args.dropout ?? 0.3;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw invalidParameterError('dropout', 'a number in [0, 1)', dropout);
  const seed = checkInteger('seed', args.seed ?? 0, 0);
  const momentum = args.batchNormMomentum ?? 0.99;
  if (weights === PHANTOM_SOURCE_WEIGHTS) {
    if (inputShape[2] !== 1) throw invalidParameterError('inputShape', `1 channel with '${PHANTOM_SOURCE_WEIGHTS}' weights (grayscale: flowFromDirectory with colorMode 'grayscale')`, inputShape);
    if (includeTop && (inputShape[0] !== 64 || inputShape[1] !== 64)) throw invalidParameterError('inputShape', `[64, 64, 1] when includeTop is true with '${PHANTOM_SOURCE_WEIGHTS}' weights`, inputShape);
    if (includeTop && classes !== 5) throw invalidParameterError('classes', `5 when using '${PHANTOM_SOURCE_WEIGHTS}' weights with includeTop`, classes);
  }

  // 2. Graph.
  let counter = 0;
  const init = () => tf.initializers.heNormal({ seed: deriveSeed(seed, counter++) });
  const input = tf.input({ shape: inputShape, name: 'input' });
  let x: tf.SymbolicTensor = input;
  BLOCKS.forEach((filters, b) => {
    filters.forEach((f, k) => {
      const suffix = filters.length > 1 ? String(k + 1) : '';
      x = tf.layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(), name: `block${b + 1}_conv${suffix}` }).apply(x) as tf.SymbolicTensor;
      x = new BatchNormalization({ momentum, name: `block${b + 1}_bn${suffix}` }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.activation({ activation: 'relu', name: `block${b + 1}_relu${suffix}` }).apply(x) as tf.SymbolicTensor;
    });
    x = tf.layers.maxPooling2d({ poolSize: 2, name: `block${b + 1}_pool` }).apply(x) as tf.SymbolicTensor; // 64 → 32 → 16 → 8 → 4
  });
  if (includeTop) x = topLayers(x, classes, dropout, deriveSeed(seed, counter++));
  const model = tf.model({ inputs: input, outputs: x, name: 'phantom_net' });

  // 3. Weights.
  try {
    if (weights === PHANTOM_SOURCE_WEIGHTS) {
      const file = await phantomSourceWeightsFile(includeTop, args.weightsDir);
      await loadWeightsFromH5(model, file);
      recordWeightsInfo(model, { kind: 'bundled', requested: PHANTOM_SOURCE_WEIGHTS, path: file });
    } else {
      await loadFileOrKeepRandom(model, weights, seed);
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
