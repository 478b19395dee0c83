import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, setWasmIm2colByteLimit } from '../../src/runtime/backend';
import { createRandom } from '../../src/util/random';

// Backend choice happens once per process (tfjs keeps its backends), so each choice is tested in a
// child process that loads the compiled module and prints its report as JSON.
const backendModule = path.join(__dirname, '..', '..', 'src', 'runtime', 'backend.js');

interface ChildResult { status: number | null; report?: Record<string, unknown>; stdout: string; stderr: string }

function runChild(body: string, env: Record<string, string | undefined> = {}, modulePath = backendModule): ChildResult {
  const script = `const b = require(${JSON.stringify(modulePath)});
const tf = require('@tensorflow/tfjs');
(async () => { ${body} })().catch((e) => { console.error('ERROR ' + e.name + ': ' + e.message); process.exit(3); });`;
  const childEnv: Record<string, string | undefined> = { ...process.env, TRANSFERLAB_BACKEND: undefined, TRANSFERLAB_THREADS: undefined, ...env };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const res = spawnSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..', '..'), env: childEnv as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000 });
  const jsonLine = res.stdout.split('\n').find((l) => l.startsWith('REPORT '));
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, report: jsonLine ? JSON.parse(jsonLine.slice(7)) : undefined };
}

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test('picks the best working backend and says why each better one was skipped', () => {
  const res = runChild(`const r = await b.initBackend({ quiet: true }); console.log('REPORT ' + JSON.stringify(r));`, { TRANSFERLAB_THREADS: '2' });
  assert.equal(res.status, 0, res.stderr);
  const report = res.report as { name: string; line: string; skipped: Array<{ name: string; reason: string }>; threads?: number; simd?: boolean };
  assert.match(report.line, new RegExp(`^Backend: ${report.name} \\(`));
  const order = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  assert.deepEqual(report.skipped.map((s) => s.name), order.slice(0, order.indexOf(report.name)).filter((n) => !(report.name === 'tensorflow' && n === 'tensorflow')));
  if (!installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node')) {
    assert.equal(report.name, 'wasm');
    assert.equal(report.simd, true);
    assert.equal(report.threads, 2);
    assert.equal(report.line,
      'Backend: wasm (SIMD, 2 threads) — skipped tfjs-node-gpu: not installed; tfjs-node: not installed (npm install @tensorflow/tfjs-node for native speed)');
  }
});

test('TRANSFERLAB_BACKEND=cpu forces the cpu backend and prints the line', () => {
  const res = runChild(`const r = await b.initBackend(); console.log('REPORT ' + JSON.stringify(r)); console.log('ACTIVE ' + tf.getBackend());`,
    { TRANSFERLAB_BACKEND: 'cpu' });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report?.name, 'cpu');
  assert.equal(res.report?.forcedBy, 'TRANSFERLAB_BACKEND=cpu');
  assert.match(res.stdout, /^Backend: cpu \(plain JavaScript, slow\) — forced by TRANSFERLAB_BACKEND=cpu$/m);
  assert.match(res.stdout, /^ACTIVE cpu$/m);
});

test('TRANSFERLAB_BACKEND=wasm with one thread uses the SIMD build and can train convolutions', () => {
  const res = runChild(`const r = await b.initBackend({ quiet: true });
const x = tf.randomNormal([2, 5, 5, 3]); const w = tf.variable(tf.randomNormal([3, 3, 3, 4]));
const g = tf.grad((v) => tf.conv2d(x, v, 1, 'same').sum())(w);
console.log('REPORT ' + JSON.stringify({ ...r, gradShape: g.shape, active: tf.getBackend() }));`, { TRANSFERLAB_BACKEND: 'wasm', TRANSFERLAB_THREADS: '1' });
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report?.name, 'wasm');
  assert.equal(res.report?.threads, 1);
  assert.equal(res.report?.simd, true);
  assert.deepEqual(res.report?.addedKernels, ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Slice', 'SplitV', 'Identity', 'Cast']);
  assert.deepEqual(res.report?.gradShape, [3, 3, 3, 4]);
  assert.equal(res.report?.active, 'wasm');
});

