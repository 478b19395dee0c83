// Where one train step's time goes (issue 13, deliverable 1), and one predictIterator batch's.
//
// The walkthrough's train step (InceptionV3 224×224, batch 32, all but the last 15 base layers
// frozen, the notebook's head, Adam) through fit() on the full-size phantom's training folder with
// the article's augmentation, profiled two ways in one process:
//
//   in situ   fit() runs TIMED_STEPS steps as it always does (decoding, ONNX Runtime in its worker
//             thread and the TF.js tail overlapping). Nothing in src/ changes: the bench wraps
//             methods of the objects fit uses (source.next, the engine's predict/run, the
//             optimizer's minimize/applyGradients, the tail's apply), a preload (probe-worker.ts)
//             records every message in the worker threads (each image's decode+augment, each
//             ONNX Runtime call), V8's sampling profiler records the main thread (what it computes
//             and when it is idle), and /proc gives every thread's CPU time over the window.
//   isolated  each stage alone on the same batch, one after the other: wall and process CPU per
//             batch of 32, and tf.profile's kernels of the tail per op type.
//
// Then predictIterator over the test folder (cold feature cache) in situ, beside raw ONNX Runtime
// running the whole model on in-memory batches.
//
// The parent process runs the profile --repeat times (default 2) in child processes started with
// the preload and prints every table plus the spread between runs (the machine is shared).
//
// Usage: npx tsc -p tsconfig.test.json && node .build/bench/profile-step.js [--steps 8]
//        [--repeat 2] [--data <folder with train/ and test/>] [--json out.json]
//        node .build/bench/profile-step.js --from-json out.json   (prints the tables of saved runs)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { autoPrefixEngine, createOnnxPrefixEngine, defaultFeatureCache, FeatureCache, loadOnnxRuntime, OnnxPrefixEngine, toOnnx } from '../src/acceleration';
import * as cachedOutputs from '../src/acceleration/cached-outputs';
import { TailTrainer } from '../src/acceleration/tail-trainer';
import * as optimizerStep from '../src/training/optimizer-step';
import { chestCtPhantom } from '../src/data/phantom';
import { ImageDataGenerator } from '../src/preprocessing';
import { initBackend } from '../src/runtime/backend';
import { Callback, callHook } from '../src/training/callbacks/callback';
import { History } from '../src/training/callbacks/history';
import { fit, resolveCompileArgs, RunningMeans } from '../src/training/fit';
import { predictIterator } from '../src/training';
import { splitFrozenPrefix } from '../src/training/prefix';
import { walkthroughModel } from '../test/training/walkthrough-model';
import { nowMs, PROBE_CHANNEL, type ProbeReport } from './probe-worker';
import { gflop, modelFlops } from './limits';

/** The split forward path fit/evaluate use (src/training/pipeline.ts, renamed split-model-runner.ts by issue 12's refactor): whichever exists. */
interface TailRunner {
  tail(inputs: tf.Tensor[], training: boolean): tf.Tensor;
}
function createRunner(model: tf.LayersModel, engine: unknown): TailRunner {
  /* eslint-disable @typescript-eslint/no-require-imports */
  for (const [file, name] of [['../src/training/split-model-runner', 'createSplitModelRunner'], ['../src/training/pipeline', 'createPipeline']] as const) {
    try {
      const create = (require(file) as Record<string, (m: tf.LayersModel, e: unknown) => TailRunner>)[name];
      if (typeof create === 'function') return create(model, engine);
    } catch {
      // not in this version of the library
    }
  }
  /* eslint-enable @typescript-eslint/no-require-imports */
  throw new Error('neither src/training/split-model-runner nor src/training/pipeline is there: update bench/profile-step.ts');
}

const SIZE = 224;
const BATCH = 32;
const SEED = 42;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

type Span = { name: string; start: number; end: number; info?: Record<string, number> };

/** Spans recorded on the main thread while `recording`. */
const spans: Span[] = [];
let recording = false;

function record(name: string, start: number, info?: Record<string, number>): void {
  if (recording) spans.push({ name, start, end: nowMs(), info });
}

/** Replaces `obj[key]` (a method) by a version that records a span around it (async or not). */
function wrap(obj: object, key: string, name: string, info?: (args: unknown[]) => Record<string, number>): void {
  const target = obj as Record<string, (...a: unknown[]) => unknown>;
  const original = target[key] as (...a: unknown[]) => unknown;
  target[key] = function (this: unknown, ...a: unknown[]) {
    const start = nowMs();
    const out = original.apply(this, a);
    if (out instanceof Promise) return out.finally(() => record(name, start, info?.(a)));
    record(name, start, info?.(a));
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// Threads and their CPU time (/proc), the main thread's CPU profile (V8 inspector).

function threadTimes(): Map<number, { ns: number; comm: string }> {
  const out = new Map<number, { ns: number; comm: string }>();
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      const ns = Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      out.set(Number(t), { ns, comm: fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() });
    } catch {
      // thread ended
    }
  }
  return out;
}

/** Asks every probed worker thread for its report (and clears it there). */
async function probeReports(): Promise<ProbeReport[]> {
  const channel = new BroadcastChannel(PROBE_CHANNEL);
  const reports: ProbeReport[] = [];
  channel.onmessage = (e: MessageEvent) => {
    const r = (e.data as { report?: ProbeReport }).report;
    if (r) reports.push(r);
  };
  channel.postMessage({ ask: 'report' });
  await new Promise((resolve) => setTimeout(resolve, 400));
  channel.close();
  return reports;
}

interface ThreadGroups {
  wasm: Set<number>;
  reports: ProbeReport[];
}

