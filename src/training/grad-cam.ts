/**
 * Grad-CAM (Selvaraju et al., 2017), as the Keras code example "Grad-CAM class activation
 * visualization" computes it: the gradient of a class score with respect to a convolutional
 * layer's output, averaged over the layer's positions, weighs that layer's channels; their weighted
 * sum, through a ReLU and scaled to a maximum of 1, says where the layer saw evidence for the class.
 * Here the maps are also resized to the input's resolution, and {@link scoreHeatmaps} scores them
 * against known boxes (the pointing game of Zhang et al., 2016, and the heat inside vs outside).
 *
 * The model is cut after the chosen layer with the same graph cut as the frozen prefix
 * ({@link cutGraph}): the first part runs once, the second under the gradient tape.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger, checkNumber, invalidParameterError } from '../util/validate';
import { TrainingError } from './errors';
import { cutGraph, graphOf, layerOutputIn } from './prefix';
import { noiseMargin } from './baselines';

/** Options of {@link gradCam}. */
export interface GradCamArgs {
  /**
   * The layer whose output is explained (4-D: `[batch, h, w, channels]`). Default: the last layer
   * with a 4-D output that is not a pooling layer (the Keras example's "last convolutional layer";
   * `mixed10` for InceptionV3, `block4_relu2` for PhantomNet).
   */
  layerName?: string;
  /** Class explained: one index for all images, one per image, or `'predicted'` (each image's arg-max, the default). */
  classIndex?: number | ArrayLike<number> | 'predicted';
  /**
   * What is differentiated. `'logit'` (default): for a softmax output the centred logit
   * `z_c − mean_j z_j` (= `log p_c − mean_j log p_j`, the part of the logits a softmax model
   * determines; the Keras example removes the softmax to the same end); for any other output the
   * output itself. `'output'`: the output unit as it is (a probability under softmax, which
   * saturates for confident predictions).
   */
  score?: 'logit' | 'output';
  /** Images per forward/backward pass. Default 32. */
  batchSize?: number;
}

/** What {@link gradCam} returns: plain arrays, no tensors to dispose. */
export interface GradCamResult {
  /** One map per image, `height × width` row-major, in [0, 1] (all 0 when the map is empty). */
  heatmaps: Float32Array[];
  /** Map size: the model's input size. */
  height: number;
  width: number;
  /** The explained layer and its spatial size `[h, w]`. */
  layerName: string;
  layerSize: [number, number];
  /** Class explained, per image. */
  classIndices: Int32Array;
  /** The model's output per image (class probabilities for a softmax model). */
  outputs: Float32Array[];
  /** Images whose map is all 0: no position of the layer raised the class score. */
  emptyMaps: number;
}

/** Images as a tensor, or in memory as `collectImages` returns them. */
export type GradCamImages = tf.Tensor4D | { xs: Float32Array; shape: [number, number, number, number] };

const POOLING = /Pooling[123]D$/;

/** The layer Grad-CAM explains by default: the last non-pooling layer with a 4-D output. */
function defaultLayer(model: tf.LayersModel): tf.layers.Layer {
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    if (layer.getClassName() === 'InputLayer' || POOLING.test(layer.getClassName())) continue;
    if (layerOutputIn(model, layer).shape.length === 4) return layer;
  }
  throw new TrainingError(`Expected model '${model.name}' to have a layer with a 4-D output (a convolution's feature map) for Grad-CAM, but it has none. Pass a model with convolutional layers.`);
}

interface CamCut {
  prefix: tf.LayersModel;
  tail: tf.LayersModel;
  /** Position of the explained layer's output among the cut tensors. */
  index: number;
  layerSize: [number, number];
  softmax: boolean;
}

const cuts = new WeakMap<tf.LayersModel, Map<string, CamCut>>();

