/**
 * `transferlab pretrain`: trains PhantomNet on the phantom's source task ("where is the lesion?")
 * and writes the `'phantom-source'` weights — with and without the top — and their manifest. This
 * is the "train a model on a related task B with plenty of data, then reuse it for A" route to
 * transfer learning, made reproducible: one seed fixes the source slices, the initial weights, the
 * shuffle and the dropout masks, so the same command on the same backend gives the same weights.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PHANTOM_SOURCE_CLASSES } from '../data/phantom-source';
import { hashFile } from '../data/get-file';
import { phantomSourceSet } from '../preprocessing/phantom-source-set';
import { PhantomNet, PHANTOM_SOURCE_WEIGHTS, phantomSourceWeightsDir, type PhantomSourceManifest } from '../applications/phantom-net';
import { saveWeightsToH5 } from '../applications/save-weights';
import { version } from '../runtime/version';
import { checkInteger, invalidParameterError } from '../util/validate';
import { arraySource } from './array-source';
import { evaluate } from './evaluate';
import { fit } from './fit';
import { ReduceLROnPlateau } from './callbacks';

/** File names inside the weights folder. */
export const PHANTOM_SOURCE_FILES = Object.freeze({
  top: 'phantom_net_phantom_source.h5',
  notop: 'phantom_net_phantom_source_notop.h5',
  manifest: 'manifest.json',
});

/** Defaults of {@link pretrainPhantomSource}: what produced the bundled weights. */
export const PRETRAIN_DEFAULTS = Object.freeze({
  seed: 2026,
  trainImages: 8000,
  validationImages: 500,
  heldOutImages: 1000,
  epochs: 8,
  batchSize: 32,
  learningRate: 1e-3,
});

/** First index of the fixed held-out source slices (never used for training or model selection). */
export const HELD_OUT_START = 1_000_000;
/** First index of the source slices that steer the learning-rate schedule. */
const VALIDATION_START = 2_000_000;

/** Options of {@link pretrainPhantomSource}. */
export interface PretrainPhantomSourceArgs {
  /** Folder to write the weights and manifest into. Default: the package's bundled folder ({@link phantomSourceWeightsDir}). */
  outDir?: string;
  /** Seed of everything. Default {@link PRETRAIN_DEFAULTS}.seed. */
  seed?: number;
  /** Source slices to train on. Default 8000. */
  trainImages?: number;
  /** Slices that steer ReduceLROnPlateau. Default 500. */
  validationImages?: number;
  /** Fixed held-out slices whose accuracy goes into the manifest. Default 1000. */
  heldOutImages?: number;
  /** Epochs. Default 8. */
  epochs?: number;
  /** Batch size. Default 32. */
  batchSize?: number;
  /** Adam's learning rate. Default 1e-3. */
  learningRate?: number;
  /** fit's verbosity. Default 2 (one line per epoch). */
  verbose?: 0 | 1 | 2;
  /** The command line recorded in the manifest. Default `'transferlab pretrain'`. */
  command?: string;
}

/**
 * Pretrains PhantomNet on the source task and writes `outDir/{phantom_net_phantom_source.h5,
 * phantom_net_phantom_source_notop.h5, manifest.json}` (each written to a temporary name first).
 *
 * @param args - see {@link PretrainPhantomSourceArgs}
 * @returns the manifest written
 * @throws TypeError for invalid options; training and file-system errors as they come
 * @example
 * const manifest = await pretrainPhantomSource({ outDir: 'output/weights', trainImages: 500, epochs: 1 });
 * console.log(manifest.heldOutAccuracy);
 */
