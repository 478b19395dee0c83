/**
 * The per-file cache lookup shared by every prefix engine that reads files (`OnnxPrefixEngine`,
 * the TF.js engine of `createTfjsPrefixEngine`): cached outputs are looked up first, only the
 * misses are loaded and computed, new outputs are stored, and the batch is put back together in
 * order.
 *
 * No Keras original.
 */
import * as tf from '@tensorflow/tfjs';
import type { CachedFeatures, FeatureCache } from './feature-cache';

/** One output of a prefix run: flat float32 values and their dims (batch first). */
export interface PrefixRunOutput {
  data: Float32Array;
  dims: number[];
}

/** Arguments of {@link cachedPrefixOutputs}. */
export interface CachedPrefixOutputsArgs {
  /** Where outputs are kept; undefined computes everything. */
  cache: FeatureCache | undefined;
  /** Identifies the prefix (architecture and weights); part of every key. */
  fingerprint: string;
  /** The file of each sample, in batch order. */
  filepaths: string[];
  /** See `DirectoryIterator.preprocessingKey`. */
  preprocessingKey: string;
  /** Computes the outputs of the samples at `misses` (batch positions, ascending), in that order. */
  compute(misses: number[]): Promise<PrefixRunOutput[]>;
}

function product(dims: ReadonlyArray<number>): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Prefix outputs of a batch given by its files, computing only what the cache lacks.
 *
 * @returns one tensor per cut tensor, `[filepaths.length, ...]`; the caller disposes them
 * @throws whatever `compute` throws
 * @example
 * const outs = await cachedPrefixOutputs({ cache, fingerprint, filepaths, preprocessingKey, compute: (m) => run(m) });
 */
export async function cachedPrefixOutputs(args: CachedPrefixOutputsArgs): Promise<tf.Tensor[]> {
  const { cache, fingerprint, filepaths, preprocessingKey } = args;
  const n = filepaths.length;
  // Synchronous stats (≈ 10 µs each): the computation below then starts without waiting on the
  // libuv pool (busy with image decoding), so a batch started ahead reaches its engine at once.
  const keys = filepaths.map((f) => cache?.keyOfSync(f, preprocessingKey, fingerprint));
  const found: Array<CachedFeatures | undefined> = cache ? await Promise.all(keys.map((k) => (k === undefined ? undefined : cache.get(k)))) : keys.map(() => undefined);
  const misses = found.flatMap((f, i) => (f === undefined ? [i] : []));
  if (misses.length > 0) {
    const outs = await args.compute(misses);
    if (misses.length === n && cache === undefined) return outs.map((o) => tf.tensor(o.data, o.dims)); // nothing to store: no copies
    const shapes = outs.map((o) => o.dims.slice(1));
    const sizes = shapes.map(product);
    await Promise.all(misses.map(async (i, j) => {
      const features: CachedFeatures = { shapes, data: outs.map((o, k) => o.data.slice(j * (sizes[k] as number), (j + 1) * (sizes[k] as number))) };
      found[i] = features;
      const k = keys[i];
      if (cache && k !== undefined) await cache.set(k, features);
    }));
    if (misses.length === n) return outs.map((o) => tf.tensor(o.data, o.dims)); // the batch in order: no reassembly
  }
  const first = found[0] as CachedFeatures;
  return first.shapes.map((shape, k) => {
    const size = product(shape);
    const data = new Float32Array(n * size);
    found.forEach((f, i) => data.set((f as CachedFeatures).data[k] as Float32Array, i * size));
    return tf.tensor(data, [n, ...shape]);
  });
}
