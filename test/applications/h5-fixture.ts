// Writes Keras-layout .h5 weight files for tests, with h5wasm directly (not through the loader):
// root attribute `layer_names`, one group per layer with attribute `weight_names` (an empty float64
// array when the layer has no weights, as h5py writes `[]`), datasets `<group>/<layer>/<weight>:0`.
import { loadH5wasm } from '../../src/applications/h5';

export interface FixtureWeight {
  name: string; // e.g. 'kernel:0'
  shape: number[];
  data: Float32Array;
}
export interface FixtureLayer {
  name: string;
  weights: FixtureWeight[];
}

export async function writeKerasH5(path: string, layers: FixtureLayer[], opts: { chunkLayerNames?: boolean } = {}): Promise<void> {
  const h5 = await loadH5wasm();
  const file = new h5.File(path, 'w');
  try {
    const names = layers.map((l) => l.name);
    if (opts.chunkLayerNames) {
      const half = Math.ceil(names.length / 2);
      file.create_attribute('layer_names0', names.slice(0, half));
      file.create_attribute('layer_names1', names.slice(half));
    } else {
      file.create_attribute('layer_names', names);
    }
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.1.5');
    for (const layer of layers) {
      const group = file.create_group(layer.name);
      if (layer.weights.length === 0) {
        group.create_attribute('weight_names', [], [0], '<d');
        continue;
      }
      group.create_attribute('weight_names', layer.weights.map((w) => `${layer.name}/${w.name}`));
      const inner = group.create_group(layer.name);
      for (const w of layer.weights) inner.create_dataset({ name: w.name, data: w.data, shape: w.shape, dtype: '<f' });
    }
  } finally {
    file.close();
  }
}

/** A deterministic value for weight `i` of weighted layer `k`, element `j`. */
export function fixtureValue(k: number, i: number, j: number): number {
  return k * 10 + i + 1 + (j % 7) * 1e-3;
}
