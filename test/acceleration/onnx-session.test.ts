import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { onnxModelSource } from '../../src/acceleration/onnx-model-file';
import { createLeanSession } from '../../src/acceleration/onnx-session';

function convNet(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  let y = tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  y = tf.layers.conv2d({ filters: 8, kernelSize: 1, name: 'c2', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y });
}

test('a two-pass (optimized file) session computes what a one-pass session does, and removes its optimized file', async () => {
  const model = convNet();
  const source = onnxModelSource(model);
  const file = source.model as string;
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const lean = await createLeanSession(ort, file, options);
  const plain = await ort.InferenceSession.create(file, options);
  try {
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['model.onnx'], 'no optimized file left');
    const x = Float32Array.from({ length: 2 * 12 * 12 * 3 }, (_, i) => Math.sin(i));
    const run = async (s: ort.InferenceSession) => (await s.run({ [s.inputNames[0] as string]: new ort.Tensor('float32', x, [2, 12, 12, 3]) }))[s.outputNames[0] as string]!.data as Float32Array;
    const a = await run(lean);
    const b = await run(plain);
    assert.equal(a.length, 2 * 12 * 12 * 8);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    assert.ok(worst < 1e-5, `max difference ${worst}`);
  } finally {
    await lean.release();
    await plain.release();
    source.dispose();
    model.dispose();
  }
});

test('a two-pass session on a file ONNX Runtime cannot read fails with ONNX Runtime\'s error and leaves nothing behind', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-lean-'));
  const file = path.join(dir, 'broken.onnx');
  fs.writeFileSync(file, Buffer.from('not a model'));
  try {
    await assert.rejects(createLeanSession(ort, file, { graphOptimizationLevel: 'all' }), (e: unknown) => e instanceof Error && e.message.length > 0);
    assert.deepEqual(fs.readdirSync(dir), ['broken.onnx']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
