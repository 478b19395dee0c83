/**
 * Backend speed: forward img/s of the InceptionV3 stem (the five convolutions and two poolings
 * before mixed0, 224×224) on the cpu backend (baseline, batch 1), wasm with 1 thread and wasm with
 * N threads (batch 8); forward img/s of a whole InceptionV3-shaped network built with tf.layers
 * (random weights) on wasm 1 thread and N threads; and the time of the wasm Conv2DBackpropFilter
 * kernel for mixed9/mixed10-sized convolutions, as a ratio to the forward convolution.
 * Ratios are against wasm 1 thread measured in the same run; peak RSS is per child process.
 *
 * Each configuration runs in its own child process (a process can start the wasm backend once).
 * Usage: npx tsc -p tsconfig.test.json && node .build/bench/backend.js [--threads N] [--quick]
 *   --quick skips the whole-network figures.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend';

interface Result {
  config: string;
  threads: number;
  stemImgPerSec?: number;
  inceptionImgPerSec?: number;
  gradMs?: Array<{ name: string; forwardMs: number; filterGradMs: number }>;
  peakRssMb: number;
}

type Tensor = tf.SymbolicTensor;

function convBn(x: Tensor, filters: number, kh: number, kw: number, strides = 1, padding: 'same' | 'valid' = 'same'): Tensor {
  const c = tf.layers.conv2d({ filters, kernelSize: [kh, kw], strides, padding, useBias: false }).apply(x) as Tensor;
  const b = tf.layers.batchNormalization({ axis: 3, scale: false }).apply(c) as Tensor;
  return tf.layers.activation({ activation: 'relu' }).apply(b) as Tensor;
}

const maxPool = (x: Tensor, strides = 2, padding: 'same' | 'valid' = 'valid') =>
  tf.layers.maxPooling2d({ poolSize: 3, strides, padding }).apply(x) as Tensor;
const avgPool = (x: Tensor) => tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Tensor;
const concat = (xs: Tensor[]) => tf.layers.concatenate({ axis: 3 }).apply(xs) as Tensor;

/** The InceptionV3 stem (Keras inception_v3.py up to the second max pool). */
function stem(input: Tensor): Tensor {
  let x = convBn(input, 32, 3, 3, 2, 'valid');
  x = convBn(x, 32, 3, 3, 1, 'valid');
  x = convBn(x, 64, 3, 3);
  x = maxPool(x);
  x = convBn(x, 80, 1, 1, 1, 'valid');
  x = convBn(x, 192, 3, 3, 1, 'valid');
  return maxPool(x);
}