function groupOf(tid: number, comm: string, g: ThreadGroups): string {
  if (tid === process.pid) return 'main thread (JS, TF.js tail, copies)';
  if (g.wasm.has(tid)) return 'TF.js wasm threads (tail kernels)';
  for (const r of g.reports) {
    if (r.tid === tid) return r.kind === 'image' ? 'image workers (decode, resize, augment)' : r.kind === 'onnx' ? 'ONNX Runtime worker thread' : 'other worker threads';
    if (r.ortThreads.includes(tid)) return 'ONNX Runtime intra-op threads';
  }
  if (/vips/i.test(comm)) return 'libvips threads (image decoding)';
  return 'other (libuv pool, V8 GC/compiler threads)';
}

function threadCpu(before: Map<number, { ns: number; comm: string }>, after: Map<number, { ns: number; comm: string }>, g: ThreadGroups): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [tid, a] of after) {
    const ms = (a.ns - (before.get(tid)?.ns ?? 0)) / 1e6;
    const key = groupOf(tid, a.comm, g);
    out[key] = (out[key] ?? 0) + ms;
  }
  return out;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function post<T>(session: inspector.Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

/** Main-thread categories, highest priority first: a sample goes to the first that matches any frame of its stack. */
const CATEGORIES: Array<[string, (fn: string, file: string) => boolean]> = [
  ['tail: optimizer update (Adam)', (fn) => fn === 'applyGradients' || fn === 'leanAdam'],
  ['tail: step on ONNX Runtime (TailTrainer.step: feeds, session.run, gradients as tensors)', (fn, file) => file === 'tail-trainer.js'],
  ['tail: backward', (fn) => fn === 'backpropagateGradients'],
  ['ORT outputs -> TF.js tensors (tf.tensor, concat)', (fn) => fn === 'tensorsFromChunks' || fn === 'cachedPrefixOutputs' || fn === 'cachedPrefixParts' || fn === 'arraysFromChunks'],
  ['hand-off to ORT (x.data(), slices, postMessage, replies)', (_fn, file) => file === 'onnx-prefix-engine.js' || file === 'onnx-worker-session.js'],
  ['tail: forward (taped in fit)', (fn, file) => fn === 'tail' && file === 'pipeline.js'],
  ['tail: rest of minimize (tape set-up, gradient bookkeeping, disposal)', (fn) => fn === 'minimize'],
  ['image hand-back and batch assembly (copies, tf.tensor4d of the batch)', (_fn, file) => /^(worker-pool|directory-iterator|image-data-generator|batch-iterator|decode-queue|batch|image-array|index-stream|prefetch)\.js$/.test(file)],
  ['readback of loss/metrics/probabilities', (fn) => fn === 'data' || fn === 'dataSync' || fn === 'array' || fn === 'readSync' || fn === 'read'],
  ['callbacks', (fn, file) => fn === 'callHook' || /^(history|progbar-logger|reduce-lr-on-plateau|callback)\.js$/.test(file)],
  ['fit / predict loop: loss and metric kernels, batch queue, labels, disposal', (_fn, file) => file === 'fit.js' || file === 'evaluate.js' || /^(batch-queue|batch-stage|pipeline|split-model-runner)\.js$/.test(file)],
  ['bench instrumentation', (_fn, file) => file === 'profile-step.js' || file === 'probe-worker.js'],
];

/** Milliseconds of main-thread samples per category, and per category its heaviest leaf frames. */
function categorize(profile: CpuProfile): { byCategory: Record<string, number>; leaves: Record<string, Record<string, number>> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id) as CpuProfileNode;
    let result: string;
    const special = leaf.callFrame.functionName;
    if (special === '(idle)') result = 'idle (main thread waits)';
    else if (special === '(garbage collector)') result = 'garbage collection';
    else if (special === '(program)') result = '(program): V8/native outside JS frames';
    else {
      const frames: Array<[string, string]> = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const cf = (byId.get(at) as CpuProfileNode).callFrame;
        frames.push([cf.functionName, path.basename(cf.url)]);
      }
      result = CATEGORIES.find(([, match]) => frames.some(([fn, file]) => match(fn, file)))?.[0] ?? 'other JS (TF.js engine, Node internals)';
    }
    memo.set(id, result);
    return result;
  };
  const out: Record<string, number> = {};
  const leaves: Record<string, Record<string, number>> = {};
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const id = profile.samples[i] as number;
    const c = categoryOf(id);
    out[c] = (out[c] ?? 0) + ms;
    // The leaf, and its nearest JS caller when the leaf is native/wasm (no file).
    let at: number | undefined = id;
    const names: string[] = [];
    while (at !== undefined && names.length < 2) {
      const cf = (byId.get(at) as CpuProfileNode).callFrame;
      names.push(`${cf.functionName || '(anonymous)'}${cf.url ? `@${path.basename(cf.url)}` : ''}`);
      if (cf.url && !cf.url.startsWith('wasm')) break;
      at = parent.get(at);
    }
    const leaf = names.join(' < ');
    const l = (leaves[c] ??= {});
    l[leaf] = (l[leaf] ?? 0) + ms;
  }
  for (const [c, l] of Object.entries(leaves)) leaves[c] = Object.fromEntries(Object.entries(l).sort((a, b) => b[1] - a[1]).slice(0, 6));
  return { byCategory: out, leaves };
}

// ---------------------------------------------------------------------------------------------

interface Window {
  wallMs: number;
  batches: number;
  processCpuMs: number;
  threads: Record<string, number>;
  mainProfile: Record<string, number>;
  mainLeaves: Record<string, Record<string, number>>;
}

async function withWindow<T>(groups: () => Promise<ThreadGroups>, batches: number, body: () => Promise<T>): Promise<{ window: Window; reports: ProbeReport[]; result: T }> {
  const session = new inspector.Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 250 });
  const channel = new BroadcastChannel(PROBE_CHANNEL);
  channel.postMessage({ ask: 'clear' });
  channel.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  spans.length = 0;
  const t0 = threadTimes();
  const c0 = process.cpuUsage();
  const w0 = nowMs();
  await post(session, 'Profiler.start');
  recording = true;
  const result = await body();
  recording = false;
  const { profile } = await post<{ profile: CpuProfile }>(session, 'Profiler.stop');
  const wallMs = nowMs() - w0;
  const c = process.cpuUsage(c0);
  const t1 = threadTimes();
  session.disconnect();
  const reports = await probeReports();
  const g = await groups();
  g.reports = [...g.reports, ...reports.filter((r) => !g.reports.some((q) => q.tid === r.tid))];
  const main = categorize(profile);
  return { window: { wallMs, batches, processCpuMs: (c.user + c.system) / 1000, threads: threadCpu(t0, t1, g), mainProfile: main.byCategory, mainLeaves: main.leaves }, reports, result };
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Total length of the union of intervals. */
function union(intervals: Array<[number, number]>): number {
  const s = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of s) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Summary of the worker threads' records: per batch of `batch` images. */
