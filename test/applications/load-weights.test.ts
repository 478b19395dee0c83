import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InceptionV3, loadWeightsFromH5, WeightsFormatError } from '../../src/applications';
import { batchNormalization } from '../../src/layers';
import { fixtureValue, writeKerasH5, type FixtureLayer } from './h5-fixture';

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

test('InceptionV3 at 75x75 takes every weight of a Keras-layout file in order', async () => {
  await tf.setBackend('cpu');
  const dir = tempDir();
  let model: tf.LayersModel | undefined;
  try {
    const reference = await InceptionV3({ includeTop: false, weights: null, inputShape: [75, 75, 3] });
    // The file, as Keras 2.0 saved it: its own 1-based names, weights in layer order.
    let k = 0;
    const fixture: FixtureLayer[] = reference.layers.map((layer) => {
      const weighted = layer.weights.length > 0;
      const entry: FixtureLayer = {
        name: `${layer.name}_saved`,
        weights: layer.weights.map((v, i) => {
          const n = v.shape.reduce<number>((a, d) => a * (d as number), 1);
          return { name: `${v.originalName.split('/').pop()}:0`, shape: v.shape as number[], data: new Float32Array(n).fill(k * 10 + i + 1) };
        }),
      };
      if (weighted) k++;
      return entry;
    });
    reference.dispose();
    const file = path.join(dir, 'inception_v3_notop_fixture.h5');
    await writeKerasH5(file, fixture);

    model = await InceptionV3({ includeTop: false, weights: file, inputShape: [75, 75, 3] });
    const layers = model.layers.filter((l) => l.weights.length > 0);
    assert.equal(layers.length, 188); // 94 conv2d + 94 batch_normalization
    layers.forEach((layer, kk) => {
      layer.weights.forEach((v, i) => {
        const data = v.read().dataSync();
        const expected = kk * 10 + i + 1;
        assert.equal(data[0], expected, `${layer.name} ${v.originalName}`);
        assert.equal(data[data.length - 1], expected, `${layer.name} ${v.originalName}`);
      });
    });
    assert.deepEqual(
      layers[1].weights.map((v) => v.originalName),
      ['batch_normalization/beta', 'batch_normalization/moving_mean', 'batch_normalization/moving_variance'],
    );
  } finally {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
