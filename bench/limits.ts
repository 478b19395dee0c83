/**
 * The physical limit the speed benchmarks are measured against (issue 13): the arithmetic a model
 * needs per image, counted from its layers, and this machine's fp32 matrix-multiply peak measured
 * in the same run (ONNX Runtime's Gemm here; bench/walkthrough.py `peak` measures PyTorch's
 * torch.mm). Every img/s then also reads as GFLOP/s and as a fraction of the peak.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { loadOnnxRuntime } from '../src/acceleration/onnx-prefix-engine';
import { toOnnx } from '../src/acceleration/to-onnx';

/** FLOPs per image of one part of a model (multiply-adds of Conv2D and Dense layers counted as 2). */
export interface PartFlops {
  /** Forward pass. */
  forward: number;
  /** Backward pass: weight gradients of trainable kernels plus input gradients where a trainable weight lies upstream. */
  backward: number;
}

/** FLOPs per image of a model split at its frozen prefix (see `splitFrozenPrefix`). */
export interface ModelFlops {
  /** The frozen prefix (inference only: no backward). */
  prefix: PartFlops;
  /** The trainable tail. */
  tail: PartFlops;
  /** Whole forward pass (prediction). */
  forward: number;
  /** One training image: prefix forward + tail forward + tail backward. */
  train: number;
  /** Conv2D and Dense layers counted. */
  layers: number;
}

interface Node {
  inboundLayers: tf.layers.Layer[];
}

/** Multiply-adds of one Conv2D or Dense layer for one image (0 for other layers). */
function macs(layer: tf.layers.Layer): number {
  const cls = layer.getClassName();
  if (cls !== 'Conv2D' && cls !== 'Dense') return 0;
  const kernel = layer.weights.find((w) => w.originalName.endsWith('kernel'));
  if (kernel === undefined) return 0;
  const k = kernel.shape.reduce((a: number, b) => a * (b ?? 1), 1); // kh·kw·cin·cout, or in·out
  const out = layer.outputShape as number[];
  return cls === 'Conv2D' ? k * (out[1] as number) * (out[2] as number) : k;
}

/**
 * Counts the FLOPs per image of `model`, whose first `prefixLayers` entries of `model.layers` form
 * the frozen prefix (`splitFrozenPrefix(model).prefixLayerCount`). Only Conv2D and Dense layers
 * are counted (everything else in InceptionV3 — batch normalisation, activations, pooling,
 * concatenation — is elementwise and under 1 % of the work). Backward: a trainable kernel costs
 * one forward's worth for its gradient, and a layer whose input leads back to a trainable weight
 * another forward's worth for the input gradient.
 *
 * @param model - a built functional model (its layers' output shapes known), not split again here
 * @param prefixLayers - number of leading `model.layers` run frozen
 * @returns see {@link ModelFlops}
 */
export function modelFlops(model: tf.LayersModel, prefixLayers: number): ModelFlops {
  const upstreamTrainable = new Map<tf.layers.Layer, boolean>();
  const prefix: PartFlops = { forward: 0, backward: 0 };
  const tail: PartFlops = { forward: 0, backward: 0 };
  let counted = 0;
  model.layers.forEach((layer, i) => {
    const inPrefix = i < prefixLayers;
    const node = (layer as unknown as { inboundNodes: Node[] }).inboundNodes[0];
    const inputsNeedGrad = !inPrefix && (node?.inboundLayers ?? []).some((l) => upstreamTrainable.get(l) === true);
    const trainable = !inPrefix && layer.trainable && layer.trainableWeights.length > 0;
    upstreamTrainable.set(layer, trainable || inputsNeedGrad);
    const m = macs(layer);
    if (m === 0) return;
    counted++;
    const part = inPrefix ? prefix : tail;
    part.forward += 2 * m;
    if (!inPrefix) part.backward += (trainable && layer.trainableWeights.some((w) => w.originalName.endsWith('kernel')) ? 2 * m : 0) + (inputsNeedGrad ? 2 * m : 0);
  });
  return { prefix, tail, forward: prefix.forward + tail.forward, train: prefix.forward + tail.forward + tail.backward, layers: counted };
}

/** Result of {@link ortMatmulPeak}. */
export interface MatmulPeak {
  /** GFLOP/s per matrix size n (n×n times n×n). */
  gflops: Record<string, number>;
  /** The best of them. */
  peakGflops: number;
  /** What was measured. */
  backend: string;
}

/**
 * fp32 matrix-multiply speed of ONNX Runtime on this machine: one Dense layer (n→n, no bias)
 * converted with `toOnnx` (an ONNX Gemm, MLAS's sgemm) run on an n×n input, best of 3 rounds of
 * ~20 GFLOP each, for each n.
 *
 * @param threads - intra-op threads. Default `os.availableParallelism()` (as the prefix engine)
 * @param sizes - matrix sizes. Default 1024, 2048, 4096
 * @returns see {@link MatmulPeak}
 */
export async function ortMatmulPeak(threads = os.availableParallelism(), sizes = [1024, 2048, 4096]): Promise<MatmulPeak> {
  const ort = loadOnnxRuntime();
  const gflops: Record<string, number> = {};
  for (const n of sizes) {
    const input = tf.input({ shape: [n] });
    const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: n, useBias: false, kernelInitializer: 'glorotUniform' }).apply(input) as tf.SymbolicTensor });
    const session = await ort.InferenceSession.create(toOnnx(model), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    model.dispose();
    const x = new Float32Array(n * n);
    for (let i = 0; i < x.length; i++) x[i] = (i % 97) / 97;
    const feeds = { [session.inputNames[0] as string]: new ort.Tensor('float32', x, [n, n]) };
    await session.run(feeds);
    const reps = Math.max(2, Math.round(2e10 / (2 * n ** 3)));
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const t = performance.now();
      for (let r = 0; r < reps; r++) await session.run(feeds);
      best = Math.max(best, (2 * n ** 3 * reps) / ((performance.now() - t) / 1000) / 1e9);
    }
    gflops[String(n)] = best;
    await session.release();
  }
  return { gflops, peakGflops: Math.max(...Object.values(gflops)), backend: `ONNX Runtime ${ort.env.versions?.common ?? ''} Gemm fp32 (${threads} threads)`.replace('  ', ' ') };
}

/**
 * `39.4 GFLOP/s = 9.7 % of peak` for a rate of images that each cost `flopsPerImage`.
 *
 * @param imgPerS - images per second
 * @param flopsPerImage - FLOPs one image costs in that measurement
 * @param peakGflops - the machine's measured peak
 * @returns the phrase
 */
export function ofPeak(imgPerS: number, flopsPerImage: number, peakGflops: number): string {
  const g = (imgPerS * flopsPerImage) / 1e9;
  return `${g.toFixed(1)} GFLOP/s = ${((100 * g) / peakGflops).toFixed(1)} % of peak`;
}

/** `5.71 GFLOP` style. */
export function gflop(flops: number): string {
  return flops >= 1e8 ? `${(flops / 1e9).toFixed(3)} GFLOP` : `${(flops / 1e6).toFixed(1)} MFLOP`;
}