function workerStats(reports: ProbeReport[], spansMain: Span[], batches: number): Record<string, number> {
  const imageReports = reports.filter((r) => r.kind === 'image');
  const images = imageReports.flatMap((r) => r.events.filter((e) => e.type === 'job' && e.replied !== undefined));
  // A worker renders several images at once: its busy time is the union of their intervals.
  const busy = sum(imageReports.map((r) => union(r.events.filter((e) => e.type === 'job' && e.replied !== undefined).map((e) => [e.received, e.replied as number]))));
  const ort = reports.filter((r) => r.kind === 'onnx').flatMap((r) => r.events.filter((e) => e.type === 'run' && e.replied !== undefined && e.runStart !== undefined && e.runEnd !== undefined));
  const runs = spansMain.filter((s) => s.name === 'engine.run');
  // Match main-side engine.run spans (post → reply received) with the worker's events in order.
  const sent = runs.map((s) => s.start).sort((a, b) => a - b);
  const got = runs.map((s) => s.end).sort((a, b) => a - b);
  const ortSorted = [...ort].sort((a, b) => a.received - b.received);
  // Post → arrival, only for chunks posted while the worker was idle (otherwise arrival waits for the run in progress).
  const toWorker = ortSorted.flatMap((e, i) => {
    const prevEnd = i > 0 ? (ortSorted[i - 1]?.runEnd as number) : -Infinity;
    const posted = sent[i];
    return posted !== undefined && posted > prevEnd ? [e.received - posted] : [];
  });
  const back = ortSorted.map((e, i) => (got[i] ?? e.replied as number) - (e.replied as number));
  const ortRun = sum(ort.map((e) => (e.runEnd as number) - (e.runStart as number)));
  const ortQueue = sum(ort.map((e) => (e.runStart as number) - e.received));
  const ortPost = sum(ort.map((e) => (e.replied as number) - (e.runEnd as number)));
  const ortImages = sum(ort.map((e) => e.images ?? 0));
  const perBatch = (v: number): number => v / batches;
  return {
    imageJobs: images.length,
    decodeLatencyMsPerImage: median(images.map((e) => (e.replied as number) - e.received)),
    decodeWorkerBusyMsPerBatch: perBatch(busy),
    ortCalls: ort.length,
    ortImages,
    ortRunMsPerBatch: perBatch(ortRun),
    ortRunMsPer32: ortImages > 0 ? (ortRun / ortImages) * 32 : NaN,
    ortRunMsPerChunkMedian: median(ort.map((e) => (e.runEnd as number) - (e.runStart as number))),
    ortQueuedInWorkerMsPerBatch: perBatch(ortQueue),
    ortReplyPostMsPerBatch: perBatch(ortPost),
    ortCpuMsPerBatch: perBatch(sum(ort.map((e) => e.cpuMs ?? 0))),
    msgToWorkerMsMedian: median(toWorker),
    msgToWorkerSamples: toWorker.length,
    msgBackMsMedian: median(back),
  };
}

/** Per-step spans of the timed fit: medians over steps (ms). */
function stepStats(all: Span[]): Record<string, number> {
  const begins = all.filter((s) => s.name === 'step.begin').map((s) => s.start);
  const ends = all.filter((s) => s.name === 'step.end').map((s) => s.start);
  // The work of a step: minimize (the TF.js tail), or TailTrainer.step then applyGradients (the tail on ONNX Runtime).
  const minimize = all.filter((s) => s.name === 'optimizer.minimize');
  const apply = all.filter((s) => s.name === 'optimizer.applyGradients');
  const trainerStep = all.filter((s) => s.name === 'trainer.step');
  const tailFwd = all.filter((s) => s.name === 'tail.apply');
  const within = (list: Span[], a: number, b: number): Span[] => list.filter((s) => s.start >= a && s.end <= b);
  const rows: Record<string, number[]> = { step: [], wait: [], minimize: [], forward: [], backward: [], update: [], afterMinimize: [], betweenSteps: [] };
  for (let k = 0; k < begins.length; k++) {
    const b = begins[k] as number;
    const e = ends[k];
    const next = begins[k + 1];
    if (e === undefined) continue;
    const t = trainerStep.find((s) => s.start >= b && s.end <= e);
    const u = t === undefined ? undefined : apply.find((s) => s.start >= t.end && s.end <= e);
    const m = minimize.find((s) => s.start >= b && s.end <= e) ?? (t !== undefined && u !== undefined ? { start: t.start, end: u.end } : undefined);
    if (m === undefined) continue;
    const fwd = sum([...within(tailFwd, m.start, m.end), ...within(trainerStep, m.start, m.end)].map((s) => s.end - s.start));
    const upd = sum(within(apply, m.start, m.end).map((s) => s.end - s.start));
    rows.wait?.push(m.start - b);
    rows.minimize?.push(m.end - m.start);
    rows.forward?.push(fwd);
    rows.update?.push(upd);
    rows.backward?.push(m.end - m.start - fwd - upd);
    rows.afterMinimize?.push(e - m.end);
    if (next !== undefined) {
      rows.betweenSteps?.push(next - e);
      rows.step?.push(next - b);
    }
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rows)) out[k] = median(v);
  const predict = all.filter((s) => s.name === 'engine.predict');
  const next = all.filter((s) => s.name === 'source.next');
  out.enginePredict = median(predict.map((s) => s.end - s.start));
  out.sourceNext = median(next.map((s) => s.end - s.start));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The child: one full profile.

