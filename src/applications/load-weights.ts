/**
 * Loads Keras `.h5` weight files into TF.js models, by layer order.
 *
 * Port of `load_weights_from_hdf5_group` in Keras's `keras/src/legacy/saving/legacy_h5_format.py`:
 * the file's root attribute `layer_names` lists the saved layers in the saving model's order; each
 * layer group's attribute `weight_names` lists its datasets (e.g. `conv2d/kernel:0`) in Keras's
 * legacy order (trainable weights, then non-trainable). Saved layers without weights are skipped,
 * as are model layers without weights; the k-th remaining saved layer goes into the k-th remaining
 * model layer. Attributes split in chunks (`layer_names0`, `layer_names1`, ...) are read too.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { WeightsFormatError } from './errors';
import { loadH5wasm, type H5Dataset, type H5Group } from './h5';

function toStringList(value: unknown): string[] {
  if (value == null) return [];
  if (typeof value === 'string') return [value];
  if (value instanceof Uint8Array) return [new TextDecoder().decode(value)];
  if (Array.isArray(value)) return value.map((v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v)));
  if (ArrayBuffer.isView(value)) return []; // an empty numeric array (h5py writes `[]` as float64)
  return [String(value)];
}

/** Keras's `load_attributes_from_hdf5_group`: one attribute, or its numbered chunks. */
function readStringAttribute(group: H5Group, name: string): string[] {
  const attrs = group.attrs;
  if (name in attrs) return toStringList(attrs[name].value);
  const out: string[] = [];
  for (let chunk = 0; `${name}${chunk}` in attrs; chunk++) out.push(...toStringList(attrs[`${name}${chunk}`].value));
  return out;
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
 *   count, a layer's weight count or a weight's shape differs from the model (the message names the
 *   file and the layer in both)
 * @example
 * const model = await InceptionV3({ includeTop: false, weights: null, inputShape: [224, 224, 3] });
 * await loadWeightsFromH5(model, '/data/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5');
 */
export async function loadWeightsFromH5(model: tf.LayersModel, path: string): Promise<LoadWeightsFromH5Result> {
  if (!fs.existsSync(path)) {
    throw new WeightsFormatError(`Expected a Keras .h5 weights file at ${path} but no such file exists`, path);
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
    for (let k = 0; k < layers.length; k++) {
      const layer = layers[k];
      const { name, group, weightNames } = saved[k];
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
