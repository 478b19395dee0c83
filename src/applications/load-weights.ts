/**
 * Loads Keras `.h5` weight files into TF.js models, by layer order.
 *
 * Port of `load_weights_from_hdf5_group` in Keras's `keras/src/legacy/saving/legacy_h5_format.py`:
 * the file's root attribute `layer_names` lists the saved layers in the saving model's order; each
 * layer group's attribute `weight_names` lists its datasets (e.g. `conv2d/kernel:0`) in Keras's
 * legacy order (trainable weights, then non-trainable). Saved layers without weights are skipped,
 * as are model layers without weights; the k-th remaining saved layer goes into the k-th remaining
 * model layer. Attributes split in chunks (`layer_names0`, `layer_names1`, ...) are read too.
 *
 * Keras 2 (h5py) writes these names as fixed-length, null-padded byte strings (numpy `S` arrays)
 * and a layer without weights as an empty float64 array; h5wasm decodes the strings, and trailing
 * padding is stripped here.
 *
 * Beyond Keras's own checks (counts, shapes), the saved layers' Keras names are used where they
 * can be: Keras names layers `to_snake_case(ClassName)` + `_N`, numbered per prefix in creation
 * order (`conv2d_3`, `batch_normalization_12`). When a saved layer's name follows that pattern,
 * its class must be the model layer's class; and where the model's names follow it too, the two
 * numberings must run in the same order (two same-shaped parallel layers in swapped positions
 * would otherwise load silently into each other). Other names (`conv1`, `predictions`) are not
 * checked.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkFileContent } from '../data/content-check';
import { WeightsFormatError } from './errors';
import { recordWeightsInfo } from './weights-info';
import { loadH5wasm, type H5Attribute, type H5Dataset, type H5Group } from './h5';

/** HDF5's `H5T_STR_SPACEPAD`: fixed-length strings padded with spaces (Fortran style). */
const H5T_STR_SPACEPAD = 2;

function decodeString(value: unknown, spacePadded: boolean): string {
  const text = value instanceof Uint8Array ? new TextDecoder().decode(value) : String(value);
  return text.replace(spacePadded ? /[\0 ]+$/ : /\0+$/, '');
}

function toStringList(attribute: H5Attribute): string[] {
  const value = attribute.value;
  const spacePadded = attribute.metadata?.strpad === H5T_STR_SPACEPAD;
  if (value == null) return [];
  if (typeof value === 'string' || value instanceof Uint8Array) return [decodeString(value, spacePadded)];
  if (Array.isArray(value)) return value.map((v) => decodeString(v, spacePadded));
  if (ArrayBuffer.isView(value)) return []; // an empty numeric array (h5py writes `[]` as float64)
  return [decodeString(value, spacePadded)];
}

/** Keras's `load_attributes_from_hdf5_group`: one attribute, or its numbered chunks. */
function readStringAttribute(group: H5Group, name: string): string[] {
  const attrs = group.attrs;
  if (name in attrs) return toStringList(attrs[name]);
  const out: string[] = [];
  for (let chunk = 0; `${name}${chunk}` in attrs; chunk++) out.push(...toStringList(attrs[`${name}${chunk}`]));
  return out;
}

/**
 * Prefixes of Keras's automatic layer names (`to_snake_case` of the class; Keras 1's in the second
 * block) that name one class unambiguously, with that class.
 */
const KERAS_NAME_CLASSES: Readonly<Record<string, string>> = {
  conv1d: 'Conv1D', conv2d: 'Conv2D', conv3d: 'Conv3D',
  conv1d_transpose: 'Conv1DTranspose', conv2d_transpose: 'Conv2DTranspose', conv3d_transpose: 'Conv3DTranspose',
  depthwise_conv2d: 'DepthwiseConv2D', separable_conv1d: 'SeparableConv1D', separable_conv2d: 'SeparableConv2D',
  dense: 'Dense', embedding: 'Embedding', batch_normalization: 'BatchNormalization',
  batch_normalization_v1: 'BatchNormalization', layer_normalization: 'LayerNormalization',
  simple_rnn: 'SimpleRNN', lstm: 'LSTM', gru: 'GRU', conv_lstm2d: 'ConvLSTM2D', p_re_lu: 'PReLU',

  convolution1d: 'Conv1D', convolution2d: 'Conv2D', convolution3d: 'Conv3D', deconvolution2d: 'Conv2DTranspose',
  separableconvolution2d: 'SeparableConv2D', batchnormalization: 'BatchNormalization', simplernn: 'SimpleRNN',
};
const KERAS_CLASSES = new Set(Object.values(KERAS_NAME_CLASSES));

