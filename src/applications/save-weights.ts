/**
 * Writes a model's weights as a Keras `.h5` weights file — the layout {@link loadWeightsFromH5}
 * reads and Keras's `model.save_weights('x.h5')` writes (Keras's `save_weights_to_hdf5_group` in
 * `keras/src/legacy/saving/legacy_h5_format.py`): root attributes `layer_names`, `backend` and
 * `keras_version`; one group per layer with attribute `weight_names` (empty for layers without
 * weights) and datasets `<layer>/<weight>:0`, trainable weights first.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadH5wasm } from './h5';

/** The variable's own name inside its layer (`kernel`, `moving_mean`, ...), from TF.js's `layer/kernel` style names. */
function weightShortName(layerName: string, variable: tf.LayerVariable): string {
  const name = variable.originalName ?? variable.name;
  const prefix = `${layerName}/`;
  const short = name.startsWith(prefix) ? name.slice(prefix.length) : name.split('/').pop() ?? name;
  return short.replace(/_\d+$/, '');
}

/**
 * Saves `model`'s weights to `file` in Keras's `.h5` layout, atomically (a temporary file renamed
 * into place), so an interrupted save never leaves a truncated file under the final name.
 *
 * @param model - any TF.js layers model
 * @param file - destination path; its folder is created when missing
 * @returns the number of weight tensors written
 * @throws file-system errors as they come
 * @example
 * await saveWeightsToH5(model, 'weights/my_model.h5');
 * await loadWeightsFromH5(sameArchitecture, 'weights/my_model.h5');
 */
export async function saveWeightsToH5(model: tf.LayersModel, file: string): Promise<number> {
  const h5 = await loadH5wasm();
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  let written = 0;
  const out = new h5.File(partial, 'w');
  try {
    out.create_attribute('layer_names', model.layers.map((l) => l.name));
    out.create_attribute('backend', 'tensorflow');
    out.create_attribute('keras_version', '2.15.0');
    for (const layer of model.layers) {
      const group = out.create_group(layer.name);
      const variables = layer.weights; // trainable then non-trainable: Keras's legacy order
      if (variables.length === 0) {
        group.create_attribute('weight_names', [], [0], '<d');
        continue;
      }
      const names = variables.map((v) => `${layer.name}/${weightShortName(layer.name, v)}:0`);
      group.create_attribute('weight_names', names);
      const inner = group.create_group(layer.name);
      variables.forEach((variable, i) => {
        const values = variable.read().dataSync() as Float32Array;
        inner.create_dataset({ name: names[i].slice(layer.name.length + 1), data: values, shape: variable.shape as number[], dtype: '<f' });
        written++;
      });
    }
  } catch (err) {
    out.close();
    await fsp.rm(partial, { force: true });
    throw err;
  }
  out.close();
  await fsp.rename(partial, file);
  return written;
}
