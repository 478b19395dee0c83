// The user's whole job, ours against PyTorch (issue 13, deliverable 3): notebook 01's walkthrough
// end to end — InceptionV3 (no top, 224×224, random weights: none are available offline), all but
// the last 15 base layers frozen, the notebook's head, Adam 1e-3 with ReduceLROnPlateau, training
// through flowFromDirectory with the article's augmentation (rescale 1/255, shear 0.2, zoom 0.2,
// horizontal flip) and validation every epoch, then prediction over the test folder — on the
// full-size phantom (613 train / 72 valid / 315 test images, written once and read by both).
//
//   ours     this library through fit/predictIterator in Node (the notebook's calls, not Jupyter);
//   torch    bench/walkthrough.py: torchvision ImageFolder, the same augmentation, one loader
//            worker, 2 threads, channels-last, Keras's freezing mapped onto torchvision's modules.
//
// Each side runs in its own child process, one after the other (never together); this process
// samples each child's memory (RSS and PSS of its process tree, every 200 ms). Before them, the
// machine's fp32 matmul peak is measured (ONNX Runtime Gemm and torch.mm), so throughputs also read
// as GFLOP/s and as a fraction of that peak (FLOPs counted from the model's layers: bench/limits.ts).
//
// Usage: npx tsc -p tsconfig.test.json && node .build/bench/walkthrough.js [--epochs 8]
//        [--data <folder with train/ valid/ test/>] [--only ours|torch] [--repeat N]
//   --epochs N   epochs of both sides (default 8, the notebook's)
//   --data DIR   reuse a phantom folder (default: a fresh full-size phantom in a temp folder, seed 42)
//   --repeat N   run the pair N times, alternating which side goes first (default 1)
//   --only SIDE  run one side only
//   --per-class N  a small phantom (N images per class and split) for a quick check; default the full size
import { spawn } from 'node:child_process';
import type * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchSource, parseResult, TORCH_MISSING, TORCH_PYTHON, torchAvailable, torchEnv, runTorch } from './torch-peer';
import { gflop, modelFlops, ofPeak, ortMatmulPeak, type ModelFlops } from './limits';

const T0 = performance.now();

type Result = Record<string, unknown>;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const EPOCHS = Number(argValue('--epochs') ?? 8);
const SIZE = 224;
const BATCH = 32;
const SEED = 42;