/** An InceptionV3-shaped network (same layers as Keras's, random weights, no top). */
function inceptionV3(input: Tensor): Tensor {
  let x = stem(input);
  for (const poolFilters of [32, 64, 64]) {
    x = concat([
      convBn(x, 64, 1, 1),
      convBn(convBn(x, 48, 1, 1), 64, 5, 5),
      convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3),
      convBn(avgPool(x), poolFilters, 1, 1),
    ]);
  }
  x = concat([
    convBn(x, 384, 3, 3, 2, 'valid'),
    convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, 'valid'),
    maxPool(x),
  ]);
  for (const c of [128, 160, 160, 192]) {
    x = concat([
      convBn(x, 192, 1, 1),
      convBn(convBn(convBn(x, c, 1, 1), c, 1, 7), 192, 7, 1),
      convBn(convBn(convBn(convBn(convBn(x, c, 1, 1), c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7),
      convBn(avgPool(x), 192, 1, 1),
    ]);
  }
  x = concat([
    convBn(convBn(x, 192, 1, 1), 320, 3, 3, 2, 'valid'),
    convBn(convBn(convBn(convBn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 2, 'valid'),
    maxPool(x),
  ]);
  for (let i = 0; i < 2; i++) {
    const b3 = convBn(x, 384, 1, 1);
    const bd = convBn(convBn(x, 448, 1, 1), 384, 3, 3);
    x = concat([
      convBn(x, 320, 1, 1),
      concat([convBn(b3, 384, 1, 3), convBn(b3, 384, 3, 1)]),
      concat([convBn(bd, 384, 1, 3), convBn(bd, 384, 3, 1)]),
      convBn(avgPool(x), 192, 1, 1),
    ]);
  }
  return tf.layers.globalAveragePooling2d({}).apply(x) as Tensor;
}

/** Reads a tensor's values (as a caller would) and disposes it. */
function readAndDispose(t: tf.Tensor): void {
  t.dataSync();
  t.dispose();
}

/** Forward img/s of `build` at batch `batch`: `warmup` untimed runs, then `runs` timed ones. */
function forwardImgPerSec(build: (input: Tensor) => Tensor, batch: number, warmup: number, runs: number): number {
  const input = tf.input({ shape: [224, 224, 3] });
  const model = tf.model({ inputs: input, outputs: build(input) });
  const x = tf.randomUniform([batch, 224, 224, 3]);
  try {
    // Read back outside tf.tidy: a typed array returned from tidy is walked element by element
    // (about 1 µs per element), which would dominate the figure.
    const once = () => readAndDispose(tf.tidy(() => model.predict(x) as tf.Tensor));
    for (let i = 0; i < warmup; i++) once();
    const start = performance.now();
    for (let i = 0; i < runs; i++) once();
    return (batch * runs) / ((performance.now() - start) / 1000);
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** Milliseconds of a forward conv and of its filter gradient (median of 3) for one shape. */
function filterGradTiming(name: string, xShape: [number, number, number, number], filterShape: [number, number, number, number]) {
  const x = tf.randomUniform(xShape) as tf.Tensor4D;
  const w = tf.randomUniform(filterShape) as tf.Tensor4D;
  const dy = tf.tidy(() => tf.conv2d(x, w, 1, 'same'));
  const median = (f: () => void) => {
    f();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      f();
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[1];
  };
  try {
    const forwardMs = median(() => readAndDispose(tf.conv2d(x, w, 1, 'same')));
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape };
    const filterGrad = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    const filterGradMs = median(() => readAndDispose(filterGrad()));
    return { name, forwardMs, filterGradMs };
  } finally {
    tf.dispose([x, w, dy]);
  }
}

async function child(config: string, threads: number, quick: boolean): Promise<void> {
  const report = await initBackend({ backend: config === 'cpu' ? 'cpu' : 'wasm', threads, quiet: true });
  const result: Result = { config, threads: report.threads ?? 1, peakRssMb: 0 };
  if (config === 'cpu') {
    result.stemImgPerSec = forwardImgPerSec(stem, 1, 0, 1);
  } else {
    result.stemImgPerSec = forwardImgPerSec(stem, 8, 1, 3);
    if (!quick) result.inceptionImgPerSec = forwardImgPerSec(inceptionV3, 8, 1, 2);
    result.gradMs = [
      filterGradTiming('1x1 2048->320 at 5x5, batch 32', [32, 5, 5, 2048], [1, 1, 2048, 320]),
      filterGradTiming('3x3 448->384 at 5x5, batch 32', [32, 5, 5, 448], [3, 3, 448, 384]),
      filterGradTiming('3x3 64->96 at 25x25, batch 8', [8, 25, 25, 64], [3, 3, 64, 96]),
    ];
  }
  result.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log('RESULT ' + JSON.stringify(result));
}

function main(): void {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const threadsIdx = args.indexOf('--threads');
  const threads = threadsIdx >= 0 ? Number(args[threadsIdx + 1]) : Math.max(1, os.availableParallelism());
  const childIdx = args.indexOf('--child');
  if (childIdx >= 0) {
    void child(args[childIdx + 1], threads, quick);
    return;
  }
  const results: Result[] = [];
  for (const [config, n] of [['cpu', 1], ['wasm', 1], ['wasm', threads]] as const) {
    const res = spawnSync(process.execPath, [__filename, '--child', config, '--threads', String(n), ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8', env: { ...process.env, TRANSFERLAB_BACKEND: undefined }, timeout: 600_000,
    });
    const line = res.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (line === undefined) {
      console.error(`${config} ${n} failed (exit ${res.status}):\n${res.stderr}`);
      continue;
    }
    results.push(JSON.parse(line.slice(7)) as Result);
  }
  const base = results.find((r) => r.config === 'wasm' && r.threads === 1);
  const ratio = (v?: number, b?: number) => (v !== undefined && b !== undefined ? `${(v / b).toFixed(2)}×` : '-');
  console.log(`machine: ${os.cpus().length} logical cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('config          stem img/s  vs wasm-1   inception img/s  vs wasm-1   peak RSS');
  for (const r of results) {
    const label = `${r.config} ${r.threads} thread${r.threads === 1 ? '' : 's'}`.padEnd(16);
    console.log(`${label}${(r.stemImgPerSec?.toFixed(2) ?? '-').padStart(10)}  ${ratio(r.stemImgPerSec, base?.stemImgPerSec).padStart(8)}` +
      `   ${(r.inceptionImgPerSec?.toFixed(2) ?? '-').padStart(14)}  ${ratio(r.inceptionImgPerSec, base?.inceptionImgPerSec).padStart(8)}   ${r.peakRssMb} MB`);
  }
  for (const r of results.filter((x) => x.gradMs !== undefined)) {
    for (const g of r.gradMs ?? []) {
      console.log(`wasm ${r.threads}t filter gradient ${g.name}: ${g.filterGradMs.toFixed(1)} ms (forward conv ${g.forwardMs.toFixed(1)} ms, ratio ${(g.filterGradMs / g.forwardMs).toFixed(2)})`);
    }
  }
}

main();