/** A Keras automatic layer name taken apart: `conv2d_7` is the 8th (or 7th, 1-based) Conv2D created. */
interface KerasName {
  name: string;
  /** The name without its number (`conv2d`): Keras counts per prefix. */
  prefix: string;
  kerasClass: string;
  /** The `_N` suffix; 0 without one. */
  number: number;
}

function parseKerasName(name: string): KerasName | undefined {
  const match = /^(.+?)(?:_(\d+))?$/.exec(name);
  const kerasClass = match ? KERAS_NAME_CLASSES[match[1]] : undefined;
  return kerasClass === undefined ? undefined : { name, prefix: match![1], kerasClass, number: Number(match![2] ?? 0) };
}

/**
 * The Keras name of a saved layer, when its weights say it has one: every weight name starts with
 * the layer's own name (`conv2d_1/kernel:0`; Keras 3: plain `kernel`) and that name is automatic.
 */
function savedKerasName(layerName: string, weightNames: string[]): KerasName | undefined {
  const scopes = new Set(weightNames.map((w) => (w.includes('/') ? w.slice(0, w.indexOf('/')) : layerName)));
  return scopes.size === 1 && scopes.has(layerName) ? parseKerasName(layerName) : undefined;
}

/** The model layer's class as Keras names it (this project's layers register as `Transferlab<Class>`). */
function kerasClassOf(layer: tf.layers.Layer): string {
  return layer.getClassName().replace(/^Transferlab/, '');
}

function toFloat32(value: unknown): Float32Array {
  if (value instanceof Float32Array) return value;
  if (typeof value === 'number' || typeof value === 'bigint') return Float32Array.of(Number(value));
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Float32Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return Float32Array.from(value.flat(Infinity) as number[]);
  throw new TypeError(`Expected numeric data but received ${Object.prototype.toString.call(value)}`);
}

