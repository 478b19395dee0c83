// The trainable tail of the walkthrough's train step alone (issue 13): InceptionV3 224×224 with
// all but the last 15 base layers frozen, split at the frozen prefix, fed random cut tensors of a
// batch of 32 (no ONNX Runtime, no images), on the TF.js backend fit uses (wasm). Prints wall and
// CPU per stage (untaped forward, taped forward, forward + backward, Adam update, whole minimize)
// and tf.profile's kernels per op type, and the same step on ONNX Runtime (TailTrainer: forward and
// backward in one graph, 1 and 2 threads, with and without the Adam update in TF.js), so a change to the tail's kernels or layers can be
// measured in a minute, side by side with the same process's other stages.
//
//   node .build/bench/tail-step.js [--reps 5] [--top 20]
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend, type BackendRequest } from '../src/runtime/backend';
import { resolveCompileArgs } from '../src/training/fit';
import { applyGradients } from '../src/training/optimizer-step';
import { createTailTrainer } from '../src/acceleration/tail-trainer';
import { createSplitModelRunner } from '../src/training/split-model-runner';
import { walkthroughModel } from '../test/training/walkthrough-model';

const BATCH = 32;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Median wall and CPU ms of `reps` calls of an async `f` (after one warm-up call). */
async function timeAsync(f: () => Promise<void>, reps: number): Promise<{ wallMs: number; cpuMs: number }> {
  await f();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    await f();
    walls.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpus.push((d.user + d.system) / 1000);
  }
  const median = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

/** Median wall and CPU ms of `reps` calls (after one warm-up call). */
function timeIt(f: () => void, reps: number): { wallMs: number; cpuMs: number } {
  f();
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    f();
    walls.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpus.push((d.user + d.system) / 1000);
  }
  const median = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { wallMs: median(walls), cpuMs: median(cpus) };
}

async function main(): Promise<void> {
  const reps = arg('reps', 5);
  const top = arg('top', 20);
  await initBackend({ backend: (process.env.TRANSFERLAB_BACKEND ?? 'wasm') as BackendRequest, quiet: true });
  const model = await walkthroughModel(224);
  model.layers.slice(0, model.layers.length - 7 - 15).forEach((l) => (l.trainable = false));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const runner = createSplitModelRunner(model, null);
  const tail = runner.split.tail;
  const feats = tail.inputs.map((t, i) => tf.randomUniform([BATCH, ...(t.shape.slice(1) as number[])], 0, 1, 'float32', i + 1));
  const ys = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 4), 'int32'), 4);
  const { loss, metrics } = resolveCompileArgs(model, {}, true);
  const optimizer = tf.train.adam(1e-3);
  const varList = tail.trainableWeights.map((w) => w.read() as tf.Variable);
  const meanOf = (x: tf.Tensor): tf.Scalar => (x.rank === 0 ? x : tf.mean(x)) as tf.Scalar;
  const lossFn = (): tf.Scalar => {
    const out = runner.tail(feats, true);
    for (const m of metrics) meanOf(m.fn(ys, out));
    return meanOf(loss.fn(ys, out));
  };
  const fence = (): void => void tf.engine().backend.readSync((varList[0] as tf.Variable).dataId);
  const rows: Array<[string, { wallMs: number; cpuMs: number }]> = [
    ['tail forward, no tape', timeIt(() => tf.tidy(() => void runner.tail(feats, true).dataSync()), reps)],
    ['tail forward + loss under a tape (no backward)', timeIt(() => tf.tidy(() => void tf.variableGrads(() => tf.tidy(() => { const v = lossFn(); v.dataSync(); return tf.mul(v, 0) as tf.Scalar; }), [varList[varList.length - 1]])), reps)],
    ['forward + backward (tf.variableGrads)', timeIt(() => tf.tidy(() => { const g = tf.variableGrads(lossFn, varList); g.value.dataSync(); }), reps)],
    ['Adam update (applyGradients)', (() => { const g = tf.variableGrads(lossFn, varList); const r = timeIt(() => { optimizer.applyGradients(g.grads as tf.NamedTensorMap as never); fence(); }, reps); tf.dispose([g.value, ...Object.values(g.grads)]); return r; })()],
    ['whole minimize (forward + backward + update)', timeIt(() => { (optimizer.minimize(lossFn, true, varList) as tf.Scalar).dispose(); fence(); }, reps)],
  ];
  const data = await Promise.all(feats.map(async (t) => ({ data: (await t.data()) as Float32Array, dims: t.shape })));
  for (const threads of [1, 2]) {
    const trainer = await createTailTrainer(tail, 'categorical', { threads });
    const step = async (update: boolean): Promise<void> => {
      const r = await trainer.step(data, ys);
      if (update) applyGradients(optimizer, r.gradients);
      tf.dispose([r.output, ...r.gradients.map((g) => g.tensor)]);
      fence();
    };
    rows.push([`ONNX Runtime step (TailTrainer, ${threads} thread${threads === 1 ? '' : 's'}): forward + backward, gradients as tensors`, await timeAsync(() => step(false), reps)]);
    rows.push([`the same + Adam update in TF.js (applyGradients, ${threads} thread${threads === 1 ? '' : 's'})`, await timeAsync(() => step(true), reps)]);
    trainer.dispose();
  }
  console.log(`tail-step: ${describeBackend()}; batch ${BATCH}; cut ${runner.split.cutTensors.length} tensors; ${varList.length} trainable variables; median of ${reps}`);
  console.log('| stage | wall ms | CPU ms (all threads) |\n|---|---:|---:|');
  for (const [name, r] of rows) console.log(`| ${name} | ${r.wallMs.toFixed(1)} | ${r.cpuMs.toFixed(1)} |`);
  const info = await tf.profile(() => tf.tidy(() => { const g = tf.variableGrads(lossFn, varList); g.value.dataSync(); }));
  const byOp = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const e = byOp.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n += 1;
    byOp.set(k.name, e);
  }
  const total = [...byOp.values()].reduce((s, e) => s + e.ms, 0);
  console.log(`\ntf.profile of forward + backward: ${total.toFixed(1)} ms of kernels (nested kernels count twice), ${info.kernels.length} kernel calls`);
  console.log('| op | ms | calls |\n|---|---:|---:|');
  for (const [name, e] of [...byOp.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`| ${name} | ${e.ms.toFixed(1)} | ${e.n} |`);
  console.log('\nheaviest kernel calls (shapes in → out):');
  for (const k of [...info.kernels].sort((a, b) => (b.kernelTimeMs as number) - (a.kernelTimeMs as number)).slice(0, 12)) {
    console.log(`  ${k.name} ${JSON.stringify(k.inputShapes)} → ${JSON.stringify(k.outputShapes)}: ${(k.kernelTimeMs as number).toFixed(1)} ms`);
  }
  tf.dispose([...feats, ys]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