/** Our side: notebook 01's cells from the model on (data already written), timed. Prints RESULT. */
async function ours(dataRoot: string, epochs: number): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tl = require('../src') as typeof import('../src');
  const tf = tl.tf;
  const backend = await tl.initBackend({ quiet: true });
  tl.setGlobalSeed(SEED);
  const baseModel = await tl.InceptionV3({ includeTop: false, weights: null, inputShape: [SIZE, SIZE, 3], seed: SEED });
  for (const layer of baseModel.layers.slice(0, -15)) layer.trainable = false;
  let x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(baseModel.outputs[0]) as tf.SymbolicTensor;
  x = tl.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 512, activation: 'relu', name: 'dense' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 512, activation: 'relu', name: 'dense_1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout_1' }).apply(x) as tf.SymbolicTensor;
  const predictions = tf.layers.dense({ units: 4, activation: 'softmax', name: 'dense_2' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: baseModel.inputs, outputs: predictions, name: 'chest_ct_inception_v3' });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const trainGen = new tl.ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
  const testGen = new tl.ImageDataGenerator({ rescale: 1 / 255 });
  const flowArgs = { targetSize: [SIZE, SIZE] as [number, number], batchSize: BATCH, classMode: 'categorical' as const, seed: SEED };
  const trainFlow = trainGen.flowFromDirectory(path.join(dataRoot, 'train'), flowArgs);
  const validFlow = testGen.flowFromDirectory(path.join(dataRoot, 'valid'), { ...flowArgs, shuffle: false });
  const testFlow = testGen.flowFromDirectory(path.join(dataRoot, 'test'), { ...flowArgs, shuffle: false });
  const setupS = performance.now() / 1000;
  const cpu = (): number => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const setupCpu = cpu();

  const perEpoch: Array<{ epoch: number; trainS: number; valS: number }> = [];
  let epochStart = 0;
  let valStart = 0;
  let valS = 0;
  class Clock extends tl.Callback {
    override async onEpochBegin(): Promise<void> { epochStart = performance.now(); }
    override async onTestBegin(): Promise<void> { valStart = performance.now(); }
    override async onTestEnd(): Promise<void> { valS = (performance.now() - valStart) / 1000; }
    override async onEpochEnd(epoch: number): Promise<void> {
      const total = (performance.now() - epochStart) / 1000;
      perEpoch.push({ epoch: epoch + 1, trainS: +(total - valS).toFixed(2), valS: +valS.toFixed(2) });
      console.error(`epoch ${epoch + 1}: train ${(total - valS).toFixed(1)} s, validation ${valS.toFixed(1)} s`);
    }
  }
  const tFit = performance.now();
  const history = await tl.fit(model, trainFlow, {
    epochs,
    validationData: validFlow,
    verbose: 0, // the notebook's progress bar rewrites one line in Jupyter; here it would only fill the log
    callbacks: [new tl.ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.1, patience: 2, minLr: 1e-6, verbose: 1 }), new Clock()],
  });
  const fitS = (performance.now() - tFit) / 1000;
  const fitCpu = cpu() - setupCpu;
  const tPred = performance.now();
  const alignment = tl.alignClassIndices(trainFlow, testFlow, { by: 'prefix' });
  const result = await tl.predictIterator(model, testFlow, { labelMap: Array.from(alignment.otherToReference) });
  const predictS = (performance.now() - tPred) / 1000;
  const labels = result.labels as number[];
  let correct = 0;
  for (let i = 0; i < result.predictions.length; i++) if (result.predictions[i] === labels[i]) correct++;
  const wallS = performance.now() / 1000;
  const predictCpu = cpu() - setupCpu - fitCpu;
  const split = tl.splitFrozenPrefix(model);
  const flops = modelFlops(model, split.prefixLayerCount);
  const trainable = model.trainableWeights.reduce((a, w) => a + w.shape.reduce((p: number, q) => p * (q ?? 1), 1), 0);
  console.log(`RESULT ${JSON.stringify({
    phase: 'ours-walkthrough', backend: backend.line.replace(/ — .*/, ''), prefixLayers: split.prefixLayerCount, cutTensors: split.cutTensors.length,
    trainImages: trainFlow.samples, validImages: validFlow.samples, testImages: testFlow.samples, epochs: history.epoch.length,
    setupS, fitS, predictS, wallS, trainS: perEpoch.reduce((a, e) => a + e.trainS, 0), valS: perEpoch.reduce((a, e) => a + e.valS, 0), perEpoch,
    testAccuracy: correct / result.predictions.length, loss: history.history.loss, valLoss: history.history.val_loss,
    cpuS: { setup: setupCpu, fit: fitCpu, predict: predictCpu },
    trainable, total: model.countParams(), flops, cache: tl.defaultFeatureCache().stats,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  })}`);
  trainFlow.dispose();
  validFlow.dispose();
  testFlow.dispose();
}

/** RSS and PSS (KiB) of a process and its descendants, from /proc. */
function treeMemory(pid: number): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    try {
      for (const line of fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8').split('\n')) {
        if (line.startsWith('Rss:')) rss += Number(line.split(/\s+/)[1]);
        else if (line.startsWith('Pss:')) pss += Number(line.split(/\s+/)[1]);
      }
      for (const tid of fs.readdirSync(`/proc/${p}/task`)) {
        for (const c of fs.readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c !== '') todo.push(Number(c));
      }
    } catch {
      // the process ended between two reads
    }
  }
  return { rss, pss };
}

/** Runs a child to completion, sampling its tree's memory; resolves to its RESULT (or why none) plus the samples. */
function runSampled(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ result: Result | string; wallS: number; peakTreeRssMiB: number; peakTreePssMiB: number }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    let peakRss = 0;
    let peakPss = 0;
    const sample = (): void => {
      if (child.pid === undefined) return;
      const m = treeMemory(child.pid);
      peakRss = Math.max(peakRss, m.rss);
      peakPss = Math.max(peakPss, m.pss);
    };
    const timer = setInterval(sample, 200);
    child.on('close', (status, signal) => {
      clearInterval(timer);
      resolve({ result: parseResult(stdout, stderr, status, signal), wallS: (performance.now() - t) / 1000, peakTreeRssMiB: Math.round(peakRss / 1024), peakTreePssMiB: Math.round(peakPss / 1024) });
    });
  });
}

async function peakPhase(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { initBackend } = require('../src/runtime/backend') as typeof import('../src/runtime/backend');
  await initBackend({ quiet: true });
  const peak = await ortMatmulPeak();
  // FLOPs of the walkthrough's model with its freezing, counted from the layers.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { walkthroughModel } = require('../test/training/walkthrough-model') as typeof import('../test/training/walkthrough-model');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { splitFrozenPrefix } = require('../src/training') as typeof import('../src/training');
  const model = await walkthroughModel(SIZE);
  model.layers.slice(0, model.layers.length - 7 - 15).forEach((l) => (l.trainable = false));
  const flops = modelFlops(model, splitFrozenPrefix(model).prefixLayerCount);
  console.log(`RESULT ${JSON.stringify({ phase: 'ort-peak', ...peak, flops })}`);
}