test('two wasm threads compute the same convolution as the cpu backend and let the process exit', () => {
  const res = runChild(`const r = await b.initBackend({ backend: 'wasm', threads: 2, quiet: true });
const x = tf.randomUniform([2, 17, 17, 8], -1, 1, 'float32', 1); const w = tf.randomUniform([3, 3, 8, 16], -1, 1, 'float32', 2);
const onWasm = tf.conv2d(x, w, 1, 'same').dataSync();
await tf.setBackend('cpu');
const onCpu = tf.conv2d(tf.tensor(x.arraySync()), tf.tensor(w.arraySync()), 1, 'same').dataSync();
let maxDiff = 0; for (let i = 0; i < onCpu.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onCpu[i] - onWasm[i]));
console.log('REPORT ' + JSON.stringify({ ...r, maxDiff }));`);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report?.threads, 2);
  assert.match(String(res.report?.line), /^Backend: wasm \(SIMD, 2 threads\) — forced by initBackend/);
  assert.ok((res.report?.maxDiff as number) < 1e-4, `max difference ${res.report?.maxDiff}`);
});

test('a threaded wasm start that fails falls back to one SIMD thread and says why', () => {
  // A copy of the compiled library whose pthread worker script throws, as a broken install would.
  const compiledSrc = path.join(__dirname, '..', '..', 'src');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-backend-'));
  try {
    fs.cpSync(compiledSrc, path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'runtime', 'wasm', 'pthread-worker.js'), "throw new Error('broken worker');\n");
    const res = runChild(`const r = await b.initBackend({ backend: 'wasm', threads: 2, quiet: true });
console.log('REPORT ' + JSON.stringify({ ...r, sum: tf.sum(tf.tensor([1, 2, 3])).dataSync()[0] }));`,
    { NODE_PATH: path.resolve(require.resolve('@tensorflow/tfjs/package.json'), '..', '..', '..') }, path.join(dir, 'src', 'runtime', 'backend.js'));
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.report?.threads, 1);
    assert.equal(res.report?.sum, 6);
    assert.deepEqual(res.report?.notes, ['multi-threaded wasm failed to initialize: Error: broken worker; using 1 thread']);
    assert.match(String(res.report?.line), /^Backend: wasm \(SIMD, 1 thread\) — forced by .* — note: multi-threaded wasm failed to initialize: Error: broken worker; using 1 thread$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown TRANSFERLAB_BACKEND value is an error listing the valid ones', () => {
  const res = runChild(`await b.initBackend({ quiet: true });`, { TRANSFERLAB_BACKEND: 'gpu' });
  assert.equal(res.status, 3);
  assert.match(res.stderr, /ERROR BackendError: Expected one of 'tensorflow-gpu', 'tfjs-node-gpu', 'tensorflow', 'tfjs-node', 'wasm', 'cpu', 'auto' for TRANSFERLAB_BACKEND but received 'gpu'/);
});

test('a forced backend whose package is missing is an error saying how to install it', { skip: installed('@tensorflow/tfjs-node') }, () => {
  const res = runChild(`await b.initBackend({ quiet: true });`, { TRANSFERLAB_BACKEND: 'tfjs-node' });
  assert.equal(res.status, 3);
  assert.match(res.stderr, /ERROR BackendError: Backend 'tensorflow' was requested \(TRANSFERLAB_BACKEND=tfjs-node\) but cannot be used: @tensorflow\/tfjs-node: not installed\. Install it \(npm install @tensorflow\/tfjs-node\)/);
});

test('a second call returns the same report and a conflicting one is refused', () => {
  const res = runChild(`const r1 = await b.initBackend({ backend: 'cpu', quiet: true });
const r2 = await b.initBackend();
let message = ''; try { await b.initBackend({ backend: 'wasm' }); } catch (e) { message = e.name + ': ' + e.message; }
console.log('REPORT ' + JSON.stringify({ same: r1 === r2 && b.backendReport() === r1, message, described: b.describeBackend() }));`);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report?.same, true);
  assert.match(String(res.report?.message), /^BackendError: The backend is already initialized \(cpu \(plain JavaScript, slow\)\) and cannot change within one process/);
  assert.match(String(res.report?.described), /^Backend: cpu /);
});