function camCut(outer: tf.LayersModel, layerName: string | undefined): { name: string; cut: CamCut } {
  const model = graphOf(outer);
  let layer: tf.layers.Layer;
  if (layerName === undefined) layer = defaultLayer(model);
  else {
    const found = model.layers.find((l) => l.name === layerName);
    if (found === undefined) {
      const shown = model.layers.filter((l) => layerOutputIn(model, l).shape.length === 4).map((l) => l.name).slice(-6).join(', ');
      throw new TrainingError(`Expected a layer named '${layerName}' in model '${model.name}' for Grad-CAM, but there is none. Layers with 4-D outputs near the end: ${shown}.`);
    }
    layer = found;
  }
  let byName = cuts.get(outer);
  if (byName === undefined) cuts.set(outer, (byName = new Map()));
  const cached = byName.get(layer.name);
  if (cached) return { name: layer.name, cut: cached };

  const output = layerOutputIn(model, layer);
  if (output.shape.length !== 4) {
    throw new TrainingError(`Expected layer '${layer.name}' to output a 4-D feature map [batch, h, w, channels] for Grad-CAM, but its output shape is [${output.shape.join(', ')}]. Pick a convolutional layer.`);
  }
  const k = model.layers.indexOf(layer) + 1;
  if (k >= model.layers.length) throw new TrainingError(`Expected layer '${layer.name}' to be followed by the layers that classify, but it is the model's last layer. Pick a convolutional layer before the head.`);
  const { prefix, tail, cutTensors } = cutGraph(model, k, `gradcam_${layer.name}_features`, `gradcam_${layer.name}_head`);
  const index = cutTensors.indexOf(output.name);
  // Internal invariant: the explained layer feeds the rest of the model, so its output crosses the cut.
  if (index < 0) throw new Error(`Internal error: '${output.name}' does not cross the Grad-CAM cut.`);
  const last = model.outputs[0].sourceLayer as tf.layers.Layer;
  const config = last.getConfig() as { activation?: string };
  const cut: CamCut = { prefix, tail, index, layerSize: [output.shape[1] as number, output.shape[2] as number], softmax: config.activation === 'softmax' || last.getClassName() === 'Softmax' };
  byName.set(layer.name, cut);
  return { name: layer.name, cut };
}

function imageBatches(images: GradCamImages, batchSize: number): { n: number; shape: number[]; slice: (start: number, end: number) => tf.Tensor4D } {
  if (images instanceof tf.Tensor) {
    if (images.rank !== 4) throw invalidParameterError('images', 'a 4-D tensor [n, h, w, c]', `rank ${images.rank}`);
    return { n: images.shape[0], shape: images.shape, slice: (s, e) => images.slice([s, 0, 0, 0], [e - s, -1, -1, -1]) };
  }
  const shape = images?.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !(images.xs instanceof Float32Array) || images.xs.length !== shape.reduce((a, b) => a * b, 1)) {
    throw invalidParameterError('images', 'a 4-D tensor or { xs: Float32Array, shape: [n, h, w, c] } with n·h·w·c values', images);
  }
  const per = shape[1] * shape[2] * shape[3];
  return { n: shape[0], shape, slice: (s, e) => tf.tensor4d(images.xs.subarray(s * per, e * per), [e - s, shape[1], shape[2], shape[3]]) };
}

/**
 * Computes Grad-CAM heat maps for a batch of images.
 *
 * @param model - a functional (or sequential) model whose output is one vector of class scores
 * @param images - preprocessed exactly as the model was trained (same size, channels, rescaling)
 * @param args - see {@link GradCamArgs}
 * @returns maps at input resolution, the explained classes and the model's outputs; no tensor is left behind
 * @throws TrainingError when the layer is missing, not 4-D, or the model's last layer
 * @throws TypeError for invalid arguments
 * @example
 * const cam = await tl.gradCam(model, testImages, { layerName: 'block4_relu2' });
 * await tl.displayGradCam(testImages, cam, { classNames });
 */