async function main(): Promise<void> {
  const phase = process.argv[2];
  if (phase === 'ours') return ours(argValue('--data') as string, EPOCHS);
  if (phase === 'peak') return peakPhase();
  const only = argValue('--only');
  const repeat = Number(argValue('--repeat') ?? 1);
  const f = (v: unknown, d = 1): string => (typeof v === 'number' ? v.toFixed(d) : String(v));
  console.log(`walkthrough bench: ${EPOCHS} epochs, batch ${BATCH}, ${SIZE}×${SIZE}; ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg()[0]?.toFixed(1)}, ${new Date().toISOString()}`);
  let dataRoot = argValue('--data');
  let tmp: string | undefined;
  if (dataRoot === undefined) {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-walkthrough-'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { chestCtPhantom } = require('../src/data/phantom') as typeof import('../src/data/phantom');
    const perClass = argValue('--per-class');
    const data = await chestCtPhantom({ dest: tmp, zip: false, seed: SEED, quiet: true, perClass: perClass === undefined ? undefined : Number(perClass) });
    dataRoot = data.root;
    console.log(`full-size phantom written to ${dataRoot} (${data.images} images, ${data.seconds.toFixed(1)} s; not part of either wall time)`);
  }
  try {
    const peakChild = await runSampled(process.execPath, [__filename, 'peak'], process.env);
    const torchOk = only !== 'ours' && torchAvailable();
    const torchPeak = torchOk ? runTorch(['peak']) : TORCH_MISSING;
    if (typeof peakChild.result === 'string') throw new Error(`peak phase ${peakChild.result}`);
    const ortPeak = peakChild.result;
    const flops = ortPeak.flops as ModelFlops;
    const peaks = [ortPeak.peakGflops as number, ...(typeof torchPeak === 'string' ? [] : [torchPeak.peakGflops as number])];
    const peak = Math.max(...peaks);
    console.log(`matmul peak (fp32, 2 threads, best of n = 1024/2048/4096): ONNX Runtime Gemm ${f(ortPeak.peakGflops)} GFLOP/s ${JSON.stringify(Object.fromEntries(Object.entries(ortPeak.gflops as Record<string, number>).map(([k, v]) => [k, Math.round(v)])))}` +
      `; ${typeof torchPeak === 'string' ? `torch.mm ${torchPeak}` : `torch.mm ${f(torchPeak.peakGflops)} GFLOP/s ${JSON.stringify(Object.fromEntries(Object.entries(torchPeak.gflops as Record<string, number>).map(([k, v]) => [k, Math.round(v)])))}`}; peak used below: ${f(peak)} GFLOP/s`);
    console.log(`FLOPs per image (Conv2D + Dense multiply-adds × 2, ${flops.layers} layers): forward ${gflop(flops.forward)} (frozen prefix ${gflop(flops.prefix.forward)} = ${(100 * flops.prefix.forward / flops.forward).toFixed(2)} %, tail ${gflop(flops.tail.forward)}); training ${gflop(flops.train)} (tail backward ${gflop(flops.tail.backward)})`);

    const sides: Array<'ours' | 'torch'> = only === 'ours' ? ['ours'] : only === 'torch' ? ['torch'] : ['ours', 'torch'];
    type Run = { r: Result; wallS: number; cpuS: number; peakTreeRssMiB: number; peakTreePssMiB: number };
    const runs: Record<string, Run[]> = { ours: [], torch: [] };
    for (let k = 0; k < repeat; k++) {
      const order = k % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        if (side === 'torch' && !torchOk) {
          console.log(`torch: ${TORCH_MISSING}`);
          continue;
        }
        const run = side === 'ours'
          ? await runSampled(process.execPath, [__filename, 'ours', '--data', dataRoot, '--epochs', String(EPOCHS)], process.env)
          : await runSampled(TORCH_PYTHON, [benchSource('walkthrough.py'), 'walkthrough', '--data', dataRoot, '--epochs', String(EPOCHS)], torchEnv());
        if (typeof run.result === 'string') {
          console.log(`${side} (run ${k + 1}): ${run.result}`);
          continue;
        }
        const r = run.result;
        const c = r.cpuS as Record<string, number>;
        const cpuTotal = Object.values(c).reduce((a, b) => a + b, 0);
        runs[side]?.push({ r, wallS: run.wallS, cpuS: cpuTotal, peakTreeRssMiB: run.peakTreeRssMiB, peakTreePssMiB: run.peakTreePssMiB });
        const trainImg = (r.trainImages as number) * (r.epochs as number);
        const jobFlops = trainImg * flops.train + ((r.validImages as number) * (r.epochs as number) + (r.testImages as number)) * flops.forward;
        console.log(`${side.padEnd(5)} run ${k + 1}: CPU ${f(cpuTotal)} s (setup ${f(c.setup)}, fit ${f(c.fit)}, predict ${f(c.predict)}${c.loaderWorkers !== undefined ? `, loader workers ${f(c.loaderWorkers)}` : ''}; fit ${f((1000 * (c.fit as number)) / trainImg, 0)} CPU-ms per training image incl. validation)`);
        console.log(`${side.padEnd(5)} run ${k + 1}: wall ${f(run.wallS)} s (in-process ${f(r.wallS)} s: setup ${f(r.setupS)} s, fit ${f(r.fitS)} s [train ${f(r.trainS)} s, validation ${f(r.valS)} s], predict ${f(r.predictS)} s)` +
          `; fit ${f(trainImg / (r.fitS as number))} img/s, training alone ${f(trainImg / (r.trainS as number))} img/s (${ofPeak(trainImg / (r.trainS as number), flops.train, peak)}), prediction ${f((r.testImages as number) / (r.predictS as number))} img/s` +
          `; whole job ${ofPeak(1, jobFlops / run.wallS, peak)}; peak RSS ${r.peakRssMiB} MiB${r.peakRssLoaderMiB !== undefined ? ` (+ loader worker ${r.peakRssLoaderMiB} MiB)` : ''}, process tree RSS ${run.peakTreeRssMiB} MiB / PSS ${run.peakTreePssMiB} MiB; test accuracy ${f(100 * (r.testAccuracy as number))} %`);
      }
    }
    const med = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
    };
    const o = runs.ours as Run[];
    const t = runs.torch as typeof o;
    if (o.length > 0 && t.length > 0) {
      const rate = (x: (typeof o)[number], key: string): number => ((x.r.trainImages as number) * (x.r.epochs as number)) / (x.r[key] as number);
      const row = (name: string, a: number, b: number, unit: string, d = 1, higherIsBetter = true): string =>
        `| ${name} | ${a.toFixed(d)} ${unit} | ${b.toFixed(d)} ${unit} | ${(higherIsBetter ? a / b : b / a).toFixed(2)}× |`;
      console.log(`\nmedians of ${o.length} ours / ${t.length} PyTorch run(s), ${EPOCHS} epochs (ratio: ours' advantage, > 1 = ours better)`);
      console.log('| | ours | PyTorch | ratio |\n|---|---|---|---|');
      console.log(row('end-to-end wall (process start → predictions)', med(o.map((x) => x.wallS)), med(t.map((x) => x.wallS)), 's', 1, false));
      console.log(row('fit (training + validation)', med(o.map((x) => x.r.fitS as number)), med(t.map((x) => x.r.fitS as number)), 's', 1, false));
      console.log(row('fit throughput (train images / fit time)', med(o.map((x) => rate(x, 'fitS'))), med(t.map((x) => rate(x, 'fitS'))), 'img/s'));
      console.log(row('training throughput (validation excluded)', med(o.map((x) => rate(x, 'trainS'))), med(t.map((x) => rate(x, 'trainS'))), 'img/s'));
      console.log(row('validation, all epochs', med(o.map((x) => x.r.valS as number)), med(t.map((x) => x.r.valS as number)), 's', 1, false));
      console.log(row('prediction over the test folder', med(o.map((x) => x.r.predictS as number)), med(t.map((x) => x.r.predictS as number)), 's', 2, false));
      console.log(row('CPU time, whole job (all threads and processes)', med(o.map((x) => x.cpuS)), med(t.map((x) => x.cpuS)), 's', 1, false));
      console.log(row('peak RSS, main process', med(o.map((x) => x.r.peakRssMiB as number)), med(t.map((x) => x.r.peakRssMiB as number)), 'MiB', 0, false));
      console.log(row('peak PSS, whole process tree (sampled)', med(o.map((x) => x.peakTreePssMiB)), med(t.map((x) => x.peakTreePssMiB)), 'MiB', 0, false));
    }
  } finally {
    if (tmp !== undefined) await fs.promises.rm(tmp, { recursive: true, force: true });
  }
  console.log(`bench wall ${((performance.now() - T0) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
