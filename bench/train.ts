// Training-step throughput of the walkthrough model: InceptionV3 (no top) + the walkthrough's
// head, all but the last 15 base layers frozen, categorical crossentropy, Adam.
//
// Compares, on the same backend and in fresh processes (so peak RSS is per mode):
//   pure  — fit({ split: false }): the whole graph under the gradient tape (what TF.js's model.fit does);
//   split — fit({ accelerate: false }): the frozen prefix on TF.js in inference mode outside the
//           tape, only the tail differentiated. Both run on TF.js, so the ratio measures the split
//           alone; the ONNX Runtime prefix and the feature cache are measured by bench/accelerate.ts.
// Reports img/s over BENCH_STEPS timed steps (default 2) after one warm-up step, at BENCH_SIZE
// (default 224) with batch BENCH_BATCH (default 8; the walkthrough uses 32 — pass BENCH_BATCH=32
// where the backend is fast enough), peak RSS, and the ratio split/pure.
// Backend: TRANSFERLAB_BACKEND, else initBackend() from src/runtime/backend.
//
// Run: npx tsc -p tsconfig.test.json && node .build/bench/train.js
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { fit } from '../src/training/fit';
import { Callback } from '../src/training/callbacks/callback';
import type { Batch, BatchSource } from '../src/training/types';
import { envInt } from './env';

const SIZE = envInt('BENCH_SIZE', 224);
const BATCH = envInt('BENCH_BATCH', 8);
const STEPS = envInt('BENCH_STEPS', 2);

async function setupBackend(): Promise<string> {
  const wanted = process.env.TRANSFERLAB_BACKEND;
  if (wanted === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (wanted) await tf.setBackend(wanted);
  else await (require('../src/runtime/backend') as { initBackend: () => Promise<unknown> }).initBackend();
  await tf.ready();
  return tf.getBackend();
}

/** Builds the walkthrough model (or an Inception-like stand-in when InceptionV3 is unavailable). */
async function buildModel(): Promise<{ model: tf.LayersModel; name: string }> {
  try {
    const { walkthroughModel } = require('../test/training/walkthrough-model') as { walkthroughModel: (s: number) => Promise<tf.LayersModel> };
    const model = await walkthroughModel(SIZE);
    const baseCount = model.layers.length - 7; // the head: GAP, Flatten, Dense, Dropout, Dense, Dropout, Dense
    model.layers.slice(0, baseCount - 15).forEach((l) => (l.trainable = false));
    return { model, name: 'InceptionV3 notop + walkthrough head, base.layers[:-15] frozen' };
  } catch (err) {
    const input = tf.input({ shape: [SIZE, SIZE, 3] });
    let x = input as tf.SymbolicTensor;
    for (const f of [32, 64, 128, 192]) x = tf.layers.conv2d({ filters: f, kernelSize: 3, strides: 2, activation: 'relu', trainable: false }).apply(x) as tf.SymbolicTensor;
    const a = tf.layers.conv2d({ filters: 64, kernelSize: 1, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.concatenate().apply([a, b, x]) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ units: 4, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
    return { model: tf.model({ inputs: input, outputs: x }), name: `Inception-like stand-in (${(err as Error).message.slice(0, 60)})` };
  }
}

class RandomSource implements BatchSource {
  readonly length = STEPS + 1;
  async next(): Promise<Batch> {
    return tf.tidy(() => ({
      xs: tf.randomUniform([BATCH, SIZE, SIZE, 3], -1, 1, 'float32', 1),
      ys: tf.oneHot(tf.randomUniform([BATCH], 0, 4, 'int32', 2), 4).toFloat(),
    }));
  }
}

async function child(mode: 'pure' | 'split'): Promise<void> {
  const backend = await setupBackend();
  const { model, name } = await buildModel();
  model.compile({ optimizer: tf.train.adam(1e-4), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const times: number[] = [];
  let t0 = 0;
  class Timer extends Callback {
    override async onTrainBatchBegin(): Promise<void> {
      t0 = performance.now();
    }
    override async onTrainBatchEnd(): Promise<void> {
      times.push((performance.now() - t0) / 1000);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  await fit(model, new RandomSource(), { epochs: 1, verbose: 0, split: mode === 'split', accelerate: false, callbacks: [new Timer()] });
  clearInterval(sampler);
  // JS cannot sample during a synchronous step: take the kernel's high-water mark where available.
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
    if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
  } catch {
    // not Linux: keep the sampled value
  }
  const timed = times.slice(1);
  const seconds = timed.reduce((a, b) => a + b, 0);
  process.stdout.write(`${JSON.stringify({ mode, backend, model: name, warmupS: times[0], stepS: seconds / timed.length, imgPerS: (BATCH * timed.length) / seconds, peakRssMB: peak / 2 ** 20 })}\n`);
}

function main(): void {
  const results: Record<string, { imgPerS: number; peakRssMB: number; stepS: number; warmupS: number; backend: string; model: string }> = {};
  for (const mode of ['pure', 'split'] as const) {
    const r = spawnSync(process.execPath, [__filename, '--mode', mode], { encoding: 'utf8', env: process.env });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) {
      process.stderr.write(`${mode} run failed:\n${r.stderr}\n`);
      process.exit(1);
    }
    results[mode] = JSON.parse(line);
  }
  const { pure, split } = results;
  console.log(`train step, ${pure.model}, ${SIZE}x${SIZE}, batch ${BATCH}, ${STEPS} timed steps after 1 warm-up, backend ${pure.backend}`);
  for (const [mode, r] of Object.entries(results)) {
    console.log(`  ${mode.padEnd(5)}  ${r.imgPerS.toFixed(2)} img/s  (${r.stepS.toFixed(2)} s/step, warm-up ${r.warmupS.toFixed(1)} s)  peak RSS ${r.peakRssMB.toFixed(0)} MB`);
  }
  console.log(`  split/pure throughput ratio: ${(split.imgPerS / pure.imgPerS).toFixed(2)}x; peak RSS ratio: ${(split.peakRssMB / pure.peakRssMB).toFixed(2)}`);
}

const i = process.argv.indexOf('--mode');
if (i >= 0) void child(process.argv[i + 1] as 'pure' | 'split');
else main();