test('an invalid thread count is an error', () => {
  const res = runChild(`await b.initBackend({ quiet: true });`, { TRANSFERLAB_BACKEND: 'wasm', TRANSFERLAB_THREADS: '1.5' });
  assert.equal(res.status, 3);
  assert.match(res.stderr, /Expected positive integer for TRANSFERLAB_THREADS but received '1.5'/);
});

// ---- wasm training kernels, in this process (stock single-thread wasm) against the cpu backend ----

interface ConvCase { name: string; x: number[]; f: number[]; strides: number | [number, number]; pad: 'same' | 'valid' }
const convCases: ConvCase[] = [
  { name: '1x1 valid stride 1', x: [2, 6, 6, 5], f: [1, 1, 5, 7], strides: 1, pad: 'valid' },
  { name: '1x1 same stride 1 (many channels in)', x: [3, 5, 5, 40], f: [1, 1, 40, 6], strides: 1, pad: 'same' },
  { name: '1x1 same stride 2', x: [2, 7, 7, 4], f: [1, 1, 4, 3], strides: 2, pad: 'same' },
  { name: '3x3 same stride 1', x: [2, 6, 5, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 valid stride 2', x: [3, 9, 9, 3], f: [3, 3, 3, 5], strides: 2, pad: 'valid' },
  { name: '3x3 same stride 2', x: [2, 8, 7, 2], f: [3, 3, 2, 6], strides: 2, pad: 'same' },
  { name: '1x7 and 7x1 same', x: [2, 9, 9, 3], f: [1, 7, 3, 2], strides: 1, pad: 'same' },
  { name: '7x1 same', x: [2, 9, 9, 3], f: [7, 1, 3, 2], strides: 1, pad: 'same' },
];

function seeded(shape: number[], seed: number): number[] {
  const rng = createRandom(seed);
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1));
}

async function filterGrad(backend: string, c: ConvCase, xs: number[], fs: number[], dys?: number[]): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
    const f = tf.tensor4d(fs, c.f as [number, number, number, number]);
    const g = tf.grad((w: tf.Tensor) => {
      const y = tf.conv2d(x, w as tf.Tensor4D, c.strides, c.pad);
      return dys === undefined ? tf.sum(tf.square(y)) : tf.sum(tf.mul(y, tf.tensor(dys, y.shape)));
    })(f);
    return g.dataSync() as Float32Array;
  });
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length);
  let scale = 1e-6;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-4 * scale, `${what}: element ${i}: ${actual[i]} vs ${expected[i]} (scale ${scale})`);
  }
}

test('the wasm Conv2DBackpropFilter kernel matches the cpu backend for Inception-style convolutions', async () => {
  registerWasmTrainingKernels();
  for (const [i, c] of convCases.entries()) {
    const xs = seeded(c.x, 10 + i);
    const fs = seeded(c.f, 20 + i);
    const expected = await filterGrad('cpu', c, xs, fs);
    const actual = await filterGrad('wasm', c, xs, fs);
    assertClose(actual, expected, c.name);
  }
});

async function inputGrad(backend: string, c: ConvCase, xs: number[], fs: number[]): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x as [number, number, number, number]);
    const f = tf.tensor4d(fs, c.f as [number, number, number, number]);
    const g = tf.grad((input: tf.Tensor) => tf.sum(tf.square(tf.conv2d(input as tf.Tensor4D, f, c.strides, c.pad))))(x);
    return g.dataSync() as Float32Array;
  });
}

test('the wasm Conv2DBackpropInput kernel matches the cpu backend (stride 1 as a forward convolution, strided cases on the stock kernel)', async () => {
  registerWasmTrainingKernels();
  for (const [i, c] of convCases.entries()) {
    const xs = seeded(c.x, 30 + i);
    const fs = seeded(c.f, 40 + i);
    assertClose(await inputGrad('wasm', c, xs, fs), await inputGrad('cpu', c, xs, fs), c.name);
  }
});

