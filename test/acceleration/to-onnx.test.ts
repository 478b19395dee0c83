import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { emitOnnx, OnnxConversionError, toOnnx } from '../../src/acceleration';
import { onnxModelSource } from '../../src/acceleration/onnx-model-file';
import { BatchNormalization as TransferlabBatchNormalization } from '../../src/layers';
import { createRandom } from '../../src/util/random';

/** Gives every weight of the model seeded values; BN variances stay positive, γ near 1. */
function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const rnd = createRandom(seed);
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      const size = w.shape.reduce((a, b) => (a as number) * (b as number), 1) as number;
      const data = new Float32Array(size);
      const name = w.name;
      for (let i = 0; i < size; i++) {
        if (name.includes('moving_variance')) data[i] = 0.5 + rnd.next();
        else if (name.includes('gamma')) data[i] = 0.5 + rnd.next();
        else data[i] = (rnd.next() - 0.5) * 0.8;
      }
      return tf.tensor(data, w.shape as number[]);
    });
    if (values.length) layer.setWeights(values);
    tf.dispose(values);
  }
}

async function compare(model: tf.LayersModel, inputShape: number[], seed: number): Promise<number> {
  const bytes = toOnnx(model);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  try {
    const rnd = createRandom(seed);
    const x = Float32Array.from({ length: inputShape.reduce((a, b) => a * b, 1) }, () => rnd.next());
    const expected = tf.tidy(() => (model.predict(tf.tensor(x, inputShape)) as tf.Tensor).dataSync().slice());
    const result = await session.run({ [session.inputNames[0] as string]: new ort.Tensor('float32', x, inputShape) });
    const out = result[session.outputNames[0] as string] as ort.Tensor;
    const expectedShape = (model.outputs[0]!.shape as Array<number | null>).map((d) => d ?? inputShape[0]);
    assert.deepEqual([...out.dims], expectedShape);
    const actual = out.data as Float32Array;
    assert.equal(actual.length, expected.length);
    const scale = Math.max(1, ...Array.from(expected, Math.abs));
    let worst = 0;
    for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)) / scale);
    return worst;
  } finally {
    await session.release();
  }
}

test.before(async () => { await tf.setBackend('cpu'); });

test('an Inception-style block with folded batch norm matches tfjs on onnxruntime', async () => {
  const input = tf.input({ shape: [9, 9, 3], name: 'image' });
  const conv1 = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv1' }).apply(input) as tf.SymbolicTensor;
  const bn1 = tf.layers.batchNormalization({ scale: false, epsilon: 1e-3, name: 'bn1' }).apply(conv1) as tf.SymbolicTensor;
  const act1 = tf.layers.activation({ activation: 'relu', name: 'relu1' }).apply(bn1) as tf.SymbolicTensor;
  const b1 = tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'relu', name: 'b1x1' }).apply(act1) as tf.SymbolicTensor;
  const b2 = tf.layers.conv2d({ filters: 4, kernelSize: [1, 3], padding: 'valid', name: 'b1x3' }).apply(act1) as tf.SymbolicTensor;
  const b2n = new TransferlabBatchNormalization({ name: 'b1x3_bn' }).apply(b2) as tf.SymbolicTensor;
  const b2s = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'b3x3' }).apply(act1) as tf.SymbolicTensor;
  const b3 = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avg' }).apply(act1) as tf.SymbolicTensor;
  const b4 = tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'max' }).apply(act1) as tf.SymbolicTensor;
  const mixed = tf.layers.concatenate({ axis: -1, name: 'mixed0' }).apply([b1, b2s, b3, b4]) as tf.SymbolicTensor;
  const pooled = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: 'pool' }).apply(mixed) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(pooled) as tf.SymbolicTensor;
  const d1 = tf.layers.dense({ units: 8, activation: 'relu', name: 'dense1' }).apply(gap) as tf.SymbolicTensor;
  const dr = tf.layers.dropout({ rate: 0.3, name: 'drop' }).apply(d1) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, activation: 'softmax', name: 'predictions' }).apply(dr) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [out], name: 'mini_inception' });
  // The valid 1x3 conv with the custom BN is a second output so that it is converted too.
  const side = tf.model({ inputs: input, outputs: b2n, name: 'side' });
  randomizeWeights(model, 1);
  randomizeWeights(side, 2);
  const names = Buffer.from(toOnnx(model)).toString('latin1');
  assert.ok(!names.includes('bn1/mul') && names.includes('conv1/W'), 'bn1 is folded into conv1');
  const before = tf.memory().numTensors;
  const err = await compare(model, [2, 9, 9, 3], 3);
  assert.ok(err < 1e-4, `relative error ${err}`);
  const errSide = await compare(side, [1, 9, 9, 3], 4);
  assert.ok(errSide < 1e-4, `relative error (rank-4 output, custom BN) ${errSide}`);
  assert.equal(tf.memory().numTensors, before, 'conversion and comparison leak no tensors');
  model.dispose();
});

test('Flatten keeps Keras NHWC order and a standalone batch norm becomes Mul+Add', async () => {
  const input = tf.input({ shape: [4, 5, 2] });
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: [1, 2], padding: 'valid', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({}).apply(c) as tf.SymbolicTensor; // after a relu conv: not folded
  const f = tf.layers.flatten().apply(bn) as tf.SymbolicTensor;
  const bn2 = tf.layers.batchNormalization({ center: false }).apply(f) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, useBias: false }).apply(bn2) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  randomizeWeights(model, 5);
  const err = await compare(model, [3, 4, 5, 2], 6);
  assert.ok(err < 1e-4, `relative error ${err}`);
  model.dispose();
});