export async function gradCam(model: tf.LayersModel, images: GradCamImages, args: GradCamArgs = {}): Promise<GradCamResult> {
  const batchSize = checkInteger('batchSize', args.batchSize ?? 32, 1);
  const score = args.score ?? 'logit';
  if (score !== 'logit' && score !== 'output') throw invalidParameterError('score', "'logit' or 'output'", score);
  const { name, cut } = camCut(model, args.layerName);
  const batches = imageBatches(images, batchSize);
  const [, height, width] = batches.shape;
  const expected = graphOf(model).inputs[0].shape.slice(1);
  if (expected.some((d, i) => d !== null && d !== batches.shape[i + 1])) {
    throw invalidParameterError('images', `images shaped [n, ${expected.map((d) => d ?? '?').join(', ')}] (the model's input)`, `[${batches.shape.join(', ')}]`);
  }
  const classOf = args.classIndex ?? 'predicted';
  if (classOf !== 'predicted' && typeof classOf !== 'number') {
    if (classOf.length !== batches.n) throw invalidParameterError('classIndex', `${batches.n} class indices (one per image)`, `${classOf.length}`);
  }
  const result: GradCamResult = {
    heatmaps: [], height, width, layerName: name, layerSize: cut.layerSize,
    classIndices: new Int32Array(batches.n), outputs: [], emptyMaps: 0,
  };

  for (let start = 0; start < batches.n; start += batchSize) {
    const end = Math.min(batches.n, start + batchSize);
    const xb = batches.slice(start, end);
    const features = tf.tidy(() => {
      const out = cut.prefix.predict(xb);
      return Array.isArray(out) ? out : [out];
    });
    xb.dispose();
    try {
      const outputs = tf.tidy(() => cut.tail.predict(features.length === 1 ? features[0] : features) as tf.Tensor2D);
      const outValues = (await outputs.data()) as Float32Array;
      const classes = outputs.shape[1];
      outputs.dispose();
      const chosen = new Int32Array(end - start);
      for (let i = 0; i < chosen.length; i++) {
        const row = outValues.subarray(i * classes, (i + 1) * classes);
        result.outputs.push(row.slice());
        let c: number;
        if (classOf === 'predicted') c = row.indexOf(Math.max(...row));
        else c = typeof classOf === 'number' ? classOf : classOf[start + i];
        chosen[i] = checkInteger(`classIndex[${start + i}]`, c, 0, classes - 1);
      }
      result.classIndices.set(chosen, start);

      const maps = tf.tidy(() => {
        const oneHot = tf.oneHot(tf.tensor1d(chosen, 'int32'), classes).toFloat();
        const f = (a: tf.Tensor) => {
          const inputs = features.map((t, i) => (i === cut.index ? a : t));
          const out = cut.tail.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as tf.Tensor2D;
          if (score === 'logit' && cut.softmax) {
            const logp = tf.log(tf.maximum(out, 1e-30));
            return tf.sum(tf.mul(tf.sub(logp, tf.mean(logp, 1, true)), oneHot));
          }
          return tf.sum(tf.mul(out, oneHot));
        };
        const activation = features[cut.index];
        const [grads] = tf.grads(f)([activation]);
        const weights = tf.mean(grads, [1, 2], true); // [n, 1, 1, channels]
        const cam = tf.relu(tf.sum(tf.mul(activation, weights), -1, true)); // [n, h', w', 1]
        const scaled = tf.divNoNan(cam, tf.max(cam, [1, 2, 3], true));
        const up = tf.image.resizeBilinear(scaled as tf.Tensor4D, [height, width], false, true);
        return tf.divNoNan(up, tf.max(up, [1, 2, 3], true)).reshape([end - start, height * width]);
      });
      const values = (await maps.data()) as Float32Array;
      maps.dispose();
      for (let i = 0; i < end - start; i++) {
        const map = values.slice(i * height * width, (i + 1) * height * width);
        if (!map.some((v) => v > 0)) result.emptyMaps++;
        result.heatmaps.push(map);
      }
    } finally {
      tf.dispose(features);
    }
  }
  return result;
}

/** A box in heat-map pixels: `x0 ≤ x < x1`, `y0 ≤ y < y1` (pixel (i, j) covers [i, i + 1) × [j, j + 1)). */
export interface HeatmapBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Options of {@link scoreHeatmaps}. */
export interface ScoreHeatmapsArgs {
  /**
   * Pixels by which every box is widened on each side before scoring, for the hit, the chance
   * level and the heat inside alike. The pointing game of Zhang et al. allows 15 pixels at 224×224
   * (about 4 at 64×64), since a peak one cell off the lesion still points at it. Default 0.
   */
  tolerance?: number;
}

/** What {@link scoreHeatmaps} measures over the images that have a box. */
export interface HeatmapScore {
  /** Images with a box (the others, e.g. normal slices, are skipped). */
  images: number;
  /** Images whose map peaks inside the box (an empty map never does). */
  hits: number;
  /** `hits / images`: the pointing game. */
  pointingGame: number;
  /** The pointing game of a peak drawn uniformly at random: the mean share of pixels inside the box. */
  chance: number;
  /** Mean heat of the pixels inside the box, averaged over images. */
  meanInside: number;
  /** Mean heat of the pixels outside it, averaged over images. */
  meanOutside: number;
  /** Images with an empty map among them. */
  emptyMaps: number;
  /** The tolerance the boxes were widened by, in pixels. */
  tolerance: number;
}

