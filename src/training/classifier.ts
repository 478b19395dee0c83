/**
 * A trained model you can use tomorrow: one file holding the model (topology and weights), its
 * class names and how images must be prepared for it — what Keras users get from
 * `model.save('x.keras')` plus the `class_indices` and generator settings they usually lose.
 * Loading it back and classifying a single image file needs nothing else.
 */
import * as tf from '@tensorflow/tfjs';
import { COLOR_MODES, loadImage, type ColorMode } from '../preprocessing/image-io';
import { INTERPOLATIONS, type Interpolation } from '../preprocessing/resize';
import { checkInteger, checkNumber, checkOneOf, invalidParameterError } from '../util/validate';
import { CheckpointError } from './errors';
import { loadModelFileWithMeta, saveModelFile } from './checkpoint-file';

/** How an image file becomes the model's input: `loadImage` options, then `x * rescale`. */
export interface ClassifierPreprocessing {
  /** `[height, width]` the image is resized to (the iterator's `targetSize`). */
  targetSize: [number, number];
  /** `'grayscale'`, `'rgb'` or `'rgba'` (the iterator's `colorMode`). */
  colorMode: ColorMode;
  /** Factor applied to the 0–255 pixel values (the generator's `rescale`). Default 1. */
  rescale?: number;
  /** Resampling filter (the iterator's `interpolation`). Default `'nearest'`, as Keras. */
  interpolation?: Interpolation;
}

/** What {@link saveClassifier} records beside the model. */
export interface ClassifierInfo {
  /** Class names by output index (e.g. the keys of `classIndices`, in index order). */
  classNames: string[];
  /** How to prepare an image. */
  preprocessing: ClassifierPreprocessing;
  /** Free text, e.g. how the model was trained. */
  description?: string;
}

/** A model loaded by {@link loadClassifier}, with what it needs to classify a file. */
export interface Classifier extends ClassifierInfo {
  /** The model; owned by the classifier. */
  model: tf.LayersModel;
  /** The file it was loaded from. */
  file: string;
  /** Frees the model's weights. */
  dispose(): void;
}

/** One class and its probability. */
export interface ClassProbability {
  classIndex: number;
  className: string;
  probability: number;
}

/** What {@link classifyImage} answers. */
export interface ImagePrediction extends ClassProbability {
  /** The image file. */
  file: string;
  /** The `topK` most probable classes, most probable first. */
  top: ClassProbability[];
  /** The answer in one sentence. */
  text: string;
}

function checkInfo(info: ClassifierInfo, outputs: number): ClassifierInfo {
  if (!Array.isArray(info?.classNames) || info.classNames.some((c) => typeof c !== 'string')) throw invalidParameterError('classNames', 'an array of class names', info?.classNames);
  if (info.classNames.length !== outputs) throw invalidParameterError('classNames', `${outputs} names (one per model output)`, `${info.classNames.length} names`);
  const p = info.preprocessing;
  if (!Array.isArray(p?.targetSize) || p.targetSize.length !== 2) throw invalidParameterError('preprocessing.targetSize', '[height, width]', p?.targetSize);
  p.targetSize.forEach((d, i) => checkInteger(`preprocessing.targetSize[${i}]`, d, 1));
  checkOneOf('preprocessing.colorMode', p.colorMode, COLOR_MODES);
  checkNumber('preprocessing.rescale', p.rescale ?? 1);
  checkOneOf('preprocessing.interpolation', p.interpolation ?? 'nearest', INTERPOLATIONS);
  return { classNames: [...info.classNames], preprocessing: { rescale: 1, interpolation: 'nearest', ...p, targetSize: [p.targetSize[0], p.targetSize[1]] }, ...(info.description ? { description: info.description } : {}) };
}

/**
 * Saves a trained classifier to one file, atomically: model, class names and preprocessing.
 *
 * @param model - a model whose output is one probability per class
 * @param file - destination (e.g. `run/fine-tuned.tlm`); parent folders are created
 * @param info - see {@link ClassifierInfo}
 * @throws TypeError when the class names do not match the model's outputs or the preprocessing is invalid
 * @throws CheckpointError when writing fails (an earlier file stays loadable)
 * @example
 * tl.saveClassifier(model, 'output/fine-tuned.tlm', { classNames, preprocessing: { targetSize: [64, 64], colorMode: 'grayscale', rescale: 1 / 255 } });
 */
export function saveClassifier(model: tf.LayersModel, file: string, info: ClassifierInfo): void {
  const outputs = model.outputs[0].shape[model.outputs[0].shape.length - 1] as number;
  saveModelFile(model, file, { classifier: checkInfo(info, outputs) });
}

/**
 * Loads a classifier saved by {@link saveClassifier}.
 *
 * @param file - the saved file
 * @returns the model with its class names and preprocessing; call `dispose()` when done
 * @throws CheckpointError when the file is unreadable, not a model, or was saved without class
 *   names (a plain `saveModelFile`: load it with `loadModelFile`)
 * @example
 * const clf = await tl.loadClassifier('output/fine-tuned.tlm');
 * console.log((await tl.classifyImage(clf, 'scan.png')).text);
 */
export async function loadClassifier(file: string): Promise<Classifier> {
  const { model, meta } = await loadModelFileWithMeta(file);
  const info = meta.classifier as ClassifierInfo | undefined;
  if (info === undefined) {
    model.dispose();
    throw new CheckpointError(`Expected ${file} to be saved by saveClassifier (with class names and preprocessing), but it holds a bare model. Load it with loadModelFile and prepare images yourself.`, file);
  }
  return { ...info, model, file, dispose: () => { model.dispose(); } };
}

/**
 * Classifies one image file as the classifier was trained to see it: decoded, converted, resized
 * and rescaled as recorded, then one forward pass.
 *
 * @param classifier - from {@link loadClassifier}
 * @param imagePath - the image file
 * @param args - `topK`: how many classes to list (default 3, or every class when there are fewer)
 * @returns the most probable class, the top K and a sentence
 * @throws ImageDecodeError naming the file when it cannot be read as an image
 * @example
 * const answer = await tl.classifyImage(clf, 'scan.png', { topK: 2 });
 * console.log(answer.text); // "scan.png: normal (91.3%); next: adenocarcinoma (6.0%)"
 */
export async function classifyImage(classifier: Classifier, imagePath: string, args: { topK?: number } = {}): Promise<ImagePrediction> {
  const n = classifier.classNames.length;
  const topK = checkInteger('topK', args.topK ?? Math.min(3, n), 1, n);
  const p = classifier.preprocessing;
  const img = await loadImage(imagePath, { targetSize: p.targetSize, colorMode: p.colorMode, interpolation: p.interpolation ?? 'nearest' });
  const scale = p.rescale ?? 1;
  const probs = tf.tidy(() => {
    const x = tf.tensor4d(img.data, [1, img.height, img.width, img.channels]).mul(scale);
    return (classifier.model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
  const ranked = Array.from(probs, (probability, classIndex) => ({ classIndex, className: classifier.classNames[classIndex], probability }))
    .sort((a, b) => b.probability - a.probability || a.classIndex - b.classIndex);
  const top = ranked.slice(0, topK);
  const pct = (c: ClassProbability) => `${c.className} (${(100 * c.probability).toFixed(1)}%)`;
  const text = `${imagePath}: ${pct(top[0])}${top.length > 1 ? `; next: ${top.slice(1).map(pct).join(', ')}` : ''}`;
  return { ...top[0], file: imagePath, top, text };
}