test("asymmetric 'same' padding (even sizes, stride 2) matches Keras for conv, max and average pooling", async () => {
  const input = tf.input({ shape: [8, 6, 2] });
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const a = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const m = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const out = tf.layers.concatenate().apply([c, a, m]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  randomizeWeights(model, 7);
  const err = await compare(model, [2, 8, 6, 2], 8);
  assert.ok(err < 1e-4, `relative error ${err}`);
  model.dispose();
});

test('the model declares IR version 8 and opset 17 and keeps Keras input names', async () => {
  const input = tf.input({ shape: [2], name: 'features' });
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1, name: 'y' }).apply(input) as tf.SymbolicTensor });
  const bytes = toOnnx(model);
  assert.deepEqual([...bytes.slice(0, 2)], [0x08, 8], 'field 1 (ir_version) = 8 first');
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  assert.deepEqual(session.inputNames, ['features']);
  assert.deepEqual(session.outputNames, ['y:out']);
  await session.release();
  model.dispose();
});

test('unsupported layers fail with OnnxConversionError naming the layer', () => {
  const input = tf.input({ shape: [4, 4, 1] });
  const up = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: up });
  assert.throws(() => toOnnx(model), (e: unknown) => e instanceof OnnxConversionError && e.layerName === 'up' && /^Cannot convert layer 'up' \(UpSampling2D\) to ONNX: layer class not supported; supported: InputLayer, Conv2D/.test(e.message));
  model.dispose();
});

test('converts a model whose layers are also called in another model (the tail of a split), and refuses a layer called twice inside it', async () => {
  const input = tf.input({ shape: [6, 6, 2] });
  const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c' });
  const bn = new TransferlabBatchNormalization({ name: 'bn' });
  const dense = tf.layers.dense({ units: 2, activation: 'softmax', name: 'd' });
  const first = tf.model({ inputs: input, outputs: dense.apply(tf.layers.flatten({ name: 'f' }).apply(bn.apply(conv.apply(input)))) as tf.SymbolicTensor });
  randomizeWeights(first, 5);
  // A second model re-applying the same layer objects to a new input: each layer now has two calls.
  const again = tf.input({ shape: [6, 6, 2] });
  const second = tf.model({ inputs: again, outputs: dense.apply(tf.layers.flatten({ name: 'f2' }).apply(bn.apply(conv.apply(again)))) as tf.SymbolicTensor });
  assert.equal((conv as unknown as { inboundNodes: unknown[] }).inboundNodes.length, 2);
  assert.ok((await compare(second, [2, 6, 6, 2], 3)) <= 1e-5);
  assert.ok((await compare(first, [2, 6, 6, 2], 4)) <= 1e-5);
  // The same layer twice inside one model is still refused.
  const x = tf.input({ shape: [4] });
  const shared = tf.layers.dense({ units: 4, name: 'shared' });
  const twice = tf.model({ inputs: x, outputs: shared.apply(shared.apply(x)) as tf.SymbolicTensor });
  assert.throws(() => toOnnx(twice), (e: unknown) => e instanceof OnnxConversionError && e.layerName === 'shared' && /called more than once/.test(e.message));
});

test('emitOnnx streams the same bytes as toOnnx, and onnxModelSource writes them to a file it removes (bytes in memory without a temporary directory)', async () => {
  const input = tf.input({ shape: [6, 6, 3] });
  let y = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'bn1' }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(y) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  randomizeWeights(model, 11);
  const whole = toOnnx(model);
  const pieces: Uint8Array[] = [];
  const size = emitOnnx(model, (chunk) => pieces.push(chunk.slice()));
  assert.equal(size, whole.length);
  assert.ok(pieces.length > 10, 'handed out in pieces');
  assert.deepEqual(Buffer.concat(pieces), Buffer.from(whole));
  const fingerprint = createHash('sha256').update(whole).digest('hex').slice(0, 32);

  const source = onnxModelSource(model);
  assert.equal(typeof source.model, 'string');
  const file = source.model as string;
  assert.deepEqual(fs.readFileSync(file), Buffer.from(whole));
  assert.equal(source.fingerprint, fingerprint);
  const session = await ort.InferenceSession.create(file);
  assert.deepEqual(session.outputNames, ['out:out']);
  await session.release();
  source.dispose();
  source.dispose();
  assert.equal(fs.existsSync(path.dirname(file)), false, 'the temporary directory is gone');

  const saved = process.env.TMPDIR;
  process.env.TMPDIR = path.join(os.tmpdir(), 'transferlab-no-such-dir', 'deeper');
  try {
    const inMemory = onnxModelSource(model);
    assert.ok(inMemory.model instanceof Uint8Array);
    assert.deepEqual(Buffer.from(inMemory.model as Uint8Array), Buffer.from(whole));
    assert.equal(inMemory.fingerprint, fingerprint);
    inMemory.dispose();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  model.dispose();
});

test('onnxModelSource refuses an unconvertible layer without leaving a temporary directory behind', () => {
  const input = tf.input({ shape: [4, 4, 1] });
  const model = tf.model({ inputs: input, outputs: tf.layers.upSampling2d({ size: [2, 2], name: 'up2' }).apply(input) as tf.SymbolicTensor });
  // A temporary directory of this test's own: other test files build engines (and their files) concurrently.
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-own-tmp-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = own;
  try {
    assert.throws(() => onnxModelSource(model), (e: unknown) => e instanceof OnnxConversionError && e.layerName === 'up2');
    assert.deepEqual(fs.readdirSync(own), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    fs.rmSync(own, { recursive: true, force: true });
  }
  model.dispose();
});
