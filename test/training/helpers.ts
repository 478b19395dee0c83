// Shared fixtures of the training tests: a tiny branched CNN and an in-memory BatchSource.
import * as tf from '@tensorflow/tfjs';
import type { Batch, BatchSource } from '../../src/training/types';
import type { TrainingContext } from '../../src/training/callbacks/callback';
import { createRandom } from '../../src/util/random';

/**
 * input 8×8×3 → conv c1 → BN bn1 → relu → conv c2 → { conv c3a 1×1, conv c3b 3×3 } → concat →
 * GAP → dense(3, softmax). `freeze: 'multi'` freezes c1, bn1, c2 and c3a, so the cut crosses two
 * tensors (c2's output feeding c3b, c3a's output feeding concat) and the tail mixes them.
 */
export function tinyModel(freeze: 'none' | 'multi' | 'base' = 'multi', seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [8, 8, 3], name: 'img' });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn1' }).apply(c1) as tf.SymbolicTensor;
  const a = tf.layers.activation({ activation: 'relu', name: 'act1' }).apply(bn) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2', kernelInitializer: init(2) }).apply(a) as tf.SymbolicTensor;
  const c3a = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', name: 'c3a', kernelInitializer: init(3) }).apply(c2) as tf.SymbolicTensor;
  const c3b = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c3b', kernelInitializer: init(4) }).apply(c2) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'mixed' }).apply([c3a, c3b]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(cat) as tf.SymbolicTensor;
  const bn2 = tf.layers.batchNormalization({ name: 'bn2' }).apply(gap) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions', kernelInitializer: init(5) }).apply(bn2) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: `tiny_${freeze}` });
  const frozen = freeze === 'multi' ? ['c1', 'bn1', 'c2', 'c3a'] : freeze === 'base' ? ['c1', 'bn1', 'c2', 'c3a', 'c3b'] : [];
  for (const name of frozen) model.getLayer(name).trainable = false;
  return model;
}

/** Names of layers by where the multi-cut split puts them. */
export const FROZEN_LAYERS = ['c1', 'bn1', 'c2', 'c3a'];

/**
 * A learnable toy set: class = the brightest colour channel. Deterministic (seeded), no shuffling,
 * `next()` loops forever like the preprocessing DirectoryIterator; `reset()` restarts a pass.
 */
export class ArraySource implements BatchSource {
  readonly length: number;
  readonly deterministic = true;
  readonly shuffle = false;
  readonly classNames = ['red', 'green', 'blue'];
  readonly images: Float32Array[];
  readonly labels: number[];
  private index = 0;
  constructor(readonly samples: number, readonly batchSize: number, seed = 7, readonly sparse = false) {
    const rng = createRandom(seed);
    this.images = [];
    this.labels = [];
    for (let i = 0; i < samples; i++) {
      const label = i % 3;
      const img = new Float32Array(8 * 8 * 3);
      for (let p = 0; p < 64; p++) for (let c = 0; c < 3; c++) img[p * 3 + c] = rng.uniform(0, 0.6) + (c === label ? 0.4 : 0);
      this.images.push(img);
      this.labels.push(label);
    }
    this.length = Math.ceil(samples / batchSize);
  }
  get classes(): number[] {
    return this.labels;
  }
  reset(): void {
    this.index = 0;
  }
  async next(): Promise<Batch> {
    const start = this.index * this.batchSize;
    const end = Math.min(this.samples, start + this.batchSize);
    this.index = (this.index + 1) % this.length;
    const n = end - start;
    const data = new Float32Array(n * 192);
    for (let i = 0; i < n; i++) data.set(this.images[start + i], i * 192);
    const labels = this.labels.slice(start, end);
    return {
      xs: tf.tensor4d(data, [n, 8, 8, 3]),
      ys: this.sparse ? tf.tensor1d(labels, 'float32') : tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat()),
      filepaths: labels.map((_, i) => `img_${String(start + i).padStart(3, '0')}.png`),
    };
  }
}

/** Flattens all weights of a model into plain arrays (for bit-exact comparisons). */
export function weightValues(model: tf.LayersModel): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  model.weights.forEach((w, i) => (out[`${i}:${w.name.replace(/_\d+$/, '')}`] = Array.from(w.read().dataSync())));
  return out;
}

/** A TrainingContext over a real model and optimizer, for driving callbacks by hand. */
export function handContext(model: tf.LayersModel, optimizer: tf.Optimizer): TrainingContext {
  return {
    layersModel: model,
    optimizer,
    stopTraining: false,
    initialEpoch: 0,
    callbacks: [],
    getWeights: () => model.weights.map((w) => w.read().clone()),
    setWeights: (ws) => model.setWeights(ws),
  };
}

/** Captures console.log / console.warn output while `fn` runs. */
export async function captureConsole<T>(fn: () => Promise<T>): Promise<{ result: T; log: string[]; warn: string[] }> {
  const log: string[] = [];
  const warnings: string[] = [];
  const origLog = console.log;
  const origWarn = console.warn;
  console.log = (...a: unknown[]) => void log.push(a.join(' '));
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  try {
    return { result: await fn(), log, warn: warnings };
  } finally {
    console.log = origLog;
    console.warn = origWarn;
  }
}
