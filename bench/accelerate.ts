// Speed of the frozen prefix on ONNX Runtime (issue 7), measured in one process tree.
//
// Each phase runs in its own child process (so its peak RSS is its own):
//   tfjs     the walkthrough's train step (InceptionV3 notop 224×224, all but the last 15 base layers
//            frozen, GAP→Flatten→Dense512→Dropout→Dense512→Dropout→Dense4) with `fit(..., { accelerate: false })`
//            on the backend initBackend() picks — the baseline (a);
//   onnx     the same step with the default engine (frozen prefix on ONNX Runtime) — (b); the raw
//            frozen prefix on the same batches just before and after the timed steps, in the same
//            process (the goal's "÷ raw prefix", against their mean); also checks the prefix
//            outputs against TF.js at full size;
//   torch    the same model and freezing in PyTorch (Debian python3-torch), when importable — (c):
//            bench/walkthrough.py step (Keras's last-15-layers freezing mapped onto torchvision's
//            Mixed_7c; 1,708,676 trainable parameters on both sides), 2 threads, channels-last;
//   peak     the physical limit: the machine's fp32 matmul peak (ONNX Runtime Gemm here, torch.mm in
//            walkthrough.py) and the model's FLOPs per image (bench/limits.ts), so every rate also
//            reads as GFLOP/s and as a fraction of that peak;
//   predict  predictIterator over a folder of PNGs (decoding included, cold cache) vs raw ONNX Runtime
//            running the whole model on in-memory tensors (every session warmed alike; each
//            prediction pass between raw passes on both sides, ratios taken within the round,
//            medians of the rounds), over BENCH_IMAGES and over a folder the size of the
//            walkthrough's test folder (BENCH_TEST_IMAGES), and a validation epoch (evaluate) cold
//            vs warm feature cache, vs pure TF.js;
//   epoch-cache, epoch-nocache  two epochs of the walkthrough's fit on the full-size phantom (613
//            augmented training images, 72 validation images) with and without the feature cache
//            (skip with BENCH_EPOCHS=0).
// Settings (environment): BENCH_BATCH (default 32, the walkthrough's), BENCH_STEPS timed train
// steps after one warm-up step (default 3), BENCH_IMAGES images in the folder (default 64),
// BENCH_TEST_IMAGES images in the second folder (default 315, the walkthrough's test folder; 0 skips it),
// BENCH_ROUNDS interleaved prediction/raw rounds whose medians are reported (default 5),
// BENCH_SIZE (default 224), BENCH_WORKERS image threads for prediction (default: the iterator's),
// BENCH_TENSOR_SOURCE=1 (train batches as tensors instead of pixels through the source's planner).
// Weights are random (weights: null): speed does not depend on them.
//
// Run: npx tsc -p tsconfig.test.json && node .build/bench/accelerate.js
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { autoPrefixEngine, createOnnxPrefixEngine, defaultFeatureCache } from '../src/acceleration';
import { ImageDataGenerator, type BatchPlanner } from '../src/preprocessing';
import { initBackend } from '../src/runtime/backend';
import { evaluate, fit, predictIterator, splitFrozenPrefix, type Batch, type BatchSource, type PrefixEngine } from '../src/training';
import { walkthroughModel } from '../test/training/walkthrough-model';
import { makeNoiseImageFolder } from './noise-folder';
import { chestCtPhantom } from '../src/data/phantom';
import { Callback } from '../src/training/callbacks/callback';
import { envInt } from './env';
import { gflop, modelFlops, ofPeak, ortMatmulPeak, type ModelFlops } from './limits';
import { parseResult, runTorch, TORCH_MISSING, torchAvailable } from './torch-peer';

const BATCH = envInt('BENCH_BATCH', 32);
const STEPS = envInt('BENCH_STEPS', 3);
const IMAGES = envInt('BENCH_IMAGES', 64);
const TEST_IMAGES = envInt('BENCH_TEST_IMAGES', 315);
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const SIZE = envInt('BENCH_SIZE', 224);

type Result = Record<string, number | string>;