async function timeIt<T>(f: () => Promise<T> | T, reps = 3): Promise<{ wallMs: number; cpuMs: number; result: T }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  let result: T | undefined;
  for (let i = 0; i < reps; i++) {
    if (result !== undefined) tf.dispose(result as unknown as tf.TensorContainer);
    const c0 = process.cpuUsage();
    const t = performance.now();
    result = await f();
    walls.push(performance.now() - t);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(walls), cpuMs: median(cpus), result: result as T };
}

function profileKernels(kernels: Array<{ name: string; kernelTimeMs: number | { error: string } }>): Record<string, { ms: number; n: number }> {
  const out: Record<string, { ms: number; n: number }> = {};
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = (out[k.name] ??= { ms: 0, n: 0 });
    e.ms += ms;
    e.n += 1;
  }
  return out;
}

async function child(dataRoot: string, timedSteps: number): Promise<void> {
  const memory: Record<string, { rssMiB: number; wasmHeapMiB: number; tensorsMiB: number }> = {};
  const milestone = (name: string): void => {
    const heap = (tf.engine().backend as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength ?? 0;
    memory[name] = { rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), wasmHeapMiB: Math.round(heap / 2 ** 20), tensorsMiB: Math.round(tf.memory().numBytes / 2 ** 20) };
  };
  milestone('start (modules loaded)');
  const before = new Set(threadTimes().keys());
  const report = await initBackend({ quiet: true });
  milestone('backend ready');
  const wasm = new Set([...threadTimes().keys()].filter((t) => !before.has(t)));
  const groups = async (): Promise<ThreadGroups> => ({ wasm, reports: [] });

  const model = await walkthroughModel(SIZE);
  model.layers.slice(0, model.layers.length - 7 - 15).forEach((l) => (l.trainable = false));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const split = splitFrozenPrefix(model);
  const prefix = split.prefix as tf.LayersModel;
  const flops = modelFlops(model, split.prefixLayerCount);
  milestone('model built (TF.js weights)');
  const trainGen = new ImageDataGenerator({ rescale: 1 / 255, shearRange: 0.2, zoomRange: 0.2, horizontalFlip: true });
  const trainFlow = trainGen.flowFromDirectory(path.join(dataRoot, 'train'), { targetSize: [SIZE, SIZE], batchSize: BATCH, seed: SEED, verbose: false });
  const testFlow = new ImageDataGenerator({ rescale: 1 / 255 }).flowFromDirectory(path.join(dataRoot, 'test'), { targetSize: [SIZE, SIZE], batchSize: BATCH, shuffle: false, verbose: false });

  // Warm-up: builds the engine (ONNX conversion, session, worker), first ONNX Runtime runs, the tail's first TF.js runs.
  let t = performance.now();
  await fit(model, trainFlow, { epochs: 1, stepsPerEpoch: 2, verbose: 0, seed: 1 });
  const warmupMs = performance.now() - t;
  milestone('after warm-up fit (ORT session, worker threads)');
  const engine = (await autoPrefixEngine(model, prefix, trainFlow, { verbose: false })) as OnnxPrefixEngine;
  if (!(engine instanceof OnnxPrefixEngine)) throw new Error(`expected the ONNX Runtime engine, got ${String(engine)}`);

  // Instrumentation (bench-side wrappers on the objects fit uses).
  wrap(engine, 'predict', 'engine.predict');
  // After issue 12's refactor augmented batches reach the engine as pixels (predictPixels), not tensors.
  if (typeof (engine as unknown as { predictPixels?: unknown }).predictPixels === 'function') wrap(engine, 'predictPixels', 'engine.predict');
  wrap(engine, 'run', 'engine.run', (a) => ({ images: (a[1] as number[])[0] as number }));
  wrap(engine, 'runFiles', 'engine.runFiles');
  wrap(trainFlow, 'next', 'source.next');
  const optimizer = (model as unknown as { optimizer: tf.Optimizer }).optimizer;
  wrap(optimizer, 'minimize', 'optimizer.minimize');
  wrap(optimizer, 'applyGradients', 'optimizer.applyGradients');
  // fit calls these through the module's exports (CommonJS): the TF.js tail's minimize, or the
  // tail's step on ONNX Runtime followed by applyGradients.
  wrap(optimizerStep, 'minimize', 'optimizer.minimize');
  wrap(optimizerStep, 'applyGradients', 'optimizer.applyGradients');
  wrap(TailTrainer.prototype, 'step', 'trainer.step');
  wrap(split.tail, 'apply', 'tail.apply');
  const fromChunks = cachedOutputs.tensorsFromChunks;
  (cachedOutputs as { tensorsFromChunks: typeof fromChunks }).tensorsFromChunks = (parts) => {
    const start = nowMs();
    const out = fromChunks(parts);
    record('tensorsFromChunks', start);
    return out;
  };
  const cachedFn = cachedOutputs.cachedPrefixOutputs;
  (cachedOutputs as { cachedPrefixOutputs: typeof cachedFn }).cachedPrefixOutputs = (args) => {
    const start = nowMs();
    return cachedFn(args).finally(() => record('cachedPrefixOutputs', start));
  };
  // The ONNX engine looks the cache up through cachedPrefixParts (its parts become tensors, or
  // arrays for the tail engine); timed under the same name.
  const partsFn = cachedOutputs.cachedPrefixParts;
  (cachedOutputs as { cachedPrefixParts: typeof partsFn }).cachedPrefixParts = (args) => {
    const start = nowMs();
    return partsFn(args).finally(() => record('cachedPrefixOutputs', start));
  };
  wrap(FeatureCache.prototype, 'set', 'cache.set');
  class Marks extends Callback {
    override async onTrainBatchBegin(): Promise<void> { record('step.begin', nowMs()); }
    override async onTrainBatchEnd(): Promise<void> { record('step.end', nowMs()); }
  }

  // ---- in situ: fit over timedSteps steps (the first is excluded from the per-step medians by the window's step pairs).
  const fitRun = await withWindow(groups, timedSteps, async () => {
    t = performance.now();
    await fit(model, trainFlow, { epochs: 1, stepsPerEpoch: timedSteps, verbose: 0, seed: 2, callbacks: [new Marks()] });
    return performance.now() - t;
  });
  milestone('after timed fit');
  const fitSpans = [...spans];
  const fitSteps = stepStats(fitSpans);
  const fitWorkers = workerStats(fitRun.reports, fitSpans, timedSteps);
  const fitImgPerS = (timedSteps * BATCH) / (fitRun.result / 1000);
  const chunkSpans = fitSpans.filter((s) => s.name === 'tensorsFromChunks');
  const tensorsFromChunksMs = sum(chunkSpans.map((s) => s.end - s.start)) / timedSteps;

  // ---- isolated stages on one batch.
  const isolated: Record<string, { wallMs: number; cpuMs: number }> = {};
  const flowAlone = trainGen.flowFromDirectory(path.join(dataRoot, 'train'), { targetSize: [SIZE, SIZE], batchSize: BATCH, seed: SEED, verbose: false, prefetch: 0 });
  await flowAlone.next().then((b) => tf.dispose([b.xs, b.ys as tf.Tensor]));
  const decode = await timeIt(() => flowAlone.next());
  isolated['decode + augment + tf.tensor4d (next(), 2 image workers, no prefetch)'] = decode;
  const batch = decode.result;
  const pixels = (await batch.xs.data()) as Float32Array;
  isolated['x.data(): batch out of the wasm heap (19 MB)'] = await timeIt(() => batch.xs.data().then(() => undefined));
  isolated['tf.tensor4d(pixels): batch into the wasm heap'] = await timeIt(() => tf.tensor4d(pixels, [BATCH, SIZE, SIZE, 3]));
  const size = SIZE * SIZE * 3;
  isolated['4 chunk copies pixels.slice (8 images each)'] = await timeIt(() => {
    for (let i = 0; i < 4; i++) pixels.slice(i * 8 * size, (i + 1) * 8 * size);
  });
  // Pure ONNX Runtime on this thread, the engine's session options, the same prefix.
  const ort = loadOnnxRuntime();
  const session = await ort.InferenceSession.create(toOnnx(prefix), {
    intraOpNumThreads: os.availableParallelism(), interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableMemPattern: false,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const chunks = [0, 1, 2, 3].map((i) => new ort.Tensor('float32', pixels.slice(i * 8 * size, (i + 1) * 8 * size), [8, SIZE, SIZE, 3]));
  const feedOf = (x: unknown) => ({ [session.inputNames[0] as string]: x as never });
  for (let i = 0; i < 2; i++) await session.run(feedOf(chunks[0]));
  let outputs: Array<Record<string, { data: unknown; dims: readonly number[] }>> = [];
  isolated['ONNX Runtime session.run, 4 chunks of 8 (this thread)'] = await timeIt(async () => {
    outputs = [];
    for (const c of chunks) outputs.push((await session.run(feedOf(c))) as never);
  });
  const whole = new ort.Tensor('float32', pixels, [BATCH, SIZE, SIZE, 3]);
  isolated['ONNX Runtime session.run, 1 call of 32 (this thread)'] = await timeIt(async () => void (await session.run(feedOf(whole))));
  const order = prefix.outputLayers.map((l) => `${l.name}:out`);
  const parts = outputs.map((o) => order.map((name) => ({ data: o[name]?.data as Float32Array, dims: (o[name]?.dims ?? []).map(Number) })));
  isolated['ORT outputs -> tensors (tensorsFromChunks: 6 tf.tensor × 4 chunks + concat)'] = await timeIt(() => fromChunks(parts));
  await session.release();
  const viaEngine = await timeIt(() => engine.predict(batch.xs));
  isolated['engine.predict(x): hand-off + ORT in its worker + tensors'] = viaEngine;
  tf.dispose(viaEngine.result);
  const feats = await engine.predict(batch.xs);
  const ys = batch.ys as tf.Tensor;
  const pipeline = createRunner(model, engine);
  const { loss, metrics } = resolveCompileArgs(model, {}, true);
  const varList = split.tail.trainableWeights.map((w) => w.read() as tf.Variable);
  const meanOf = (x: tf.Tensor): tf.Scalar => (x.rank === 0 ? x : tf.mean(x)) as tf.Scalar;
  const lossFn = (): tf.Scalar => {
    const out = pipeline.tail(feats, true);
    for (const m of metrics) tf.keep(meanOf(m.fn(ys, out))).dispose();
    return meanOf(loss.fn(ys, out));
  };
  isolated['tail forward (training: true, no tape) + dataSync'] = await timeIt(() => tf.tidy(() => void pipeline.tail(feats, true).dataSync()));
  isolated['tail forward + backward (tf.variableGrads)'] = await timeIt(() => {
    const g = tf.variableGrads(lossFn, varList);
    return [g.value, ...Object.values(g.grads)];
  });
  const grads = tf.variableGrads(lossFn, varList);
  isolated['optimizer update (Adam applyGradients)'] = await timeIt(() => {
    optimizer.applyGradients(grads.grads);
    tf.engine().backend.readSync((varList[0] as tf.Variable).dataId); // wasm runs synchronously; this only fences
  });
  isolated['whole minimize (forward + backward + update)'] = await timeIt(() => optimizer.minimize(lossFn, true, varList) as tf.Scalar);
  const lossValue = optimizer.minimize(lossFn, true, varList) as tf.Scalar;
  isolated['readback of loss + accuracy (2 × data())'] = await timeIt(async () => void (await Promise.all([lossValue.data(), lossValue.data()])));
  const history = new History();
  const means = new RunningMeans();
  isolated['bookkeeping: RunningMeans + callHook(onTrainBatchEnd, History)'] = await timeIt(async () => {
    for (let i = 0; i < 100; i++) {
      means.add({ loss: 1, accuracy: 0.5 }, BATCH);
      await callHook([history], 'onTrainBatchEnd', i, means.result());
    }
  }, 1);
  isolated['bookkeeping: RunningMeans + callHook(onTrainBatchEnd, History)'].wallMs /= 100;
  isolated['bookkeeping: RunningMeans + callHook(onTrainBatchEnd, History)'].cpuMs /= 100;
  // Per op type (tf.profile: wall time of each kernel on wasm).
  const forwardOps = profileKernels((await tf.profile(() => tf.tidy(() => pipeline.tail(feats, true)))).kernels as never);
  const gradProfile = await tf.profile(() => { const g = tf.variableGrads(lossFn, varList); return [g.value, ...Object.values(g.grads)]; });
  const gradOps = profileKernels(gradProfile.kernels as never);
  // The heavy backward kernels with their shapes (which layer they belong to).
  const gradShapes = gradProfile.kernels
    .filter((k) => /^(BatchMatMul|Conv2D|Conv2DBackpropInput|Conv2DBackpropFilter|Reverse|Transpose)$/.test(k.name))
    .map((k) => `${k.name} ${JSON.stringify(k.inputShapes)}→${JSON.stringify(k.outputShapes)} ${(typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0).toFixed(1)} ms`);
  const updateOps = profileKernels((await tf.profile(() => { optimizer.applyGradients(grads.grads); return []; })).kernels as never);
  tf.dispose([...feats, lossValue, grads.value, ...Object.values(grads.grads), batch.xs, ys]);
  flowAlone.dispose();

  // ---- predictIterator over the test folder, cold cache, in situ; raw ONNX Runtime whole model beside it.
  const wholeModel = await walkthroughModel(SIZE);
  wholeModel.layers.forEach((l, i) => (l.trainable = (model.layers[i] as tf.layers.Layer).trainable));
  wholeModel.setWeights(model.getWeights());
  const raw = await createOnnxPrefixEngine(wholeModel, { chunkSize: 8 });
  const x = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  for (let i = 0; i < 2; i++) tf.dispose(await raw.predict(x));
  const rawBatches = 4;
  t = performance.now();
  for (let i = 0; i < rawBatches; i++) tf.dispose(await raw.predict(x));
  const rawImgPerS = (rawBatches * BATCH) / ((performance.now() - t) / 1000);
  raw.dispose();
  x.dispose();
  wrap(testFlow, 'nextPlan', 'source.nextPlan');
  const testSteps = testFlow.length;
  await predictIterator(model, testFlow, { steps: 1, labelMap: [0, 1, 2, 3] }); // warms the inference tail
  defaultFeatureCache().clear();
  const predictRun = await withWindow(groups, testSteps, async () => {
    t = performance.now();
    await predictIterator(model, testFlow, { labelMap: [0, 1, 2, 3] });
    return performance.now() - t;
  });
  milestone('after predictIterator (feature cache filled)');
  const predictSpans = [...spans];
  const predictWorkers = workerStats(predictRun.reports, predictSpans, testSteps);
  const predictImgPerS = testFlow.samples / (predictRun.result / 1000);
  const rawAfter = await createOnnxPrefixEngine(wholeModel, { chunkSize: 8 });
  const x2 = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  for (let i = 0; i < 2; i++) tf.dispose(await rawAfter.predict(x2));
  t = performance.now();
  for (let i = 0; i < rawBatches; i++) tf.dispose(await rawAfter.predict(x2));
  const rawAfterImgPerS = (rawBatches * BATCH) / ((performance.now() - t) / 1000);
  rawAfter.dispose();
  x2.dispose();
  trainFlow.dispose();
  testFlow.dispose();

  console.log(`RESULT ${JSON.stringify({
    backend: report.line.replace(/ — .*/, ''), warmupMs, timedSteps, fitMs: fitRun.result, fitImgPerS, fitWindow: fitRun.window, fitSteps, fitWorkers, tensorsFromChunksMs,
    isolated, forwardOps, gradOps, updateOps, flops,
    predict: { images: testFlow.samples, steps: testSteps, ms: predictRun.result, imgPerS: predictImgPerS, rawImgPerS: [rawImgPerS, rawAfterImgPerS], window: predictRun.window, workers: predictWorkers,
      tensorsFromChunksMs: sum(predictSpans.filter((s) => s.name === 'tensorsFromChunks').map((s) => s.end - s.start)) / testSteps,
      tailMs: sum(predictSpans.filter((s) => s.name === 'tail.apply').map((s) => s.end - s.start)) / testSteps,
      nextPlanMs: median(predictSpans.filter((s) => s.name === 'source.nextPlan').map((s) => s.end - s.start)),
      runFilesMs: median(predictSpans.filter((s) => s.name === 'engine.runFiles').map((s) => s.end - s.start)),
      cacheSetMs: sum(predictSpans.filter((s) => s.name === 'cache.set').map((s) => s.end - s.start)) / testSteps },
    memory, gradShapes,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  })}`);
}

// ---------------------------------------------------------------------------------------------
// The parent: runs the children and prints the tables.

type R = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A number for the tables: `n/a` where a stage was not seen (null after JSON). */
function num(v: number | null | undefined, d = 1): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : 'n/a';
}

function spread(values: number[]): string {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length < 2) return '';
  const m = median(ok);
  return ` ±${((100 * (Math.max(...ok) - Math.min(...ok))) / 2 / Math.abs(m || 1)).toFixed(0)}%`;
}

