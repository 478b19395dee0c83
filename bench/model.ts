// Forward throughput of the walkthrough model (InceptionV3 notop + the walkthrough's head).
//
// Measures images/second of `model.predict` at BENCH_SIZE x BENCH_SIZE (default 224) with batch
// BENCH_BATCH (default 8; the walkthrough trains with 32 — pass BENCH_BATCH=32 where the backend is
// fast enough) over BENCH_ITERS timed iterations (default 2) after one warm-up, on the backend named
// by TRANSFERLAB_BACKEND (or initBackend() from src/runtime/backend when present, else 'cpu').
// Baseline, same run and backend: the same model at batch 1. Peak RSS is reported too.
//
// Run: npx tsc -p tsconfig.test.json && node .build/bench/model.js
import * as tf from '@tensorflow/tfjs';
import { walkthroughModel } from '../test/training/walkthrough-model';
import { envInt } from './env';

let peakRss = 0;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

async function setupBackend(): Promise<string> {
  const wanted = process.env.TRANSFERLAB_BACKEND;
  if (wanted === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (wanted !== undefined && wanted !== '') {
    await tf.setBackend(wanted);
  } else {
    let init: (() => Promise<unknown>) | undefined;
    try {
      init = (require('../src/runtime/backend') as { initBackend?: () => Promise<unknown> }).initBackend;
    } catch {
      init = undefined;
    }
    if (init !== undefined) await init();
    else await tf.setBackend('cpu');
  }
  await tf.ready();
  return tf.getBackend();
}

async function imagesPerSecond(model: tf.LayersModel, batch: number, size: number, iterations: number): Promise<number> {
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1);
  try {
    const run = async () => {
      const y = model.predict(x, { batchSize: batch }) as tf.Tensor;
      await y.data();
      y.dispose();
      sample();
    };
    await run(); // warm-up
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return (batch * iterations) / seconds;
  } finally {
    x.dispose();
  }
}

async function main(): Promise<void> {
  const backend = await setupBackend();
  const size = envInt('BENCH_SIZE', 224);
  const batch = envInt('BENCH_BATCH', 8);
  const iterations = envInt('BENCH_ITERS', 2);
  const timer = setInterval(sample, 50);
  const model = await walkthroughModel(size);
  try {
    const baseline = await imagesPerSecond(model, 1, size, iterations);
    const measured = await imagesPerSecond(model, batch, size, iterations);
    sample();
    const rss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
    console.log(JSON.stringify({
      bench: 'model-forward',
      backend,
      size,
      batch,
      iterations,
      imagesPerSecond: Number(measured.toFixed(3)),
      baselineBatch1ImagesPerSecond: Number(baseline.toFixed(3)),
      ratioVsBatch1: Number((measured / baseline).toFixed(3)),
      peakRssMiB: Math.round(rss / 2 ** 20),
    }));
  } finally {
    clearInterval(timer);
    model.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