function emit(result: Result): void {
  result.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

async function walkthrough(): Promise<tf.LayersModel> {
  const model = await walkthroughModel(SIZE);
  const baseLayers = model.layers.length - 7; // the head adds 7 layers
  model.layers.slice(0, baseLayers - 15).forEach((l) => (l.trainable = false));
  model.compile({ optimizer: tf.train.adam(1e-4), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/**
 * Random images and labels, in memory (augmented training batches: not cacheable). Like a
 * `DirectoryIterator` (and `arraySource`), the source is its own planner, so the engine gets the
 * pixels without a tensor it would copy back out of TF.js; BENCH_TENSOR_SOURCE=1 hands tensors
 * only (what a custom BatchSource without a planner costs).
 */
class RandomSource implements BatchSource {
  readonly length = STEPS;
  readonly deterministic = false;
  readonly planner: BatchPlanner | null;
  private readonly pixels: Float32Array;
  private step = 0;
  constructor() {
    this.pixels = new Float32Array(BATCH * SIZE * SIZE * 3);
    let s = 1;
    for (let i = 0; i < this.pixels.length; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      this.pixels[i] = s / 2147483648;
    }
    const per = SIZE * SIZE * 3;
    this.planner = process.env.BENCH_TENSOR_SOURCE === '1' ? null : {
      imageShape: [SIZE, SIZE, 3],
      deterministic: false,
      preprocessingKey: 'random',
      nextPlan: async () => ({
        indices: Array.from({ length: BATCH }, (_, i) => i),
        filepaths: Array.from({ length: BATCH }, (_, i) => `random#${i}`),
        ys: this.labels(),
        load: async (positions: number[]) => {
          const out = new Float32Array(positions.length * per);
          positions.forEach((p, k) => out.set(this.pixels.subarray(p * per, (p + 1) * per), k * per));
          return out;
        },
      }),
    };
  }
  private labels(): tf.Tensor {
    const labels = Array.from({ length: BATCH }, (_, i) => (i + this.step++) % 4);
    return tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 4).toFloat());
  }
  async next(): Promise<Batch> {
    return { xs: tf.tensor4d(this.pixels, [BATCH, SIZE, SIZE, 3]), ys: this.labels() };
  }
}

async function trainPhase(accelerate: boolean): Promise<void> {
  const report = await initBackend({ quiet: true });
  const model = await walkthrough();
  const source = new RandomSource();
  let t = performance.now();
  await fit(model, source, { epochs: 1, stepsPerEpoch: 1, verbose: 0, accelerate, seed: 1 }); // warm-up (and engine build)
  const warmupS = (performance.now() - t) / 1000;
  // With acceleration, the raw frozen prefix runs on the same batches just before and just after
  // the timed steps, in this process, on the engine fit uses (its ONNX Runtime session), fed the
  // same way (pixels from the source's planner, prefix outputs as arrays, no tail, no cache): the
  // goal's "train step ÷ raw prefix" is then taken within the run, against the mean of the two.
  const engine = accelerate ? await autoPrefixEngine(model, splitFrozenPrefix(model).prefix, source, { verbose: false }) : undefined;
  const rawPrefixRate = async (): Promise<number> => {
    const planner = source.planner;
    if (engine?.predictPixelsData === undefined || planner === null) return NaN;
    const start = performance.now();
    for (let i = 0; i < STEPS; i++) {
      const plan = await planner.nextPlan({});
      plan.ys?.dispose();
      await engine.predictPixelsData({ size: plan.filepaths.length, imageShape: planner.imageShape, load: plan.load });
    }
    return (BATCH * STEPS) / ((performance.now() - start) / 1000);
  };
  const rawBefore = await rawPrefixRate();
  t = performance.now();
  const history = await fit(model, source, { epochs: 1, stepsPerEpoch: STEPS, verbose: 0, accelerate, seed: 2 });
  const seconds = (performance.now() - t) / 1000;
  const result: Result = { phase: accelerate ? 'onnx' : 'tfjs', backend: report.line.replace(/ — .*/, ''), imgPerS: (BATCH * STEPS) / seconds, warmupS, loss: (history.history.loss as number[])[0] as number };
  // The train step's own peak (the prefix check below builds a second engine).
  result.stepPeakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  if (accelerate) {
    const rawAfter = await rawPrefixRate();
    result.rawPrefixBefore = rawBefore;
    result.rawPrefixAfter = rawAfter;
    result.vsRawPrefix = (result.imgPerS as number) / ((rawBefore + rawAfter) / 2);
  }
  if (accelerate) {
    // Full-size check of the prefix outputs against TF.js.
    const split = splitFrozenPrefix(model);
    const prefix = split.prefix as tf.LayersModel;
    const engine = await createOnnxPrefixEngine(prefix);
    const x = tf.randomUniform([2, SIZE, SIZE, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const a = await engine.predict(x);
    const b = tf.tidy(() => prefix.apply(x, { training: false }) as tf.Tensor[]);
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      const av = await (a[i] as tf.Tensor).data();
      const bv = await (b[i] as tf.Tensor).data();
      let scale = 1e-6;
      let diff = 0;
      for (let j = 0; j < bv.length; j++) {
        scale = Math.max(scale, Math.abs(bv[j] as number));
        diff = Math.max(diff, Math.abs((av[j] as number) - (bv[j] as number)));
      }
      worst = Math.max(worst, diff / scale);
    }
    tf.dispose([x, ...a, ...b]);
    engine.dispose();
    result.cutTensors = split.cutTensors.length;
    result.prefixLayers = split.prefixLayerCount;
    result.maxRelDiff224 = worst;
  }
  emit(result);
}

function median(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The rounds' ratios against the faster raw configuration (the one with the lower median ratio), as printed. */
function goalRatios(vs8: number[], vsBatch: number[]): string {
  const [name, values] = median(vs8) <= median(vsBatch) ? ['chunks of 8', vs8] : ['one call', vsBatch];
  return `${values.map((r) => r.toFixed(3)).join(' ')} (raw in ${name}; against the other: ${(name === 'one call' ? vs8 : vsBatch).map((r) => r.toFixed(3)).join(' ')})`;
}

async function predictPhase(): Promise<void> {
  const report = await initBackend({ quiet: true });
  const model = await walkthrough();
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-bench-'));
  const testDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-bench-test-'));
  try {
    await makeNoiseImageFolder(dir, IMAGES);
    if (TEST_IMAGES > 0) await makeNoiseImageFolder(testDir, TEST_IMAGES);
    const gen = new ImageDataGenerator({ rescale: 1 / 255 });
    const workers = process.env.BENCH_WORKERS === undefined ? undefined : Number(process.env.BENCH_WORKERS);
    const flow = (folder = dir) => gen.flowFromDirectory(folder, { targetSize: [SIZE, SIZE], batchSize: BATCH, shuffle: false, verbose: false, workers });
    const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
    const engine = (await autoPrefixEngine(model, prefix, undefined, { verbose: false })) as PrefixEngine;
    // Raw ONNX Runtime on in-memory tensors, no decoding, no cache: the whole model (what prediction
    // computes) in chunks of 8 and in one call per batch, and the prefix alone (the default engine).
    // (A separate copy of the model with the same weights: splitting re-applies the tail layers of `model`.)
    const whole = await walkthroughModel(SIZE);
    whole.layers.forEach((l, i) => (l.trainable = (model.layers[i] as tf.layers.Layer).trainable)); // same weight order
    whole.setWeights(model.getWeights());
    const rawWhole8 = await createOnnxPrefixEngine(whole, { chunkSize: 8 });
    const rawWholeBatch = await createOnnxPrefixEngine(whole, { chunkSize: BATCH });
    const x = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const rawRate = async (e: PrefixEngine, images = IMAGES): Promise<number> => {
      const batches = Math.ceil(images / BATCH);
      const t0 = performance.now();
      for (let i = 0; i < batches; i++) tf.dispose(await e.predict(x));
      return (batches * BATCH) / ((performance.now() - t0) / 1000);
    };
    for (const e of [engine, rawWhole8, rawWholeBatch]) for (let i = 0; i < 2; i++) tf.dispose(await e.predict(x)); // ONNX Runtime's first runs are slow: warm every session alike
    const predictRate = async (folder = dir, images = IMAGES): Promise<number> => {
      defaultFeatureCache().clear();
      const it = flow(folder);
      const t0 = performance.now();
      await predictIterator(model, it);
      const rate = images / ((performance.now() - t0) / 1000);
      it.dispose();
      return rate;
    };
    // The first call of the process pays the image threads' start and the tail's first TF.js run.
    const firstCall = await predictRate();
    // Each prediction pass sits in the middle of a symmetric bracket of raw passes over as many
    // images, both raw configurations on each side (chunks of 8, one call, prediction, one call,
    // chunks of 8). Each configuration's two passes are equally far from the prediction in time,
    // so their mean cancels a steady drift of the machine's speed; the ratio against that mean is
    // taken within the round, per configuration, and the goal's ratio is the lower of the two
    // configurations' medians (the faster raw). Comparing against the larger of two single raw
    // passes instead would also pick the luckier sample of noise: that older estimator is printed
    // beside it, for continuity with earlier runs.
    const rounds = { predict: [] as number[], whole8: [] as number[], wholeBatch: [] as number[], prefix: [] as number[], testPredict: [] as number[] };
    const ratios = { small8: [] as number[], smallBatch: [] as number[], test8: [] as number[], testBatch: [] as number[], testLegacy: [] as number[] };
    const bracketed = async (folder: string, images: number): Promise<{ rate: number; vs8: number; vsBatch: number; w8: number[]; wB: number[] }> => {
      const w8 = [await rawRate(rawWhole8, images)];
      const wB = [await rawRate(rawWholeBatch, images)];
      const rate = await predictRate(folder, images);
      wB.push(await rawRate(rawWholeBatch, images));
      w8.push(await rawRate(rawWhole8, images));
      const mean = (v: number[]): number => ((v[0] as number) + (v[1] as number)) / 2;
      return { rate, vs8: rate / mean(w8), vsBatch: rate / mean(wB), w8, wB };
    };
    for (let round = 0; round < ROUNDS; round++) {
      const small = await bracketed(dir, IMAGES);
      rounds.predict.push(small.rate);
      rounds.whole8.push(...small.w8);
      rounds.wholeBatch.push(...small.wB);
      ratios.small8.push(small.vs8);
      ratios.smallBatch.push(small.vsBatch);
      rounds.prefix.push(await rawRate(engine));
      if (TEST_IMAGES > 0) {
        // The walkthrough's test folder: the same pass, amortizing its start and end over 10 batches.
        const test = await bracketed(testDir, TEST_IMAGES);
        rounds.testPredict.push(test.rate);
        ratios.test8.push(test.vs8);
        ratios.testBatch.push(test.vsBatch);
        // The older estimator: the prediction ÷ the larger of the raw passes just before and after.
        ratios.testLegacy.push(test.rate / Math.max(test.w8[0] as number, test.wB[1] as number));
      }
    }
    x.dispose();
    rawWhole8.dispose();
    rawWholeBatch.dispose();
    // Validation epochs: cold, then warm cache; then pure TF.js.
    defaultFeatureCache().clear();
    const it = flow();
    let t = performance.now();
    await evaluate(model, it);
    const coldS = (performance.now() - t) / 1000;
    t = performance.now();
    await evaluate(model, it);
    const warmS = (performance.now() - t) / 1000;
    t = performance.now();
    await evaluate(model, it, { accelerate: false });
    const tfjsS = (performance.now() - t) / 1000;
    emit({
      phase: 'predict', backend: report.line.replace(/ — .*/, ''), rounds: ROUNDS,
      predictFirstImgPerS: firstCall, predictImgPerS: median(rounds.predict),
      rawWhole8ImgPerS: median(rounds.whole8), rawWholeBatchImgPerS: median(rounds.wholeBatch), rawPrefixImgPerS: median(rounds.prefix),
      predictRatio: Math.min(median(ratios.small8), median(ratios.smallBatch)), predictRatios: goalRatios(ratios.small8, ratios.smallBatch),
      ...(TEST_IMAGES > 0
        ? { testPredictImgPerS: median(rounds.testPredict), testRatio: Math.min(median(ratios.test8), median(ratios.testBatch)), testRatios: goalRatios(ratios.test8, ratios.testBatch), testLegacyRatio: median(ratios.testLegacy) }
        : {}),
      valColdS: coldS, valWarmS: warmS, valTfjsS: tfjsS, cache: JSON.stringify(defaultFeatureCache().stats),
    });
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
    await fs.promises.rm(testDir, { recursive: true, force: true });
  }
}

/**
 * Two epochs of the walkthrough's fit on the full-size phantom (613 training images augmented as in
 * the walkthrough, 72 validation images), with the feature cache (default engine) or without it
 * (an ONNX Runtime engine with cache: false). Epoch and validation wall times per epoch.
 */
async function epochPhase(withCache: boolean): Promise<void> {
  const report = await initBackend({ quiet: true });
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-epoch-'));
  try {
    const data = await chestCtPhantom({ dest: dir, zip: false, splits: ['train', 'valid'], quiet: true });
    const model = await walkthrough();
    const train = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true })
      .flowFromDirectory(path.join(data.root, 'train'), { targetSize: [SIZE, SIZE], batchSize: BATCH, seed: 1, verbose: false });
    const valid = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(path.join(data.root, 'valid'), { targetSize: [SIZE, SIZE], batchSize: BATCH, shuffle: false, verbose: false });
    const prefix = splitFrozenPrefix(model).prefix as tf.LayersModel;
    const engine = withCache ? undefined : await createOnnxPrefixEngine(prefix, { cache: false });
    const epochS: number[] = [];
    const valS: number[] = [];
    let epochStart = 0;
    let valStart = 0;
    class Clock extends Callback {
      override async onEpochBegin(): Promise<void> { epochStart = performance.now(); }
      override async onTestBegin(): Promise<void> { valStart = performance.now(); }
      override async onTestEnd(): Promise<void> { valS.push((performance.now() - valStart) / 1000); }
      override async onEpochEnd(): Promise<void> { epochS.push((performance.now() - epochStart) / 1000); }
    }
    await fit(model, train, { epochs: 2, validationData: valid, verbose: 0, seed: 1, prefixEngine: engine, callbacks: [new Clock()] });
    engine?.dispose();
    emit({ phase: withCache ? 'epoch-cache' : 'epoch-nocache', backend: report.line.replace(/ — .*/, ''), trainImages: train.samples, validImages: valid.samples, epoch1S: epochS[0] as number, epoch2S: epochS[1] as number, val1S: valS[0] as number, val2S: valS[1] as number });
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}


function child(args: string[]): Result | string {
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return parseResult(`${res.stdout ?? ''}`, `${res.stderr ?? ''}`, res.status, res.signal) as Result | string;
}

/** The machine's fp32 matmul peak on ONNX Runtime and the walkthrough model's FLOPs per image (bench/limits.ts). */
async function peakPhase(): Promise<void> {
  await initBackend({ quiet: true });
  const peak = await ortMatmulPeak();
  const model = await walkthrough();
  const flops = modelFlops(model, splitFrozenPrefix(model).prefixLayerCount);
  emit({ phase: 'peak', backend: peak.backend, peakGflops: peak.peakGflops, gflops: JSON.stringify(peak.gflops), flops: JSON.stringify(flops) });
}

async function main(): Promise<void> {
  const phase = process.argv[2];
  if (phase === 'tfjs' || phase === 'onnx') return trainPhase(phase === 'onnx');
  if (phase === 'predict') return predictPhase();
  if (phase === 'epoch-cache' || phase === 'epoch-nocache') return epochPhase(phase === 'epoch-cache');
  if (phase === 'peak') return peakPhase();
  const f = (v: unknown, d = 2) => (typeof v === 'number' ? v.toFixed(d) : String(v));
  console.log(`accelerate bench: ${SIZE}x${SIZE}, batch ${BATCH}, ${STEPS} timed train steps after 1 warm-up, ${IMAGES} images for prediction; ${os.availableParallelism()} cores, load ${os.loadavg()[0]?.toFixed(1)}`);
  // The physical limit, measured in this run: fp32 matmul peak (ONNX Runtime Gemm, torch.mm) and the model's FLOPs per image.
  const pk = child([__filename, 'peak']);
  const torchOk = torchAvailable();
  const torchPeak = torchOk ? runTorch(['peak']) : TORCH_MISSING;
  const peak = Math.max(typeof pk === 'string' ? 0 : (pk.peakGflops as number), typeof torchPeak === 'string' ? 0 : (torchPeak.peakGflops as number));
  const flops = typeof pk === 'string' ? undefined : (JSON.parse(pk.flops as string) as ModelFlops);
  if (typeof pk === 'string') console.log(`matmul peak: ${pk}`);
  else {
    console.log(`matmul peak (fp32, 2 threads): ONNX Runtime Gemm ${f(pk.peakGflops, 1)} GFLOP/s ${pk.gflops}; torch.mm ${typeof torchPeak === 'string' ? torchPeak : `${f(torchPeak.peakGflops, 1)} GFLOP/s`}; limit used: ${f(peak, 1)} GFLOP/s`);
    const fl = flops as ModelFlops;
    console.log(`FLOPs per image: forward ${gflop(fl.forward)} (frozen prefix ${gflop(fl.prefix.forward)}, tail ${gflop(fl.tail.forward)}); train step ${gflop(fl.train)} (tail backward ${gflop(fl.tail.backward)}) → limit ${f((peak * 1e9) / fl.train, 1)} img/s training, ${f((peak * 1e9) / fl.forward, 1)} img/s prediction`);
  }
  const ofLimit = (imgPerS: number, perImage: number): string => (flops && peak > 0 ? `; ${ofPeak(imgPerS, perImage, peak)}` : '');
  const a = child([__filename, 'tfjs']);
  const b = child([__filename, 'onnx']);
  const c = torchOk ? runTorch(['step', '--batch', String(BATCH), '--steps', String(STEPS), '--size', String(SIZE)]) as Result | string : TORCH_MISSING;
  const base = typeof a === 'string' ? undefined : (a.imgPerS as number);
  const row = (name: string, r: Result | string) => {
    if (typeof r === 'string') return console.log(`${name.padEnd(34)} ${r}`);
    const ratio = base ? ` (${f((r.imgPerS as number) / base)}× TF.js)` : '';
    const rss = r.stepPeakRssMiB !== undefined && r.stepPeakRssMiB !== r.peakRssMiB ? `${r.stepPeakRssMiB} MiB (${r.peakRssMiB} after the check below)` : `${r.peakRssMiB} MiB`;
    console.log(`${name.padEnd(34)} ${f(r.imgPerS)} img/s${ratio}${ofLimit(r.imgPerS as number, flops?.train ?? 0)}, peak RSS ${rss} — ${r.backend}${r.warmupS !== undefined ? `, warm-up step ${f(r.warmupS, 1)} s` : ''}`);
  };
  row('(a) train step, pure TF.js', a);
  row('(b) train step, prefix on ONNX RT', b);
  row('(c) train step, PyTorch', c);
  if (typeof b !== 'string' && typeof c !== 'string') console.log(`    train step (b) ÷ PyTorch (c): speed ${f((b.imgPerS as number) / (c.imgPerS as number))}×, peak RSS ${f((b.stepPeakRssMiB as number) / (c.peakRssMiB as number))}×`);
  if (typeof b !== 'string') console.log(`    prefix check at ${SIZE}: ${b.prefixLayers} layers, ${b.cutTensors} cut tensors, max |ONNX−TF.js| / max|TF.js| = ${Number(b.maxRelDiff224).toExponential(2)}`);
  const p = child([__filename, 'predict']);
  if (typeof p === 'string') {
    console.log(`prediction / validation: ${p}`);
    return;
  }
  const raw = Math.max(p.rawWhole8ImgPerS as number, p.rawWholeBatchImgPerS as number);
  console.log(`raw ONNX Runtime, in-memory ${BATCH}-image batches (medians of ${p.rounds}): whole model ${f(p.rawWhole8ImgPerS)} img/s in chunks of 8, ${f(p.rawWholeBatchImgPerS)} img/s in one call${ofLimit(raw, flops?.forward ?? 0)}; frozen prefix alone ${f(p.rawPrefixImgPerS)} img/s${ofLimit(p.rawPrefixImgPerS as number, flops?.prefix.forward ?? 0)}`);
  if (typeof b !== 'string') console.log(`    train step (b) ÷ raw frozen prefix on the same batches, in the train step's process just before and after its timed steps: ${f(b.vsRawPrefix)}× (raw ${f(b.rawPrefixBefore)} and ${f(b.rawPrefixAfter)} img/s); ÷ the raw prefix of the prediction phase above (another process, minutes later): ${f((b.imgPerS as number) / (p.rawPrefixImgPerS as number))}×${typeof c === 'string' ? '' : `; (b) ÷ PyTorch (c): ${f((b.imgPerS as number) / (c.imgPerS as number))}×`}`);
  // The step runs the frozen prefix's forward plus the tail: it cannot beat the prefix alone, so
  // raw prefix ÷ PyTorch's step is the most (b) ÷ (c) can reach with this engine on this machine.
  if (typeof c !== 'string') console.log(`    ceiling: raw frozen prefix ÷ PyTorch's train step (c) = ${f((p.rawPrefixImgPerS as number) / (c.imgPerS as number))}× (no train step with the prefix on ONNX Runtime can pass it here)`);
  console.log(`predictIterator over ${IMAGES} PNGs   ${f(p.predictImgPerS)} img/s (median of ${p.rounds}, cache cleared each time) = ${f(p.predictRatio)}× the faster raw whole model (median of the rounds' ratios, each against the mean of the raw passes on both sides: ${p.predictRatios}); ÷ the faster of the raw medians ${f((p.predictImgPerS as number) / raw)}×, ÷ the raw prefix ${f((p.predictImgPerS as number) / (p.rawPrefixImgPerS as number))}×${ofLimit(p.predictImgPerS as number, flops?.forward ?? 0)}; first call of the process ${f(p.predictFirstImgPerS)} img/s (${f((p.predictFirstImgPerS as number) / raw)}×); peak RSS ${p.peakRssMiB} MiB`);
  if (p.testRatio !== undefined) console.log(`predictIterator over ${TEST_IMAGES} PNGs (the walkthrough's test-folder size)  ${f(p.testPredictImgPerS)} img/s (median of ${p.rounds}) = ${f(p.testRatio)}× the faster raw whole model, bracketed as above (rounds: ${p.testRatios}); the older estimator, ÷ the larger of the raw passes just before and after: ${f(p.testLegacyRatio)}×`);
  console.log(`validation epoch (${IMAGES} images)  cold cache ${f(p.valColdS)} s, warm cache ${f(p.valWarmS)} s (${f((p.valColdS as number) / (p.valWarmS as number), 1)}× faster), pure TF.js ${f(p.valTfjsS)} s`);
  console.log(`    cache: ${p.cache}`);
  if (process.env.BENCH_EPOCHS === '0') return;
  for (const name of ['epoch-cache', 'epoch-nocache']) {
    const e = child([__filename, name]);
    if (typeof e === 'string') {
      console.log(`${name}: ${e}`);
      continue;
    }
    console.log(`full-size phantom epochs, ${name === 'epoch-cache' ? 'feature cache on ' : 'feature cache off'} (${e.trainImages} augmented training + ${e.validImages} validation images): epoch 1 ${f(e.epoch1S, 1)} s (validation ${f(e.val1S)} s), epoch 2 ${f(e.epoch2S, 1)} s (validation ${f(e.val2S)} s) = ${f((e.trainImages as number) / ((e.epoch2S as number) - (e.val2S as number)), 1)} training img/s; peak RSS ${e.peakRssMiB} MiB`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