function sameShape(a: readonly (number | null)[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Keras numbers the layers of each class in creation order, and so do models built like Keras's
 * (as this project's applications are). Where a file layer and the model layer at the same position
 * both carry such numbers, the two numberings must agree in order: if the model's `conv2d_5` comes
 * before its `conv2d_8` in creation, the file's layers at their positions must too. Otherwise the
 * model's layer order differs from the saving model's, which shapes alone cannot reveal when the
 * layers concerned have equal shapes (parallel branches).
 */
function checkCreationOrder(numbered: Array<{ k: number; model: KerasName; file: KerasName }>, path: string): void {
  const sequences = new Map<string, typeof numbered>(); // one numbering per prefix, on each side
  for (const entry of numbered) {
    const key = `${entry.file.prefix} ${entry.model.prefix}`;
    const entries = sequences.get(key) ?? [];
    entries.push(entry);
    sequences.set(key, entries);
  }
  for (const entries of sequences.values()) {
    const kerasClass = entries[0].file.kerasClass;
    entries.sort((a, b) => a.model.number - b.model.number);
    for (let i = 1; i < entries.length; i++) {
      const [a, b] = [entries[i - 1], entries[i]];
      if (a.file.number < b.file.number) continue;
      // Name the positions off the most common numbering offset (a swap shows as exactly two).
      const offsets = new Map<number, number>();
      for (const e of entries) offsets.set(e.file.number - e.model.number, (offsets.get(e.file.number - e.model.number) ?? 0) + 1);
      const usual = [...offsets].sort((x, y) => y[1] - x[1])[0][0];
      const off = entries.filter((e) => e.file.number - e.model.number !== usual);
      const listed = off.slice(0, 6).map((e) => `#${e.k} ${e.model.name} <- ${e.file.name}`).join(', ');
      throw new WeightsFormatError(
        `Layer order mismatch when loading weights from ${path}: the model's ${kerasClass} layers #${a.k} (${a.model.name}) and ` +
          `#${b.k} (${b.model.name}) would receive the file's ${a.file.name} and ${b.file.name}, but Keras numbers layers in ` +
          `creation order: the model's ${a.model.name} was created before ${b.model.name}, the file's ${a.file.name} after ${b.file.name}. ` +
          `Positions off the usual numbering (file number = model number ${usual < 0 ? '-' : '+'} ${Math.abs(usual)}): ` +
          `${listed}${off.length > 6 ? `, and ${off.length - 6} more` : ''}. ` +
          `Same-shaped layers of parallel branches would get each other's weights; build the model so that its layers ` +
          `(model.layers) come in the saving model's order.`,
        path,
        a.model.name,
      );
    }
  }
}

/** What {@link loadWeightsFromH5} did. */
export interface LoadWeightsFromH5Result {
  /** Layers that received weights, in order. */
  layers: number;
  /** Weight tensors assigned. */
  weights: number;
  /** Scalars assigned. */
  parameters: number;
}

/**
 * Loads a Keras `.h5` weights file (as written by Keras's `model.save_weights('x.h5')` or shipped by
 * `keras.applications`) into `model`, assigning by layer order exactly as Keras does.
 *
 * Everything is checked before anything is assigned, so a mismatching file leaves the model as it was.
 *
 * @param model - the model (its `layers` order must be the saving model's order, as for any Keras
 *   model built by the same code)
 * @param path - path of the `.h5` file on disk
 * @returns counts of layers, weight tensors and scalars assigned
 * @throws WeightsFormatError when the file is missing or unreadable, lacks `layer_names`, or its layer
 *   count, a layer's weight count or a weight's shape differs from the model; when a saved layer's
 *   Keras name (e.g. `dense_1`, from its weight names) says it is of another class than the model's
 *   layer at its position; or when saved and model layers both carry Keras numbers that run in
 *   different orders (e.g. two parallel `conv2d` layers swapped). The message names the file and
 *   the layer in both.
 * @example
 * const model = await InceptionV3({ includeTop: false, weights: null, inputShape: [224, 224, 3] });
 * await loadWeightsFromH5(model, '/data/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5');
 */
export async function loadWeightsFromH5(model: tf.LayersModel, path: string): Promise<LoadWeightsFromH5Result> {
  if (!fs.existsSync(path)) {
    throw new WeightsFormatError(`Expected a Keras .h5 weights file at ${path} but no such file exists`, path);
  }
  // Check the HDF5 signature first: HDF5 itself answers a non-HDF5 file with a screenful of HDF5-DIAG lines.
  const notHdf5 = await checkFileContent(path, 'hdf5');
  if (notHdf5 !== null) {
    throw new WeightsFormatError(`Expected a Keras .h5 weights file at ${path} but ${notHdf5}. Download the weights again (a failed download can leave an HTML page or an empty file).`, path);
  }
  const h5 = await loadH5wasm();
  let file;
  try {
    file = new h5.File(path, 'r');
  } catch (err) {
    throw new WeightsFormatError(`Expected an HDF5 file at ${path} but it could not be opened: ${(err as Error).message}`, path, undefined, { cause: err });
  }
  try {
    // Files written by model.save() keep the weights under 'model_weights'.
    const root = (file.keys().includes('model_weights') ? file.get('model_weights') : file) as H5Group;
    const savedNames = readStringAttribute(root, 'layer_names');
    if (savedNames.length === 0) {
      throw new WeightsFormatError(`Expected a Keras weights file with a 'layer_names' attribute at ${path} but found none; is it a Keras .h5 file?`, path);
    }
    const saved = savedNames
      .map((name) => {
        const group = root.get(name) as H5Group | null;
        if (group === null) throw new WeightsFormatError(`Layer group '${name}' listed in layer_names is missing from ${path}`, path, name);
        return { name, group, weightNames: readStringAttribute(group, 'weight_names') };
      })
      .filter((s) => s.weightNames.length > 0);
    const layers = model.layers.filter((layer) => layer.weights.length > 0);
    if (saved.length !== layers.length) {
      throw new WeightsFormatError(
        `Layer count mismatch when loading weights from ${path}: the model has ${layers.length} layers with weights, ` +
          `the file has ${saved.length}. The file was saved from a different architecture (check includeTop and classes).`,
        path,
      );
    }
    const assignments: Array<{ variable: tf.LayerVariable; values: Float32Array; shape: number[] }> = [];
    const numbered: Array<{ k: number; model: KerasName; file: KerasName }> = [];
    for (let k = 0; k < layers.length; k++) {
      const layer = layers[k];
      const { name, group, weightNames } = saved[k];
      const savedName = savedKerasName(name, weightNames);
      const modelClass = kerasClassOf(layer);
      if (savedName !== undefined && KERAS_CLASSES.has(modelClass) && savedName.kerasClass !== modelClass) {
        throw new WeightsFormatError(
          `Layer class mismatch for layer #${k} when loading weights from ${path}: the file's layer ${name} holds ` +
            `${savedName.kerasClass} weights (${weightNames.join(', ')}), the model's layer ${layer.name} is a ${modelClass}. ` +
            `The model's layers with weights are not in the saving model's order, or the file is for another architecture.`,
          path,
          layer.name,
        );
      }
      const modelName = parseKerasName(layer.name);
      if (savedName !== undefined && modelName?.kerasClass === savedName.kerasClass) numbered.push({ k, model: modelName, file: savedName });
      const variables = layer.weights; // trainable then non-trainable: Keras's legacy order
      if (variables.length !== weightNames.length) {
        throw new WeightsFormatError(
          `Weight count mismatch for layer #${k} (named ${layer.name} in the model, ${name} in ${path}): ` +
            `the layer expects ${variables.length} weight(s), the file has ${weightNames.length} (${weightNames.join(', ')})`,
          path,
          layer.name,
        );
      }
      variables.forEach((variable, i) => {
        const dataset = group.get(weightNames[i]) as H5Dataset | null;
        if (dataset === null) {
          throw new WeightsFormatError(`Dataset '${name}/${weightNames[i]}' listed in weight_names is missing from ${path}`, path, layer.name);
        }
        const shape = dataset.shape ?? [];
        if (!sameShape(variable.shape, shape)) {
          throw new WeightsFormatError(
            `Shape mismatch in layer #${k} (named ${layer.name} in the model, ${name} in ${path}) for weight ${variable.originalName}: ` +
              `the model expects [${variable.shape.join(', ')}], the file has [${shape.join(', ')}] (${weightNames[i]})`,
            path,
            layer.name,
          );
        }
        assignments.push({ variable, values: toFloat32(dataset.value), shape });
      });
    }
    checkCreationOrder(numbered, path);
    let parameters = 0;
    for (const { variable, values, shape } of assignments) {
      tf.tidy(() => {
        variable.write(tf.tensor(values, shape, 'float32'));
      });
      parameters += values.length;
    }
    return { layers: layers.length, weights: assignments.length, parameters };
  } finally {
    file.close();
  }
}

/**
 * The common end of an application's weights step: a `.h5` file given by path is loaded with
 * {@link loadWeightsFromH5}, `null` keeps the seeded random initialisation; either way the model's
 * `WeightsInfo` is recorded. Named pretrained weights (`'imagenet'`, `'phantom-source'`) are the
 * application's own branch before this one.
 *
 * @param model - the freshly built model
 * @param weights - path of a weights file, or null
 * @param seed - the seed of the random initialisation (recorded for `null`)
 * @throws WeightsFormatError when the file does not match
 */
export async function loadFileOrKeepRandom(model: tf.LayersModel, weights: string | null, seed: number): Promise<void> {
  if (weights === null) {
    recordWeightsInfo(model, { kind: 'random', requested: null, seed });
    return;
  }
  await loadWeightsFromH5(model, weights);
  recordWeightsInfo(model, { kind: 'file', requested: weights, path: path.resolve(weights) });
}