test('the wasm BatchMatMul with transposed operands matches the cpu backend, whichever operand the plan transposes', async () => {
  registerWasmTrainingKernels();
  // [a shape, b shape, transposeA, transposeB]: Dense-gradient shapes where transposing the
  // operand is cheaper, and ones where transposing the other operand and the result is.
  const cases: Array<[[number, number], [number, number], boolean, boolean]> = [
    [[6, 40], [6, 9], true, false], // dW = xᵀ·dy: transposes a
    [[40, 3], [40, 30], true, false], // (bᵀ·a)ᵀ: transposes b and the result
    [[6, 9], [40, 9], false, true], // dx = dy·Wᵀ with a big W: (W·dyᵀ)ᵀ
    [[30, 40], [3, 40], false, true], // transposes b
    [[7, 5], [4, 7], true, true], // (b·a)ᵀ
    [[40, 30], [2, 40], true, true],
    [[5, 7], [7, 4], false, false], // stock kernel
  ];
  for (const [i, [as, bs, ta, tb]] of cases.entries()) {
    const av = seeded(as, 50 + i);
    const bv = seeded(bs, 60 + i);
    const product = async (backend: string): Promise<{ shape: number[]; values: Float32Array }> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const c = tf.matMul(tf.tensor2d(av, as), tf.tensor2d(bv, bs), ta, tb);
        return { shape: c.shape, values: c.dataSync() as Float32Array };
      });
    };
    const expected = await product('cpu');
    const actual = await product('wasm');
    assert.deepEqual(actual.shape, expected.shape, `case ${i}`);
    assertClose(actual.values, expected.values, `case ${i} (${as} ${ta ? 'T' : ''} × ${bs} ${tb ? 'T' : ''})`);
  }
  await tf.setBackend('wasm');
  const a = tf.randomNormal([6, 40]);
  const b = tf.randomNormal([6, 9]);
  try {
    tf.tidy(() => tf.matMul(a, b, true, false).dataSync());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => tf.matMul(a, b, true, false).dataSync());
    assert.equal(tf.memory().numTensors, before);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('the wasm Slice and SplitV copy exactly the cpu backend\'s blocks, for every dtype and axis', async () => {
  registerWasmTrainingKernels();
  const shape = [3, 4, 5, 6];
  const values = Array.from({ length: 360 }, (_, i) => i);
  const slices: Array<[number[], number[]]> = [
    [[0, 0, 0, 0], [3, 4, 5, 6]], [[1, 0, 0, 0], [1, 4, 5, 6]], [[0, 1, 0, 0], [3, 2, 5, 6]], [[0, 0, 0, 2], [3, 4, 5, 3]],
    [[2, 3, 4, 5], [1, 1, 1, 1]], [[1, 1, 2, 1], [2, 2, 3, 4]], [[0, 0, 1, 0], [3, 4, 0, 6]],
  ];
  const on = async (backend: string, dtype: 'float32' | 'int32' | 'bool'): Promise<number[][]> => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor4d(values.map((v) => (dtype === 'bool' ? v % 3 : v)), shape as [number, number, number, number], dtype);
      const parts = slices.map(([b, s]) => Array.from(tf.slice(x, b, s).dataSync()));
      for (const axis of [0, 1, 2, 3, -1]) {
        const sizes = axis === 0 ? [1, 2] : [1, -1];
        for (const p of tf.split(x, sizes, axis)) parts.push(Array.from(p.dataSync()), p.shape);
        for (const p of tf.split(tf.slice(x, [0, 1, 0, 0], [3, 2, 5, 6]), 2, 1)) parts.push(Array.from(p.dataSync()));
      }
      return parts;
    });
  };
  for (const dtype of ['float32', 'int32', 'bool'] as const) assert.deepEqual(await on('wasm', dtype), await on('cpu', dtype), dtype);
  await tf.setBackend('wasm');
  const s = tf.tensor1d(['a', 'b', 'c']);
  try {
    assert.deepEqual(tf.tidy(() => tf.slice(s, [1], [2]).arraySync()), ['b', 'c'], 'strings go to the stock kernel');
  } finally {
    s.dispose();
  }
});