function table(title: string, rows: Array<[string, number[]]>, unit = 'ms/batch', note = ''): void {
  console.log(`\n${title}${note ? ` (${note})` : ''}`);
  console.log(`| stage | ${unit} (median of runs) | runs |\n|---|---:|---|`);
  for (const [name, values] of rows) {
    const ok = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
    console.log(`| ${name} | ${num(median(ok))}${spread(ok)} | ${values.map((v) => num(v)).join(', ')} |`);
  }
}

/** The heaviest leaf frames of each main-thread category (first run), ms per batch. */
function printLeaves(w: R): void {
  console.log('heaviest frames per activity (run 1, ms/batch):');
  for (const [c, l] of Object.entries(w.mainLeaves as Record<string, Record<string, number>>)) {
    if ((w.mainProfile[c] ?? 0) / w.batches < 2 || c.startsWith('idle')) continue;
    console.log(`  ${c}: ${Object.entries(l).filter(([, v]) => v / w.batches >= 0.5).map(([k, v]) => `${k} ${(v / w.batches).toFixed(1)}`).join(', ')}`);
  }
}

function keysOf(runs: R[], pick: (r: R) => Record<string, unknown>): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(pick(r) ?? {})) keys.add(k);
  return [...keys];
}

async function parent(): Promise<void> {
  const repeat = Number(argValue('--repeat') ?? 2);
  const steps = Number(argValue('--steps') ?? 8);
  let dataRoot = argValue('--data');
  let tmp: string | undefined;
  console.log(`profile-step: ${SIZE}×${SIZE}, batch ${BATCH}, ${steps} timed steps, ${repeat} runs; ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  if (dataRoot === undefined && argValue('--from-json') === undefined) {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'transferlab-profile-'));
    const data = await chestCtPhantom({ dest: tmp, zip: false, seed: SEED, quiet: true, splits: ['train', 'test'] });
    dataRoot = data.root;
  }
  const runs: R[] = [];
  const from = argValue('--from-json');
  if (from !== undefined) runs.push(...(JSON.parse(fs.readFileSync(from, 'utf8')) as R[]));
  try {
    for (let k = 0; from === undefined && k < repeat; k++) {
      const res = spawnSync(process.execPath, ['-r', path.join(__dirname, 'probe-worker.js'), __filename, 'child', '--data', dataRoot as string, '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const line = `${res.stdout ?? ''}`.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) {
        console.log(`run ${k + 1} failed (exit ${res.status ?? res.signal}): ${`${res.stderr ?? ''}`.trim().split('\n').slice(-5).join(' | ')}`);
        continue;
      }
      runs.push(JSON.parse(line.slice(7)) as R);
      console.log(`run ${k + 1}: fit ${(runs.at(-1) as R).fitImgPerS.toFixed(1)} img/s, predictIterator ${(runs.at(-1) as R).predict.imgPerS.toFixed(1)} img/s; load ${os.loadavg()[0]?.toFixed(1)}`);
    }
  } finally {
    if (tmp !== undefined) await fs.promises.rm(tmp, { recursive: true, force: true });
  }
  if (runs.length === 0) return;
  const json = argValue('--json');
  if (json !== undefined) fs.writeFileSync(json, JSON.stringify(runs, null, 1));
  const r0 = runs[0] as R;
  const flops = r0.flops;
  console.log(`\n${r0.backend}; warm-up (engine build + 2 steps) ${(r0.warmupMs / 1000).toFixed(1)} s; FLOPs per training image ${gflop(flops.train)} (prefix ${gflop(flops.prefix.forward)}, tail forward ${gflop(flops.tail.forward)}, tail backward ${gflop(flops.tail.backward)})`);
  const per = (f: (r: R) => number): number[] => runs.map(f);
  const ms = (r: R) => r.fitWindow.wallMs / r.fitWindow.batches;
  table('Train step in situ: wall per batch of 32', [
    ['whole step (fit wall / steps)', per(ms)],
    ['throughput, img/s', per((r) => r.fitImgPerS)],
    ['main: waiting for the batch (step begin → minimize)', per((r) => r.fitSteps.wait)],
    ['main: tail forward (TF.js, taped) or the whole step on ONNX Runtime (TailTrainer.step)', per((r) => r.fitSteps.forward)],
    ['main: tail backward (TF.js: minimize − forward − update; 0 on ONNX Runtime)', per((r) => r.fitSteps.backward)],
    ['main: Adam update (applyGradients)', per((r) => r.fitSteps.update)],
    ['main: readback of loss/metrics + callbacks (minimize end → step end)', per((r) => r.fitSteps.afterMinimize)],
    ['main: between steps (History, loop, queue refill, setImmediate)', per((r) => r.fitSteps.betweenSteps)],
    ['main: ORT outputs → tensors (tensorsFromChunks)', per((r) => r.tensorsFromChunksMs)],
    ['source.next() (decode wait as the pipeline sees it; overlaps)', per((r) => r.fitSteps.sourceNext)],
    ['engine.predict (hand-off + ORT + tensors as the pipeline sees it; overlaps)', per((r) => r.fitSteps.enginePredict)],
    ['ORT worker: session.run', per((r) => r.fitWorkers.ortRunMsPerBatch)],
    ['ORT worker: chunks waiting for earlier chunks (pipelining, not lost time)', per((r) => r.fitWorkers.ortQueuedInWorkerMsPerBatch)],
    ['ORT worker: reply posted after run (output transfer)', per((r) => r.fitWorkers.ortReplyPostMsPerBatch)],
    ['ORT idle (window − session.run)', per((r) => ms(r) - r.fitWorkers.ortRunMsPerBatch)],
    ['message main → idle ORT worker (median per chunk, ms/chunk)', per((r) => r.fitWorkers.msgToWorkerMsMedian)],
    ['reply ORT worker → main resolved (median per chunk, ms/chunk; includes main busy)', per((r) => r.fitWorkers.msgBackMsMedian)],
    ['image workers: busy decoding+augmenting, summed over the 2 workers', per((r) => r.fitWorkers.decodeWorkerBusyMsPerBatch)],
    ['image workers: latency of one image (median, ms/image)', per((r) => r.fitWorkers.decodeLatencyMsPerImage)],
  ], 'ms/batch');
  const threadKeys = keysOf(runs, (r) => r.fitWindow.threads);
  table('Train step in situ: CPU per batch of 32 by thread (from /proc over the window)', [
    ['all threads (process.cpuUsage)', per((r) => r.fitWindow.processCpuMs / r.fitWindow.batches)],
    ...threadKeys.map((k): [string, number[]] => [k, per((r) => (r.fitWindow.threads[k] ?? 0) / r.fitWindow.batches)]),
    ['wall × 2 cores (what the machine had)', per((r) => (2 * r.fitWindow.wallMs) / r.fitWindow.batches)],
  ], 'CPU ms/batch');
  const catKeys = keysOf(runs, (r) => r.fitWindow.mainProfile);
  table('Train step in situ: main thread by activity (V8 sampling profiler)', catKeys.map((k): [string, number[]] => [k, per((r) => (r.fitWindow.mainProfile[k] ?? 0) / r.fitWindow.batches)]), 'ms/batch');
  printLeaves(r0.fitWindow);
  const isoKeys = keysOf(runs, (r) => r.isolated);
  console.log('\nTrain step stages isolated (each alone, same batch; median of 3 per run)');
  console.log('| stage | wall ms/batch | CPU ms/batch | runs (wall) |\n|---|---:|---:|---|');
  for (const k of isoKeys) {
    const w = per((r) => r.isolated[k]?.wallMs ?? NaN);
    const c = per((r) => r.isolated[k]?.cpuMs ?? NaN);
    console.log(`| ${k} | ${num(median(w))}${spread(w)} | ${num(median(c))} | ${w.map((v) => num(v)).join(', ')} |`);
  }
  for (const [title, key] of [['tail forward', 'forwardOps'], ['tail forward + backward', 'gradOps'], ['Adam update', 'updateOps']] as const) {
    const ops = keysOf(runs, (r) => r[key]).map((op) => ({ op, ms: per((r) => r[key][op]?.ms ?? 0), n: (r0[key][op]?.n ?? 0) as number }));
    ops.sort((a, b) => median(b.ms) - median(a.ms));
    const total = per((r) => sum(Object.values(r[key] as Record<string, { ms: number }>).map((v) => v.ms)));
    console.log(`\ntf.profile, ${title}: ${median(total).toFixed(1)} ms of kernels per batch; by op type (kernel wall ms, calls)`);
    console.log(ops.filter((o) => median(o.ms) >= 0.05).slice(0, 14).map((o) => `${o.op} ${median(o.ms).toFixed(1)} (${o.n})`).join(', '));
  }
  console.log('heavy backward kernels (run 1): input shapes → output shapes, kernel ms');
  for (const line of r0.gradShapes as string[]) console.log(`  ${line}`);
  const p = (f: (r: R) => number): number[] => runs.map(f);
  const pm = (r: R) => r.predict.window.wallMs / r.predict.window.batches;
  console.log(`\npredictIterator over the test folder (${r0.predict.images} images, ${r0.predict.steps} batches, cold cache): ${median(p((r) => r.predict.imgPerS)).toFixed(1)} img/s${spread(p((r) => r.predict.imgPerS))}; raw ONNX Runtime whole model (in-memory, chunks of 8) ${median(p((r) => median(r.predict.rawImgPerS))).toFixed(1)} img/s → ${median(p((r) => r.predict.imgPerS / median(r.predict.rawImgPerS))).toFixed(2)}× raw`);
  table('predictIterator in situ: wall per batch of 32', [
    ['whole batch (predict wall / batches)', p(pm)],
    ['nextPlan (median)', p((r) => r.predict.nextPlanMs)],
    ['engine.runFiles (decode + ORT + tensors, as the pipeline sees it; overlaps)', p((r) => r.predict.runFilesMs)],
    ['ORT worker: session.run', p((r) => r.predict.workers.ortRunMsPerBatch)],
    ['ORT worker: chunks waiting for earlier chunks (pipelining, not lost time)', p((r) => r.predict.workers.ortQueuedInWorkerMsPerBatch)],
    ['ORT idle (window − session.run)', p((r) => pm(r) - r.predict.workers.ortRunMsPerBatch)],
    ['image workers: busy decoding, summed over the 2 workers', p((r) => r.predict.workers.decodeWorkerBusyMsPerBatch)],
    ['main: ORT outputs → tensors (tensorsFromChunks, via the engine)', p((r) => r.predict.tensorsFromChunksMs)],
    ['feature cache: set (32 entries, async spans summed)', p((r) => r.predict.cacheSetMs)],
    ['main: tail forward (inference)', p((r) => r.predict.tailMs)],
  ], 'ms/batch');
  const pThreads = keysOf(runs, (r) => r.predict.window.threads);
  table('predictIterator in situ: CPU per batch by thread', [
    ['all threads', p((r) => r.predict.window.processCpuMs / r.predict.window.batches)],
    ...pThreads.map((k): [string, number[]] => [k, p((r) => (r.predict.window.threads[k] ?? 0) / r.predict.window.batches)]),
  ], 'CPU ms/batch');
  const pCats = keysOf(runs, (r) => r.predict.window.mainProfile);
  table('predictIterator in situ: main thread by activity', pCats.map((k): [string, number[]] => [k, p((r) => (r.predict.window.mainProfile[k] ?? 0) / r.predict.window.batches)]), 'ms/batch');
  printLeaves(r0.predict.window);
  console.log(`\nmemory of a profile run (run 1): ${Object.entries(r0.memory as Record<string, { rssMiB: number; wasmHeapMiB: number; tensorsMiB: number }>).map(([k, v]) => `${k}: RSS ${v.rssMiB} MiB (wasm heap ${v.wasmHeapMiB}, live tensors ${v.tensorsMiB})`).join('; ')}`);
  console.log(`peak RSS of a profile run: ${runs.map((r) => r.peakRssMiB).join(', ')} MiB`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child(argValue('--data') as string, Number(argValue('--steps') ?? 8));
  return parent();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
