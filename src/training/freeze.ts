/**
 * Freezing layers for fine-tuning, as Keras code does with `layer.trainable = False`.
 *
 * Keras idioms ported: `for layer in model.layers[:-15]: layer.trainable = False` (the walkthrough)
 * and `model.layers[:249]` frozen / `model.layers[249:]` trainable (Keras's InceptionV3 fine-tuning
 * guide, where index 249 is the first layer after `mixed8`). Batch normalization layers from
 * `src/layers` switch to inference mode when frozen, as in Keras.
 *
 * TF.js caches a compiled model's trainable weights at `compile()` time and `fit` keeps using that
 * list; Keras also requires re-compiling. These helpers refresh the cache so a compiled model
 * trains exactly the weights that are trainable now (re-compiling stays harmless).
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkInteger, invalidParameterError, isInteger } from '../util/validate';

/** Re-collects a compiled model's trainable weights (TF.js caches them at compile time). */
export function refreshTrainableWeights(model: tf.LayersModel): void {
  const internal = model as unknown as { collectedTrainableWeights?: tf.LayerVariable[] | null };
  if (internal.collectedTrainableWeights != null) internal.collectedTrainableWeights = model.trainableWeights;
}

/**
 * Sets `trainable` on one layer or many (Keras's `layer.trainable = ...`).
 *
 * @param layers - a layer, an array of layers, or a model (all its layers)
 * @param trainable - the new flag
 * @param model - the model the layers belong to, whose cached trainable weights are refreshed if
 *   it is compiled (when `layers` is a model, that model)
 * @example
 * setTrainable(model.layers.slice(0, -15), false, model);
 */
export function setTrainable(layers: tf.layers.Layer | tf.layers.Layer[] | tf.LayersModel, trainable: boolean, model?: tf.LayersModel): void {
  checkBoolean('trainable', trainable);
  const list = layers instanceof tf.LayersModel ? layers.layers : Array.isArray(layers) ? layers : [layers];
  for (const layer of list) layer.trainable = trainable;
  const owner = model ?? (layers instanceof tf.LayersModel ? layers : undefined);
  if (owner !== undefined) refreshTrainableWeights(owner);
}

/** Options of {@link freezeLayers}. */
export interface FreezeLayersArgs {
  /**
   * Where freezing stops: a layer name (e.g. `'mixed8'`) or a layer index. Layers before it are
   * frozen, layers after it are made trainable.
   */
  upTo: string | number;
  /**
   * Whether the `upTo` layer itself is frozen. Default `true` for a name (`upTo: 'mixed8'` freezes
   * `mixed8`), `false` for an index (`upTo: 249` freezes `layers.slice(0, 249)`, as Python's `[:249]`).
   */
  inclusive?: boolean;
}

/** What a freeze left: counts of frozen and trainable layers. */
export interface FreezeResult {
  /** Layers now frozen (`trainable === false`). */
  frozen: number;
  /** Layers now trainable. */
  trainable: number;
}

function freezeBoundary(model: tf.LayersModel, boundary: number): FreezeResult {
  model.layers.forEach((layer, i) => {
    layer.trainable = i >= boundary;
  });
  refreshTrainableWeights(model);
  return { frozen: boundary, trainable: model.layers.length - boundary };
}

/**
 * Freezes the layers of `model` up to a named or numbered layer and makes the rest trainable
 * (Keras's fine-tuning recipe). Refreshes the trainable-weights cache of a compiled model.
 *
 * @param model - the model
 * @param args - `upTo` (layer name or index) and `inclusive` (default true for names, false for indices)
 * @returns counts of frozen and trainable layers
 * @throws TypeError when `upTo` names no layer or the index is outside `[0, layers.length]`
 * @example
 * freezeLayers(model, { upTo: 'mixed8' }); // train the top two inception blocks
 */
export function freezeLayers(model: tf.LayersModel, args: FreezeLayersArgs): FreezeResult {
  const { upTo } = args;
  let boundary: number;
  if (typeof upTo === 'string') {
    const index = model.layers.findIndex((l) => l.name === upTo);
    if (index < 0) {
      const names = model.layers.map((l) => l.name);
      const hint = names.filter((n) => n.startsWith('mixed')).slice(0, 20);
      throw invalidParameterError('upTo', `the name of a layer of ${model.name}${hint.length > 0 ? ` (e.g. ${hint.join(', ')})` : ''}`, upTo);
    }
    boundary = index + ((args.inclusive ?? true) ? 1 : 0);
  } else {
    if (!isInteger(upTo)) throw invalidParameterError('upTo', 'layer name or integer index', upTo);
    checkInteger('upTo', upTo, 0, model.layers.length);
    boundary = Math.min(upTo + ((args.inclusive ?? false) ? 1 : 0), model.layers.length);
  }
  return freezeBoundary(model, boundary);
}

/**
 * Freezes every layer except the last `count` (the walkthrough's
 * `for layer in model.layers[:-15]: layer.trainable = False`), and makes those last ones trainable.
 * Refreshes the trainable-weights cache of a compiled model.
 *
 * @param model - the model
 * @param count - how many trailing layers stay trainable, integer in `[0, layers.length]`
 * @returns counts of frozen and trainable layers
 * @throws TypeError when `count` is out of range
 * @example
 * freezeAllBut(model, 15);
 */
export function freezeAllBut(model: tf.LayersModel, count: number): FreezeResult {
  checkInteger('count', count, 0, model.layers.length);
  return freezeBoundary(model, model.layers.length - count);
}
