import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createOnnxPrefixEngine } from '../../src/acceleration';
import { OnnxWorkerSession } from '../../src/acceleration/onnx-worker-session';
import { splitFrozenPrefix } from '../../src/training/prefix';
import { tinyModel } from '../training/helpers';
import { createRandom } from '../../src/util/random';
import { takeFloat32 } from '../../src/util/float-pool';

test.before(async () => { await tf.setBackend('cpu'); });

function images(n: number, size: number, seed: number): tf.Tensor4D {
  const rnd = createRandom(seed);
  return tf.tensor4d(Float32Array.from({ length: n * size * size * 3 }, () => rnd.uniform(-1, 1)), [n, size, size, 3]);
}

test('runs ONNX Runtime in a worker thread with the same outputs as on the main thread, leaving the input tensor intact', async () => {
  const model = tinyModel('multi', 3);
  const x = images(3, 8, 5);
  const before = Array.from(x.dataSync());
  const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
  const inWorker = await createOnnxPrefixEngine(prefix, { threads: 1 });
  const inThread = await createOnnxPrefixEngine(prefix, { threads: 1, worker: false });
  try {
    assert.equal(inWorker.inWorker, true);
    assert.equal(inThread.inWorker, false);
    assert.equal(inWorker.fingerprint, inThread.fingerprint);
    const a = await inWorker.predict(x);
    const b = await inThread.predict(x);
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.deepEqual(Array.from((a[i] as tf.Tensor).dataSync()), Array.from((b[i] as tf.Tensor).dataSync()));
    assert.deepEqual(Array.from(x.dataSync()), before, 'the input tensor was not detached by the transfer');
    tf.dispose([...a, ...b]);
    // The pixels sent to the worker come back as a spare buffer of the pool, which decoding takes again.
    const spare = takeFloat32(3 * 8 * 8 * 3);
    assert.equal(spare.length, 3 * 8 * 8 * 3);
    assert.deepEqual(Array.from(spare), before, 'the buffer the worker ran on, returned');
  } finally {
    inWorker.dispose();
    inThread.dispose();
    x.dispose();
    model.dispose();
  }
  await assert.rejects(inWorker.predict(images(1, 8, 3)), /disposed/);
});

test('a terminated worker rejects requests with a clear message', async () => {
  const session = OnnxWorkerSession.start();
  assert.ok(session, 'the compiled worker script is beside the module');
  session.terminate();
  assert.equal(session.alive, false);
  await assert.rejects(session.run(new Float32Array(3), [1, 3], ['y']), /ONNX Runtime worker session was terminated/);
});

test('an idle engine does not keep the process alive', () => {
  const script = `
    const tf = require('@tensorflow/tfjs');
    const { createOnnxPrefixEngine } = require(${JSON.stringify(path.join(__dirname, '../../src/acceleration'))});
    const { splitFrozenPrefix } = require(${JSON.stringify(path.join(__dirname, '../../src/training/prefix'))});
    const { tinyModel } = require(${JSON.stringify(path.join(__dirname, '../training/helpers'))});
    (async () => {
      await tf.setBackend('cpu');
      const engine = await createOnnxPrefixEngine(splitFrozenPrefix(tinyModel('multi', 3)).prefix, { threads: 1 });
      tf.dispose(await engine.predict(tf.zeros([1, 8, 8, 3])));
      console.log('inWorker=' + engine.inWorker);
    })();`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /inWorker=true/);
});
