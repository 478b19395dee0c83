import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InceptionV3, loadWeightsFromH5, WeightsFormatError } from '../../src/applications';
import { batchNormalization } from '../../src/layers';
import { loadH5wasm, type H5Group } from '../../src/applications/h5';
import { fixtureValue, rewriteLayerNames, writeKerasH5, type FixtureLayer } from './h5-fixture';
import { kerasInceptionV3NotopLayers, readInceptionV3NotopListing } from './keras-listing';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-h5-'));
}

/** input → conv2d(no bias) → BN(scale false) → activation → GAP → dense → BN(scale true). */
function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 2], name: 'input_layer' });
  let x = tf.layers.conv2d({ filters: 3, kernelSize: 3, useBias: false, name: 'conv2d' }).apply(input) as tf.SymbolicTensor;
  x = batchNormalization({ scale: false, name: 'batch_normalization' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'activation' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 2, name: 'dense' }).apply(x) as tf.SymbolicTensor;
  x = batchNormalization({ name: 'batch_normalization_1' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

/** The small model's file as Keras 2.0 would name it (1-based names: loading is by order, not name). */
function smallFixture(): FixtureLayer[] {
  const w = (k: number, i: number, name: string, shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return { name, shape, data: Float32Array.from({ length: n }, (_, j) => fixtureValue(k, i, j)) };
  };
  return [
    { name: 'input_1', weights: [] },
    { name: 'conv2d_1', weights: [w(0, 0, 'kernel:0', [3, 3, 2, 3])] },
    { name: 'batch_normalization_1', weights: [w(1, 0, 'beta:0', [3]), w(1, 1, 'moving_mean:0', [3]), w(1, 2, 'moving_variance:0', [3])] },
    { name: 'activation_1', weights: [] },
    { name: 'global_average_pooling2d_1', weights: [] },
    { name: 'dense_1', weights: [w(2, 0, 'kernel:0', [3, 2]), w(2, 1, 'bias:0', [2])] },
    {
      name: 'batch_normalization_2',
      weights: [w(3, 0, 'gamma:0', [2]), w(3, 1, 'beta:0', [2]), w(3, 2, 'moving_mean:0', [2]), w(3, 3, 'moving_variance:0', [2])],
    },
  ];
}

test('loads a Keras-layout .h5 file into exactly the right tensors, by layer order', async () => {
  await tf.setBackend('cpu');
  const dir = tempDir();
  const model = smallModel();
  try {
    const file = path.join(dir, 'small.h5');
    const fixture = smallFixture();
    await writeKerasH5(file, fixture);
    const result = await loadWeightsFromH5(model, file);
    assert.deepEqual(result, { layers: 4, weights: 10, parameters: 54 + 9 + 8 + 8 });
    const withWeights = fixture.filter((l) => l.weights.length > 0);
    const layers = model.layers.filter((l) => l.weights.length > 0);
    layers.forEach((layer, k) => {
      const values = layer.getWeights();
      assert.equal(values.length, withWeights[k].weights.length);
      values.forEach((v, i) => {
        assert.deepEqual(v.shape, withWeights[k].weights[i].shape);
        assert.deepEqual(Array.from(v.dataSync()), Array.from(withWeights[k].weights[i].data), `${layer.name} weight ${i}`);
      });
    });
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reads layer_names split into numbered chunks', async () => {
  const dir = tempDir();
  const model = smallModel();
  try {
    const file = path.join(dir, 'chunked.h5');
    await writeKerasH5(file, smallFixture(), { chunkLayerNames: true });
    assert.equal((await loadWeightsFromH5(model, file)).layers, 4);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('rejects a file whose layer count, weight count or shapes differ, naming the file and layer, and assigns nothing', async () => {
  const dir = tempDir();
  const model = smallModel();
  try {
    const before = model.getWeights().map((t) => Array.from(t.dataSync()));
    const fewer = path.join(dir, 'fewer.h5');
    await writeKerasH5(fewer, smallFixture().slice(0, 3));
    await assert.rejects(loadWeightsFromH5(model, fewer), (err: unknown) => {
      assert.ok(err instanceof WeightsFormatError);
      assert.match(err.message, /Layer count mismatch when loading weights from .*fewer\.h5: the model has 4 layers with weights, the file has 2/);
      return true;
    });

    const countFixture = smallFixture();
    countFixture[2].weights = countFixture[2].weights.slice(0, 2);
    const count = path.join(dir, 'count.h5');
    await writeKerasH5(count, countFixture);
    await assert.rejects(loadWeightsFromH5(model, count), (err: unknown) => {
      assert.ok(err instanceof WeightsFormatError);
      assert.equal(err.layer, 'batch_normalization');
      assert.match(err.message, /Weight count mismatch for layer #1 \(named batch_normalization in the model, batch_normalization_1 in .*count\.h5\): the layer expects 3 weight\(s\), the file has 2/);
      return true;
    });

    const shapeFixture = smallFixture();
    shapeFixture[5].weights[0] = { name: 'kernel:0', shape: [4, 2], data: new Float32Array(8) };
    const shape = path.join(dir, 'shape.h5');
    await writeKerasH5(shape, shapeFixture);
    await assert.rejects(loadWeightsFromH5(model, shape), /Shape mismatch in layer #2 \(named dense in the model, dense_1 in .*shape\.h5\) for weight .*kernel: the model expects \[3, 2\], the file has \[4, 2\]/);

    await assert.rejects(loadWeightsFromH5(model, path.join(dir, 'missing.h5')), /Expected a Keras \.h5 weights file at .*missing\.h5 but no such file exists/);
    const after = model.getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(after, before);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('writes the fixture as Keras 2 (h5py) did: fixed-length null-padded ASCII names, empty float64 weight_names, backend and keras_version', async () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'small.h5');
    await writeKerasH5(file, smallFixture());
    const h5 = await loadH5wasm();
    const f = new h5.File(file, 'r');
    try {
      // H5T_STRING (3), fixed size = the longest name, NULLPAD (1), ASCII (0): numpy 'S26'.
      const fixed = (size: number, shape: number[]) => ({ type: 3, vlen: false, size, strpad: 1, cset: 0, shape });
      const pick = (m: Record<string, unknown> | undefined) => ({ type: m?.type, vlen: m?.vlen, size: m?.size, strpad: m?.strpad, cset: m?.cset, shape: m?.shape });
      assert.deepEqual(pick(f.attrs.layer_names.metadata), fixed('global_average_pooling2d_1'.length, [7]));
      assert.deepEqual(f.attrs.layer_names.value, smallFixture().map((l) => l.name));
      assert.deepEqual(pick(f.attrs.backend.metadata), fixed(10, []));
      assert.equal(f.attrs.backend.value, 'tensorflow');
      assert.equal(f.attrs.keras_version.value, '2.1.5');
      const bn = f.get('batch_normalization_1') as H5Group;
      assert.deepEqual(pick(bn.attrs.weight_names.metadata), fixed('batch_normalization_1/moving_variance:0'.length, [3]));
      assert.deepEqual(bn.attrs.weight_names.value, ['batch_normalization_1/beta:0', 'batch_normalization_1/moving_mean:0', 'batch_normalization_1/moving_variance:0']);
      const input = (f.get('input_1') as H5Group).attrs.weight_names;
      assert.deepEqual([input.metadata?.type, input.metadata?.size, input.metadata?.shape], [1, 8, [0]]); // H5T_FLOAT, 8 bytes, empty
    } finally {
      f.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reads space-padded fixed-length names (Fortran-style strings) without the padding', async () => {
  const dir = tempDir();
  const model = smallModel();
  try {
    const file = path.join(dir, 'spaces.h5');
    await writeKerasH5(file, smallFixture());
    const h5 = await loadH5wasm();
    const f = new h5.File(file, 'a', { libver: ['earliest', 'latest'] });
    try {
      const names = smallFixture().map((l) => l.name.padEnd(32, ' '));
      f.delete_attribute('layer_names');
      f.create_attribute('layer_names', names, [names.length], 'S32'); // h5wasm: Fortran string, SPACEPAD
      assert.equal(f.attrs.layer_names.metadata?.strpad, 2);
      assert.equal((f.attrs.layer_names.value as string[])[1], 'conv2d_1'.padEnd(32, ' '));
    } finally {
      f.close();
    }
    assert.equal((await loadWeightsFromH5(model, file)).layers, 4);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("InceptionV3 puts every value of a file written as Keras 2 saved it, in the order of Keras's own listing, into the right tensor", async () => {
  await tf.setBackend('cpu');
  const dir = tempDir();
  let model: tf.LayersModel | undefined;
  try {
    // The file's layers, names, weight names and shapes come from Keras 2's listing, not from our model.
    const fixture = kerasInceptionV3NotopLayers(fixtureValue);
    const file = path.join(dir, 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5');
    await writeKerasH5(file, fixture);
    model = await InceptionV3({ includeTop: false, weights: file, inputShape: [224, 224, 3] });
    const layers = model.layers.filter((l) => l.weights.length > 0);
    assert.equal(layers.length, 188); // 94 conv2d + 94 batch_normalization
    let values = 0;
    layers.forEach((layer, k) => {
      layer.weights.forEach((v, i) => {
        const data = v.read().dataSync();
        for (let j = 0; j < data.length; j++) {
          if (data[j] !== fixtureValue(k, i, j)) assert.fail(`${layer.name} ${v.originalName}[${j}] is ${data[j]}, expected ${fixtureValue(k, i, j)}`);
        }
        values += data.length;
      });
    });
    assert.equal(values, 21802784);
    // By name: the file's layer conv2d_N (Keras 2.0, 1-based) is our conv2d_{N-1}.
    const fileIndex = (name: string) => fixture.filter((l) => l.weights.length > 0).findIndex((l) => l.name === name);
    const first = (layer: string, weight: number) => model!.getLayer(layer).weights[weight].read().dataSync()[1];
    assert.equal(first('conv2d_5', 0), fixtureValue(fileIndex('conv2d_6'), 0, 1)); // mixed0 branch1x1
    assert.equal(first('conv2d_8', 0), fixtureValue(fileIndex('conv2d_9'), 0, 1)); // mixed0 branch3x3dbl, same shape
    assert.equal(first('conv2d_85', 0), fixtureValue(fileIndex('conv2d_86'), 0, 1)); // mixed10 branch1x1
    assert.equal(first('batch_normalization_93', 2), fixtureValue(fileIndex('batch_normalization_94'), 2, 1)); // moving_variance
    assert.deepEqual(
      model.getLayer('batch_normalization').weights.map((v) => v.originalName),
      ['batch_normalization/beta', 'batch_normalization/moving_mean', 'batch_normalization/moving_variance'],
    );

    // The same file with two same-shaped parallel layers swapped in layer_names: shapes agree, the Keras numbers do not.
    const names = readInceptionV3NotopListing().layers.map((l) => l.name);
    const [a, b] = [names.indexOf('conv2d_6'), names.indexOf('conv2d_9')];
    [names[a], names[b]] = [names[b], names[a]];
    await rewriteLayerNames(file, names);
    const before = first('conv2d_5', 0);
    await assert.rejects(loadWeightsFromH5(model, file), (err: unknown) => {
      assert.ok(err instanceof WeightsFormatError);
      assert.match(err.message, /^Layer order mismatch when loading weights from .*notop\.h5: the model's Conv2D layers #\d+ \(conv2d_\d+\) and #\d+ \(conv2d_\d+\) would receive/);
      assert.match(err.message, /Positions off the usual numbering \(file number = model number \+ 1\): #16 conv2d_5 <- conv2d_9, #10 conv2d_8 <- conv2d_6\./);
      return true;
    });
    assert.equal(first('conv2d_5', 0), before);
  } finally {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** input -> two parallel 1x1 convolutions of the same shape -> concatenate, named as Keras names them. */
function parallelModel(names: [string, string] = ['conv2d', 'conv2d_1']): tf.LayersModel {
  const input = tf.input({ shape: [4, 4, 2], name: 'input_layer' });
  const left = tf.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false, name: names[0] }).apply(input) as tf.SymbolicTensor;
  const right = tf.layers.conv2d({ filters: 3, kernelSize: 1, useBias: false, name: names[1] }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.concatenate({ name: 'concatenate' }).apply([left, right]) as tf.SymbolicTensor });
}

function parallelFixture(names: string[]): FixtureLayer[] {
  return names.map((name, k) => ({
    name,
    weights: name.startsWith('input') || name.startsWith('concatenate')
      ? []
      : [{ name: 'kernel:0', shape: [1, 1, 2, 3], data: Float32Array.from({ length: 6 }, (_, j) => fixtureValue(k, 0, j)) }],
  }));
}

test("refuses a file whose Keras layer numbers run in another order than the model's (swapped parallel branches); other names load as before", async () => {
  const dir = tempDir();
  const model = parallelModel();
  const other = parallelModel(['left', 'right']);
  try {
    const order = model.layers.map((l) => l.name);
    assert.deepEqual(order.filter((n) => n.startsWith('conv2d')), ['conv2d', 'conv2d_1']);
    const keras2 = (name: string) => ({ input_layer: 'input_1', conv2d: 'conv2d_1', conv2d_1: 'conv2d_2', concatenate: 'concatenate_1' })[name]!;
    const good = path.join(dir, 'good.h5');
    await writeKerasH5(good, parallelFixture(order.map(keras2)));
    assert.equal((await loadWeightsFromH5(model, good)).layers, 2);

    const swappedNames = order.map(keras2).map((n) => (n === 'conv2d_1' ? 'conv2d_2' : n === 'conv2d_2' ? 'conv2d_1' : n));
    const swapped = path.join(dir, 'swapped.h5');
    await writeKerasH5(swapped, parallelFixture(swappedNames));
    const before = model.getWeights().map((t) => Array.from(t.dataSync()));
    await assert.rejects(loadWeightsFromH5(model, swapped), (err: unknown) => {
      assert.ok(err instanceof WeightsFormatError);
      assert.equal(err.layer, 'conv2d');
      assert.match(
        err.message,
        /^Layer order mismatch when loading weights from .*swapped\.h5: the model's Conv2D layers #0 \(conv2d\) and #1 \(conv2d_1\) would receive the file's conv2d_2 and conv2d_1, but Keras numbers layers in creation order/,
      );
      return true;
    });
    assert.deepEqual(model.getWeights().map((t) => Array.from(t.dataSync())), before);

    // Where an order cannot be known it is not checked: custom names in the file, or in the model.
    const custom = path.join(dir, 'custom.h5');
    await writeKerasH5(custom, parallelFixture(['input_1', 'conv1', 'conv2', 'concatenate_1']));
    assert.equal((await loadWeightsFromH5(model, custom)).layers, 2);
    assert.equal((await loadWeightsFromH5(other, swapped)).layers, 2);
  } finally {
    model.dispose();
    other.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("refuses a file whose layer, by its Keras name, is of another class than the model's layer at its position, naming both", async () => {
  const dir = tempDir();
  const input = tf.input({ shape: [5, 5, 4] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2d' });
  const model = tf.model({ inputs: input, outputs: conv.apply(input) as tf.SymbolicTensor });
  try {
    const weights = [
      { name: 'kernel:0', shape: [3, 3, 4, 4], data: new Float32Array(144).fill(1) },
      { name: 'bias:0', shape: [4], data: new Float32Array(4).fill(2) },
    ];
    // A Conv2DTranspose with as many filters as input channels has exactly a Conv2D's shapes.
    const transpose = path.join(dir, 'transpose.h5');
    await writeKerasH5(transpose, [{ name: 'input_1', weights: [] }, { name: 'conv2d_transpose_1', weights }]);
    await assert.rejects(loadWeightsFromH5(model, transpose), (err: unknown) => {
      assert.ok(err instanceof WeightsFormatError);
      assert.equal(err.layer, 'conv2d');
      assert.match(
        err.message,
        /^Layer class mismatch for layer #0 when loading weights from .*transpose\.h5: the file's layer conv2d_transpose_1 holds Conv2DTranspose weights \(conv2d_transpose_1\/kernel:0, conv2d_transpose_1\/bias:0\), the model's layer conv2d is a Conv2D\./,
      );
      return true;
    });
    // A project-made file with its own layer names ('conv1/kernel:0') loads as before.
    const own = path.join(dir, 'own.h5');
    await writeKerasH5(own, [{ name: 'input_1', weights: [] }, { name: 'conv1', weights }]);
    assert.deepEqual(await loadWeightsFromH5(model, own), { layers: 1, weights: 2, parameters: 148 });
    assert.deepEqual(Array.from(conv.getWeights()[1].dataSync()), [2, 2, 2, 2]);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
