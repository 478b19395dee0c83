// Keras 2's own InceptionV3 (no top) as a test reference, independent of our model:
// - fixtures/inception_v3_notop_layer_order.json: Keras 2's `model.layers` order (name, type as
//   `model.summary()` prints it, i.e. possibly truncated, parameter count, inbound layers); its
//   `source` field says where it was read;
// - KERAS_KERNEL_SIZES: the (rows, cols) of each `conv2d_bn` call in keras/src/applications/inception_v3.py,
//   in creation order (Keras 2 names them conv2d_1..conv2d_94), the one thing the listing cannot give
//   (1x7 and 7x1 have the same parameter count).
// From these two, `kerasInceptionV3NotopLayers` builds the weights file Keras 2 saved (names, order,
// weight names and shapes), and `compareWithListing` checks a model's layers against the listing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { packageRoot } from '../../src/cli/paths';
import type { FixtureLayer } from './h5-fixture';

export interface ListedLayer {
  name: string;
  type: string;
  shape: string;
  params: number;
  inbound: string[];
}
export interface KerasListing {
  source: string;
  layers: ListedLayer[];
}

export function readInceptionV3NotopListing(): KerasListing {
  const file = path.join(packageRoot(), 'test', 'applications', 'fixtures', 'inception_v3_notop_layer_order.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as KerasListing;
}

const CLASSES = ['InputLayer', 'Conv2D', 'BatchNormalization', 'Activation', 'MaxPooling2D', 'AveragePooling2D', 'Concatenate'];

/** The full Keras class of a listed type (`model.summary()` cuts long names: 'BatchNo', 'AveragePoo'). */
export function listedClass(type: string): string {
  const matches = CLASSES.filter((c) => c.startsWith(type));
  if (matches.length !== 1) throw new Error(`keras-listing: cannot tell the class of listed type '${type}'`);
  return matches[0];
}

const MIXED_35 = ['1x1', '1x1', '5x5', '1x1', '3x3', '3x3', '1x1']; // mixed 0, 1, 2
const MIXED_3 = ['3x3', '1x1', '3x3', '3x3'];
const MIXED_17 = ['1x1', '1x1', '1x7', '7x1', '1x1', '7x1', '1x7', '7x1', '1x7', '1x1']; // mixed 4, 5, 6, 7
const MIXED_8 = ['1x1', '3x3', '1x1', '1x7', '7x1', '3x3'];
const MIXED_8X8 = ['1x1', '1x1', '1x3', '3x1', '1x1', '3x3', '1x3', '3x1', '1x1']; // mixed 9, 10
/** Kernel (rows x cols) of Keras 2's conv2d_N at index N - 1. */
export const KERAS_KERNEL_SIZES: readonly string[] = [
  ...['3x3', '3x3', '3x3', '1x1', '3x3'],
  ...MIXED_35, ...MIXED_35, ...MIXED_35,
  ...MIXED_3,
  ...MIXED_17, ...MIXED_17, ...MIXED_17, ...MIXED_17,
  ...MIXED_8,
  ...MIXED_8X8, ...MIXED_8X8,
];

/**
 * The layers of Keras 2's InceptionV3 (no top) as its `.h5` file holds them: the listing's names and
 * order; Conv2D `kernel:0` [rows, cols, in, out], BatchNormalization (scale=False) `beta:0`,
 * `moving_mean:0`, `moving_variance:0` [channels]. Channels follow the listing's wiring (from 3 at
 * the input); every parameter count is checked against the listing. Weighted layer k's weight i,
 * element j, is `value(k, i, j)`.
 */
export function kerasInceptionV3NotopLayers(value: (k: number, i: number, j: number) => number): FixtureLayer[] {
  if (KERAS_KERNEL_SIZES.length !== 94) throw new Error(`keras-listing: expected 94 kernel sizes, have ${KERAS_KERNEL_SIZES.length}`);
  const channels = new Map<string, number>();
  const filled = (k: number, i: number, name: string, shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = value(k, i, j);
    return { name, shape, data };
  };
  let k = 0;
  return readInceptionV3NotopListing().layers.map((layer) => {
    const inputs = layer.inbound.map((name) => channels.get(name)!);
    const kind = listedClass(layer.type);
    let out = inputs[0];
    let weights: FixtureLayer['weights'] = [];
    if (kind === 'InputLayer') out = 3;
    else if (kind === 'Concatenate') out = inputs.reduce((a, b) => a + b, 0);
    else if (kind === 'Conv2D') {
      const n = Number(/^conv2d_(\d+)$/.exec(layer.name)?.[1]);
      const [rows, cols] = KERAS_KERNEL_SIZES[n - 1].split('x').map(Number);
      out = layer.params / (rows * cols * inputs[0]);
      weights = [filled(k, 0, 'kernel:0', [rows, cols, inputs[0], out])];
    } else if (kind === 'BatchNormalization') {
      weights = ['beta:0', 'moving_mean:0', 'moving_variance:0'].map((name, i) => filled(k, i, name, [out]));
    }
    if (!Number.isInteger(out) || weights.reduce((a, w) => a + w.data.length, 0) !== layer.params) {
      throw new Error(`keras-listing: ${layer.name} (${kind}) does not add up to the listing's ${layer.params} parameters`);
    }
    channels.set(layer.name, out);
    if (weights.length > 0) k++;
    return { name: layer.name, weights };
  });
}

/** A model's layers in the listing's terms: Keras class, parameter count, inbound layers by position. */
export interface DescribedLayer {
  name: string;
  kerasClass: string;
  params: number;
  inbound: number[];
}

export function describeModel(model: tf.LayersModel): DescribedLayer[] {
  return model.layers.map((layer) => {
    if (layer.inboundNodes.length !== 1) throw new Error(`keras-listing: ${layer.name} is called ${layer.inboundNodes.length} times`);
    return {
      name: layer.name,
      kerasClass: layer.getClassName().replace(/^Transferlab/, ''),
      params: layer.countParams(),
      inbound: layer.inboundNodes[0].inboundLayers.map((l) => model.layers.indexOf(l)),
    };
  });
}

/**
 * Compares `ours` with the listing position by position (class, parameter count, inbound
 * positions in order); returns one line per difference, none when they agree.
 */
export function compareWithListing(ours: DescribedLayer[], listing: KerasListing): string[] {
  const position = new Map(listing.layers.map((l, i) => [l.name, i]));
  const diffs: string[] = [];
  if (ours.length !== listing.layers.length) diffs.push(`${ours.length} layers, Keras has ${listing.layers.length}`);
  listing.layers.forEach((keras, i) => {
    const mine = ours[i];
    if (mine === undefined) return;
    const where = `#${i} (${mine.name}, Keras ${keras.name})`;
    if (mine.kerasClass !== listedClass(keras.type)) diffs.push(`${where}: ${mine.kerasClass}, Keras ${listedClass(keras.type)}`);
    if (mine.params !== keras.params) diffs.push(`${where}: ${mine.params} parameters, Keras ${keras.params}`);
    const inbound = keras.inbound.map((name) => position.get(name)!);
    if (mine.inbound.join() !== inbound.join()) diffs.push(`${where}: inputs from #[${mine.inbound}], Keras #[${inbound}]`);
  });
  return diffs;
}