export async function pretrainPhantomSource(args: PretrainPhantomSourceArgs = {}): Promise<PhantomSourceManifest> {
  const started = performance.now();
  const d = PRETRAIN_DEFAULTS;
  const outDir = path.resolve(args.outDir ?? phantomSourceWeightsDir());
  const seed = checkInteger('seed', args.seed ?? d.seed, 0);
  const trainImages = checkInteger('trainImages', args.trainImages ?? d.trainImages, 1);
  const validationImages = checkInteger('validationImages', args.validationImages ?? d.validationImages, 1);
  const heldOutImages = checkInteger('heldOutImages', args.heldOutImages ?? d.heldOutImages, 1);
  const epochs = checkInteger('epochs', args.epochs ?? d.epochs, 1);
  const batchSize = checkInteger('batchSize', args.batchSize ?? d.batchSize, 1);
  const learningRate = args.learningRate ?? d.learningRate;
  if (typeof learningRate !== 'number' || !(learningRate > 0)) throw invalidParameterError('learningRate', 'a positive number', learningRate);
  const verbose = args.verbose ?? 2;
  const say = (line: string) => {
    if (verbose > 0) console.log(line);
  };

  say(`Rendering ${trainImages} training, ${validationImages} validation and ${heldOutImages} held-out source slices (seed ${seed})...`);
  const train = phantomSourceSet({ count: trainImages, seed });
  const valid = phantomSourceSet({ count: validationImages, start: VALIDATION_START, seed });
  const heldOut = phantomSourceSet({ count: heldOutImages, start: HELD_OUT_START, seed });
  const classes = PHANTOM_SOURCE_CLASSES.length;
  const source = (set: typeof train, shuffle: boolean) =>
    arraySource({ xs: set.xs, shape: set.shape, labels: set.labels, numClasses: classes, batchSize, shuffle, seed, classNames: set.classNames });

  const model = await PhantomNet({ includeTop: true, weights: null, classes, seed });
  const optimizer = tf.train.adam(learningRate);
  try {
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await fit(model, source(train, true), {
      epochs,
      validationData: source(valid, false),
      callbacks: [new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.3, patience: 1, minLr: 1e-5, verbose: verbose > 0 ? 1 : 0 })],
      verbose,
      seed,
    });
    const logs = await evaluate(model, source(heldOut, false));
    const heldOutAccuracy = logs.accuracy;
    say(`Held-out source accuracy: ${(heldOutAccuracy * 100).toFixed(1)}% on ${heldOutImages} slices (chance ${(100 / classes).toFixed(0)}%).`);

    await fsp.mkdir(outDir, { recursive: true });
    const topFile = path.join(outDir, PHANTOM_SOURCE_FILES.top);
    const notopFile = path.join(outDir, PHANTOM_SOURCE_FILES.notop);
    await saveWeightsToH5(model, topFile);
    const base = tf.model({ inputs: model.inputs, outputs: model.getLayer('block4_pool').output as tf.SymbolicTensor, name: 'phantom_net' });
    await saveWeightsToH5(base, notopFile);
    const seconds = (performance.now() - started) / 1000;
    const manifest: PhantomSourceManifest = {
      name: PHANTOM_SOURCE_WEIGHTS,
      task: "Where is the lesion? Five classes: none, or one lesion of random kind and size in the patient's left or right lung, central (by the hilum and main bronchus) or peripheral.",
      classes: [...PHANTOM_SOURCE_CLASSES],
      inputShape: [train.shape[1], train.shape[2], train.shape[3]],
      files: {
        top: { file: PHANTOM_SOURCE_FILES.top, sha256: await hashFile(topFile, 'sha256') },
        notop: { file: PHANTOM_SOURCE_FILES.notop, sha256: await hashFile(notopFile, 'sha256') },
      },
      pretraining: {
        seed, trainImages, heldOutImages, heldOutStart: HELD_OUT_START, epochs, batchSize, learningRate,
        seconds: Math.round(seconds), backend: tf.getBackend(), command: args.command ?? 'transferlab pretrain',
      },
      heldOutAccuracy,
      transferlabVersion: version,
    };
    const manifestFile = path.join(outDir, PHANTOM_SOURCE_FILES.manifest);
    await fsp.writeFile(`${manifestFile}.partial`, `${JSON.stringify(manifest, null, 2)}\n`);
    await fsp.rename(`${manifestFile}.partial`, manifestFile);
    say(`Wrote ${path.relative(process.cwd(), outDir) || outDir}/{${PHANTOM_SOURCE_FILES.top}, ${PHANTOM_SOURCE_FILES.notop}, ${PHANTOM_SOURCE_FILES.manifest}} in ${(seconds / 60).toFixed(1)} min.`);
    return manifest;
  } finally {
    model.dispose();
    optimizer.dispose(); // a model does not own an optimizer it was given
  }
}