/**
 * Scores heat maps against known boxes: the pointing game (does the hottest pixel fall inside the
 * box?) with its chance level, and the mean heat inside vs outside the box.
 *
 * @param heatmaps - `height × width` maps (e.g. `gradCam(...).heatmaps`)
 * @param height - map height
 * @param width - map width
 * @param boxes - one box per map in map pixels, or `null` to skip the map (an image without a lesion)
 * @param args - see {@link ScoreHeatmapsArgs}
 * @returns see {@link HeatmapScore}; all numbers 0 when no map has a box
 * @throws TypeError when the lengths differ
 * @example
 * const boxes = testFiles.map((f) => tl.lesionBoxOf(lesions, dataRoot, f, [64, 64]));
 * const s = tl.scoreHeatmaps(cam.heatmaps, cam.height, cam.width, boxes);
 * console.log(`pointing game ${(100 * s.pointingGame).toFixed(1)}% (chance ${(100 * s.chance).toFixed(1)}%)`);
 */
export function scoreHeatmaps(heatmaps: readonly Float32Array[], height: number, width: number, boxes: ReadonlyArray<HeatmapBox | null>, args: ScoreHeatmapsArgs = {}): HeatmapScore {
  if (boxes.length !== heatmaps.length) throw invalidParameterError('boxes', `${heatmaps.length} boxes or nulls (one per map)`, `${boxes.length}`);
  const tolerance = checkNumber('tolerance', args.tolerance ?? 0, 0);
  const s: HeatmapScore = { images: 0, hits: 0, pointingGame: 0, chance: 0, meanInside: 0, meanOutside: 0, emptyMaps: 0, tolerance };
  heatmaps.forEach((map, m) => {
    const given = boxes[m];
    if (given === null) return;
    const box = { x0: given.x0 - tolerance, y0: given.y0 - tolerance, x1: given.x1 + tolerance, y1: given.y1 + tolerance };
    if (map.length !== height * width) throw invalidParameterError(`heatmaps[${m}]`, `${height * width} values`, `${map.length}`);
    let peak = -Infinity;
    let peakInside = false;
    let inside = 0;
    let nInside = 0;
    let outside = 0;
    for (let y = 0; y < height; y++) {
      const rowIn = y + 0.5 >= box.y0 && y + 0.5 < box.y1;
      for (let x = 0; x < width; x++) {
        const v = map[y * width + x];
        const isIn = rowIn && x + 0.5 >= box.x0 && x + 0.5 < box.x1;
        if (isIn) {
          inside += v;
          nInside++;
        } else outside += v;
        if (v > peak) {
          peak = v;
          peakInside = isIn;
        }
      }
    }
    s.images++;
    if (peak > 0 && peakInside) s.hits++;
    if (!(peak > 0)) s.emptyMaps++;
    s.chance += nInside / (height * width);
    s.meanInside += nInside > 0 ? inside / nInside : 0;
    s.meanOutside += nInside < height * width ? outside / (height * width - nInside) : 0;
  });
  if (s.images > 0) {
    s.pointingGame = s.hits / s.images;
    s.chance /= s.images;
    s.meanInside /= s.images;
    s.meanOutside /= s.images;
  }
  return s;
}

/**
 * Says in one or two sentences how a model's heat maps scored: the pointing game against its
 * chance level (as a multiple), the heat inside vs outside the boxes, and — when the score is
 * within two binomial standard errors of chance — that the maps do not point at the lesions.
 *
 * @param name - what is scored, e.g. the method
 * @param s - from {@link scoreHeatmaps}
 * @returns the text
 * @example
 * console.log(tl.describeHeatmapScore('fine-tuning', score));
 */
export function describeHeatmapScore(name: string, s: HeatmapScore): string {
  if (s.images === 0) return `${name}: no image with a box to score.`;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const times = s.chance > 0 ? `${(s.pointingGame / s.chance).toFixed(1)}×` : 'n/a';
  const box = s.tolerance > 0 ? `the true box (widened by ${s.tolerance} px)` : 'the true box';
  const head = `${name}: the heat-map peak falls inside ${box} for ${s.hits} of ${s.images} images (${pct(s.pointingGame)}), ` +
    `${times} the ${pct(s.chance)} a random point would hit; mean heat ${s.meanInside.toFixed(2)} inside vs ${s.meanOutside.toFixed(2)} outside` +
    `${s.emptyMaps > 0 ? ` (${s.emptyMaps} empty maps)` : ''}.`;
  if (s.pointingGame <= s.chance + noiseMargin(s.chance, s.images)) {
    return `${head} That is no better than chance: these explanations do not point at the lesions.`;
  }
  return head;
}
