/**
 * ImageNet input preprocessing and prediction decoding.
 *
 * Port of Keras's `keras/src/applications/imagenet_utils.py` (`preprocess_input` modes and
 * `decode_predictions`) and of the `preprocess_input` / `decode_predictions` pair beside
 * `keras/src/applications/inception_v3.py`.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { getFile } from '../data/get-file';
import { checkInteger, checkOneOf, invalidParameterError } from '../util/validate';

/** Where Keras downloads the ImageNet class index from. */
export const IMAGENET_CLASS_INDEX_URL = 'https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json';
/** md5 of `imagenet_class_index.json`, as Keras checks it. */
export const IMAGENET_CLASS_INDEX_MD5 = 'c2c37ea517e94d9795004a39431a14cb';

/** Preprocessing modes of Keras's `imagenet_utils.preprocess_input`. */
export type ImagenetPreprocessMode = 'tf' | 'caffe' | 'torch';

/** Options of {@link imagenetPreprocessInput}. */
export interface ImagenetPreprocessArgs {
  /**
   * `'tf'`: scale to [-1, 1] (`x / 127.5 - 1`; InceptionV3); `'torch'`: scale to [0, 1] then
   * normalize each channel with ImageNet's mean and std; `'caffe'`: RGB → BGR, then subtract
   * ImageNet's mean pixel, no scaling. Default `'caffe'` (as Keras's generic function).
   */
  mode?: ImagenetPreprocessMode;
}

/**
 * Keras's generic `imagenet_utils.preprocess_input` for channels-last images with values in [0, 255].
 *
 * @param x - a 3D (`[h, w, 3]`) or 4D (`[n, h, w, 3]`) tensor, or nested arrays; any dtype
 * @param args - `mode` (default `'caffe'`)
 * @returns a new float32 tensor; the caller disposes it (the input is not disposed)
 * @throws TypeError for an unknown mode
 * @example
 * const y = imagenetPreprocessInput(images, { mode: 'torch' });
 */
export function imagenetPreprocessInput(x: tf.Tensor | tf.TensorLike, args: ImagenetPreprocessArgs = {}): tf.Tensor {
  const mode = checkOneOf<ImagenetPreprocessMode>('mode', args.mode ?? 'caffe', ['caffe', 'tf', 'torch']);
  return tf.tidy(() => {
    const t = x instanceof tf.Tensor ? tf.cast(x, 'float32') : tf.tensor(x as tf.TensorLike, undefined, 'float32');
    if (mode === 'tf') return tf.sub(tf.div(t, 127.5), 1);
    const ones = new Array<number>(Math.max(t.rank - 1, 0)).fill(1);
    if (mode === 'torch') {
      const mean = tf.tensor([0.485, 0.456, 0.406], [...ones, 3]);
      const std = tf.tensor([0.229, 0.224, 0.225], [...ones, 3]);
      return tf.div(tf.sub(tf.div(t, 255), mean), std);
    }
    const bgr = tf.reverse(t, -1);
    return tf.sub(bgr, tf.tensor([103.939, 116.779, 123.68], [...ones, 3]));
  });
}

/**
 * InceptionV3's `preprocess_input`: scales pixels from [0, 255] to [-1, 1] (`x / 127.5 - 1`, Keras's
 * mode `'tf'`).
 *
 * @param x - a tensor (or nested arrays) of pixel values in [0, 255], any shape
 * @returns a new float32 tensor in [-1, 1]; the caller disposes it (the input is not disposed)
 * @example
 * const batch = preprocessInput(tf.fill([1, 299, 299, 3], 255)); // all 1
 */
export function preprocessInput(x: tf.Tensor | tf.TensorLike): tf.Tensor {
  return imagenetPreprocessInput(x, { mode: 'tf' });
}

/** One decoded prediction, as Keras's tuple `(class_name, class_description, score)`. */
export type DecodedPrediction = [className: string, description: string, score: number];

/** Options of {@link decodePredictions}. */
export interface DecodePredictionsArgs {
  /** Use this local `imagenet_class_index.json` instead of downloading it. */
  classIndexPath?: string;
  /** Where the class index is cached. Default Keras's `~/.keras` (file under `models/`). */
  cacheDir?: string;
}

let classIndex: Record<string, [string, string]> | null = null;
let warnedFallback = false;

async function loadClassIndex(args: DecodePredictionsArgs): Promise<Record<string, [string, string]> | null> {
  if (args.classIndexPath !== undefined) return JSON.parse(fs.readFileSync(args.classIndexPath, 'utf8'));
  if (classIndex !== null) return classIndex;
  try {
    const file = await getFile('imagenet_class_index.json', IMAGENET_CLASS_INDEX_URL, {
      cacheSubdir: 'models',
      fileHash: IMAGENET_CLASS_INDEX_MD5,
      ...(args.cacheDir !== undefined ? { cacheDir: args.cacheDir } : {}),
    });
    classIndex = JSON.parse(fs.readFileSync(file, 'utf8'));
    return classIndex;
  } catch (err) {
    if (!warnedFallback) {
      warnedFallback = true;
      console.warn(
        `decodePredictions: could not obtain imagenet_class_index.json from ${IMAGENET_CLASS_INDEX_URL} ` +
          `(${(err as Error).message}); labels fall back to class indices. ` +
          `Put the file in ~/.keras/models/ or pass { classIndexPath }.`,
      );
    }
    return null;
  }
}

/**
 * Decodes a batch of ImageNet predictions into the top classes, as Keras's `decode_predictions`.
 *
 * The class index (`imagenet_class_index.json`) is downloaded once through `getFile` into
 * `~/.keras/models/` (md5-checked). Offline, labels fall back to the index itself
 * (`['42', 'class 42', score]`) with a one-time warning.
 *
 * @param preds - `[samples, 1000]` probabilities (tensor or nested arrays); not disposed
 * @param top - how many classes per sample, integer in [1, 1000]; default 5
 * @param args - `classIndexPath` to use a local file, `cacheDir`
 * @returns one list per sample of `[className, description, score]`, highest score first
 * @throws TypeError when `preds` is not `[samples, 1000]` or `top` is out of range
 * @example
 * const [[first]] = await decodePredictions(model.predict(batch) as tf.Tensor, 3);
 * console.log(first); // ['n02123045', 'tabby', 0.81]
 */
export async function decodePredictions(
  preds: tf.Tensor | number[][],
  top = 5,
  args: DecodePredictionsArgs = {},
): Promise<DecodedPrediction[][]> {
  const shape = preds instanceof tf.Tensor ? preds.shape : [preds.length, preds[0]?.length];
  if (shape.length !== 2 || shape[1] !== 1000) {
    throw invalidParameterError('preds', 'a batch of predictions of shape [samples, 1000]', `shape [${shape.join(', ')}]`);
  }
  checkInteger('top', top, 1, 1000);
  const rows = preds instanceof tf.Tensor ? ((await preds.array()) as number[][]) : preds;
  const index = await loadClassIndex(args);
  return rows.map((row) =>
    row
      .map((score, i) => [i, score] as const)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, top)
      .map(([i, score]): DecodedPrediction => {
        const entry = index?.[String(i)];
        return entry ? [entry[0], entry[1], score] : [String(i), `class ${i}`, score];
      }),
  );
}
