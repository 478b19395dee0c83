// Where the time of predictIterator over a folder goes (issue 7): per-stage wall time of one pass
// with the default engine (frozen prefix on ONNX Runtime, cold feature cache), against raw ONNX
// Runtime on in-memory tensors measured in the same process.
//
// Stages are timed by wrapping methods (no library change): decode (plan.load, from the call to the
// pixels), ORT (session.run), tail predict (the TailEngine: ONNX Runtime on the main thread), probabilities read back, cache put. Overlapping stages
// are reported as they are; "wall" is the whole call.
// Settings (environment): BENCH_BATCH (default 32), BENCH_IMAGES (default 64), BENCH_SIZE (224).
//
// Run: npx tsc -p tsconfig.test.json && node .build/bench/predict-stages.js
//      (add --cpu-prof --cpu-prof-dir=/tmp/prof for a V8 profile)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createFeatureCache, createOnnxPrefixEngine, FeatureCache, TailEngine } from '../src/acceleration';
import { ImageDataGenerator } from '../src/preprocessing';
import { DirectoryIterator } from '../src/preprocessing/directory-iterator';
import { initBackend } from '../src/runtime/backend';
import { predictIterator, splitFrozenPrefix } from '../src/training';
import { walkthroughModel } from '../test/training/walkthrough-model';
import { makeNoiseImageFolder } from './noise-folder';
import { envInt } from './env';

const BATCH = envInt('BENCH_BATCH', 32);
const IMAGES = envInt('BENCH_IMAGES', 64);
const SIZE = envInt('BENCH_SIZE', 224);
const ROUNDS = envInt('BENCH_ROUNDS', 2);

const totals = new Map<string, number>();
const t0 = performance.now();
const events: string[] = [];
function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const start = performance.now();
  return f().finally(() => {
    const end = performance.now();
    totals.set(name, (totals.get(name) ?? 0) + end - start);
    events.push(`${name.padEnd(8)} ${(start - t0).toFixed(0).padStart(7)} → ${(end - t0).toFixed(0).padStart(7)} ms (${(end - start).toFixed(0)})`);
  });
}

function instrument(model: tf.LayersModel): void {
  const it = DirectoryIterator.prototype as unknown as { nextPlan: (...a: unknown[]) => Promise<{ load: (p: number[]) => Promise<Float32Array> }> };
  const nextPlan = it.nextPlan;
  it.nextPlan = async function (this: unknown, ...a: unknown[]) {
    const plan = await nextPlan.apply(this, a);
    const load = plan.load;
    plan.load = (p) => timed('decode', () => load(p));
    return plan;
  };
  const fc = FeatureCache.prototype as unknown as { set: (...a: unknown[]) => Promise<void> };
  const set = fc.set;
  fc.set = function (this: unknown, ...a: unknown[]) {
    return timed('cacheput', () => set.apply(this, a));
  };
  const tail = TailEngine.prototype.predict;
  TailEngine.prototype.predict = function (this: TailEngine, inputs: tf.Tensor[]) { return timed('tail', () => tail.call(this, inputs)); };
  const tailData = TailEngine.prototype.predictData;
  TailEngine.prototype.predictData = function (this: TailEngine, inputs: Parameters<typeof tailData>[0]) { return timed('tail', () => tailData.call(this, inputs)); };
  const array = tf.Tensor.prototype.array;
  tf.Tensor.prototype.array = function (this: tf.Tensor) { return timed('readback', () => array.call(this)); } as typeof array;
  void model;
}

async function main(): Promise<void> {
  await initBackend({ quiet: true });
  const model = await walkthroughModel(SIZE);
  model.layers.slice(0, model.layers.length - 7 - 15).forEach((l) => (l.trainable = false));
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-stages-'));
  try {
    await makeNoiseImageFolder(dir, IMAGES);
    const gen = new ImageDataGenerator({ rescale: 1 / 255 });
    const flow = () => gen.flowFromDirectory(dir, { targetSize: [SIZE, SIZE], batchSize: BATCH, shuffle: false });
    const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
    // Engines: ONNX Runtime on the main thread vs in a worker thread (each with its own cache).
    const inThread = await createOnnxPrefixEngine(prefix, { cache: createFeatureCache(), worker: false });
    const inWorker = await createOnnxPrefixEngine(prefix, { cache: createFeatureCache() });
    const x = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const batches = Math.ceil(IMAGES / BATCH);
    const rawRun = async (): Promise<number> => {
      const t = performance.now();
      for (let i = 0; i < batches; i++) tf.dispose(await inWorker.predict(x));
      return (batches * BATCH) / ((performance.now() - t) / 1000);
    };
    await rawRun();
    await predictIterator(model, flow(), { prefixEngine: inThread }); // warm the tail
    instrument(model);
    const best = { raw: 0, thread: 0, worker: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      best.raw = Math.max(best.raw, await rawRun());
      for (const [name, engine] of [['thread', inThread], ['worker', inWorker]] as const) {
        (engine.cache as FeatureCache).clear();
        const run = (engine as unknown as { run: (...a: unknown[]) => Promise<unknown> }).run;
        (engine as unknown as { run: unknown }).run = function (this: unknown, ...a: unknown[]) { return timed('ort', () => run.apply(this, a)); };
        events.length = 0;
        totals.clear();
        const t = performance.now();
        await timed('wall', () => predictIterator(model, flow(), { prefixEngine: engine }));
        const rate = IMAGES / ((performance.now() - t) / 1000);
        best[name] = Math.max(best[name], rate);
        delete (engine as unknown as { run?: unknown }).run;
        if (round === ROUNDS - 1) console.log(events.filter((e) => !e.startsWith('cacheput')).join('\n'));
        console.log(`round ${round} ${name}: ${rate.toFixed(1)} img/s; totals (ms) ${JSON.stringify(Object.fromEntries([...totals].map(([k, v]) => [k, Math.round(v)])))}; load ${os.loadavg()[0]?.toFixed(1)}`);
      }
    }
    console.log(`best: raw ORT ${best.raw.toFixed(1)} img/s; predictIterator ORT on main thread ${best.thread.toFixed(1)} (${(best.thread / best.raw).toFixed(2)}×), in worker ${best.worker.toFixed(1)} (${(best.worker / best.raw).toFixed(2)}×)`);
    x.dispose();
    inThread.dispose();
    inWorker.dispose();
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