test('the wasm Identity and same-dtype Cast share their input\'s storage, which outlives either tensor', async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  const before = tf.memory();
  const x = tf.tensor2d([1.5, -2, 3, 4], [2, 2]);
  const copy = tf.clone(x);
  const same = tf.cast(x, 'float32');
  const ints = tf.cast(x, 'int32');
  try {
    const m = tf.memory();
    assert.equal(m.numDataBuffers - before.numDataBuffers, 2, 'x, identity and same-dtype cast share one buffer; the int32 cast has its own');
    x.dispose();
    assert.deepEqual(copy.arraySync(), [[1.5, -2], [3, 4]]);
    copy.dispose();
    assert.deepEqual(same.arraySync(), [[1.5, -2], [3, 4]], 'still readable after the other two are disposed');
    assert.deepEqual(ints.arraySync(), [[1, -2], [3, 4]], 'a dtype change is a real cast');
    assert.deepEqual(tf.tidy(() => tf.clone(tf.tensor1d(['a', 'b'])).arraySync()), ['a', 'b'], 'strings go to the stock kernel');
  } finally {
    tf.dispose([x, copy, same, ints]);
  }
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numDataBuffers, before.numDataBuffers, 'the shared buffer is freed with its last tensor');
  assert.equal(after.numBytes, before.numBytes);
});

test('the wasm filter gradient is the same when the batch is split into chunks', async () => {
  registerWasmTrainingKernels();
  const c = convCases[3];
  const xs = seeded(c.x, 5);
  const fs = seeded(c.f, 6);
  const whole = await filterGrad('wasm', c, xs, fs);
  const previous = setWasmIm2colByteLimit(1); // one image per chunk
  try {
    assertClose(await filterGrad('wasm', c, xs, fs), whole, 'chunked');
  } finally {
    setWasmIm2colByteLimit(previous);
  }
});

test('the wasm training kernels do not leak tensors', async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  const c = convCases[2];
  const x = tf.randomNormal(c.x);
  const f = tf.randomNormal(c.f);
  try {
    const run = () => tf.tidy(() => tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')))(f).dataSync());
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    assert.equal(tf.memory().numTensors, before);
  } finally {
    x.dispose();
    f.dispose();
  }
});

test('gradients of a small Inception-style model agree between wasm and cpu', async () => {
  registerWasmTrainingKernels();
  const build = () => {
    const input = tf.input({ shape: [9, 9, 4] });
    const bnRelu = (t: tf.SymbolicTensor) =>
      tf.layers.activation({ activation: 'relu' }).apply(tf.layers.batchNormalization({}).apply(t)) as tf.SymbolicTensor;
    const conv = (t: tf.SymbolicTensor, filters: number, k: number, strides: number, padding: 'same' | 'valid') =>
      bnRelu(tf.layers.conv2d({ filters, kernelSize: k, strides, padding, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: filters * 10 + k }) }).apply(t) as tf.SymbolicTensor);
    const a = conv(input, 3, 1, 1, 'same');
    const b = conv(input, 3, 3, 1, 'same');
    const p = tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(input) as tf.SymbolicTensor;
    const m = tf.layers.concatenate().apply([a, b, p]) as tf.SymbolicTensor;
    const d = conv(m, 4, 3, 2, 'valid');
    const e = tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(m) as tf.SymbolicTensor;
    const g = tf.layers.globalAveragePooling2d({}).apply(tf.layers.concatenate().apply([d, e])) as tf.SymbolicTensor;
    const h = tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(g) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  };
  const xs = seeded([4, 9, 9, 4], 7);
  const labels = [0, 1, 2, 1];
  const gradsOn = async (backend: string): Promise<Float32Array[]> => {
    await tf.setBackend(backend);
    const model = build();
    try {
      return tf.tidy(() => {
        const x = tf.tensor4d(xs, [4, 9, 9, 4]);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
        const { grads } = tf.variableGrads(() =>
          tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar);
        return model.trainableWeights.map((w) => grads[w.name].dataSync() as Float32Array);
      });
    } finally {
      model.dispose();
    }
  };
  const expected = await gradsOn('cpu');
  const actual = await gradsOn('wasm');
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assertClose(actual[i], e, `variable ${i}`));
});
