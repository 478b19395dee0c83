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
  /**
   * Computes the outputs of the samples at `misses` (batch positions, ascending), in that order:
   * one list of cut-tensor outputs per chunk of consecutive misses, chunks in order.
   */
  compute(misses: number[]): Promise<PrefixRunOutput[][]>;
}

/**
 * Number of values in a tensor of these dims.
 *
 * @returns the product of `dims` (1 for none)
 */
export function product(dims: ReadonlyArray<number>): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * One tensor per cut tensor from outputs computed in chunks (concatenated along the batch in the
 * backend, which reuses its memory, rather than in a new JavaScript array).
 *
 * @param parts - per chunk, one output per cut tensor
 * @returns one tensor per cut tensor; the caller disposes them
 */
export function tensorsFromChunks(parts: PrefixRunOutput[][]): tf.Tensor[] {
  const first = parts[0] as PrefixRunOutput[];
  if (parts.length === 1) return first.map((o) => tf.tensor(o.data, o.dims));
  return first.map((_, k) => tf.tidy(() => tf.concat(parts.map((part) => tf.tensor((part[k] as PrefixRunOutput).data, (part[k] as PrefixRunOutput).dims)), 0)));
}
/**
 * One flat array per cut tensor from outputs computed in chunks, for a tail that runs outside
 * TF.js: a single chunk's own arrays (no copy), else the chunks copied one after the other.
 *
 * @param parts - per chunk, one output per cut tensor
 * @returns one output per cut tensor, `[total rows, ...]`; read only (a single chunk's arrays may
 *   also be views of feature-cache entries)
 */
export function arraysFromChunks(parts: PrefixRunOutput[][]): PrefixRunOutput[] {
  const first = parts[0] as PrefixRunOutput[];
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, part) => n + ((part[0] as PrefixRunOutput).dims[0] as number), 0);
  return first.map((o, k) => {
    const data = new Float32Array(rows * product(o.dims.slice(1)));
    let offset = 0;
    for (const part of parts) {
      const chunk = (part[k] as PrefixRunOutput).data;
      data.set(chunk, offset);
      offset += chunk.length;
    }
    return { data, dims: [rows, ...o.dims.slice(1)] };
  });
}

/**
 * Prefix outputs of a batch given by its files, computing only what the cache lacks, as chunks of
 * consecutive samples in batch order (the computed chunks when nothing was cached, else one part
 * per sample); assemble them with {@link tensorsFromChunks} or {@link arraysFromChunks}.
 *
 * @returns per part, one output per cut tensor; the arrays may be views of cache entries (read only)
 * @throws whatever `compute` throws
 * @example
 * const features = arraysFromChunks(await cachedPrefixParts({ cache, fingerprint, filepaths, preprocessingKey, compute }));
 */
export async function cachedPrefixParts(args: CachedPrefixOutputsArgs): Promise<PrefixRunOutput[][]> {
  const { cache, fingerprint, filepaths, preprocessingKey } = args;
  const n = filepaths.length;
  // Synchronous stats (≈ 10 µs each): the computation below then starts without waiting on the
  // libuv pool (busy with image decoding), so a batch started ahead reaches its engine at once.
  const keys = filepaths.map((f) => cache?.keyOfSync(f, preprocessingKey, fingerprint));
  const found: Array<CachedFeatures | undefined> = cache ? await Promise.all(keys.map((k) => (k === undefined ? undefined : cache.get(k)))) : keys.map(() => undefined);
  const misses = found.flatMap((f, i) => (f === undefined ? [i] : []));
  if (misses.length > 0) {
    const parts = await args.compute(misses);
    if (misses.length === n && cache === undefined) return parts; // nothing to store
    // Entries are views into the chunks' outputs (no copies); an entry keeps its chunk's buffer alive.
    const shapes = (parts[0] as PrefixRunOutput[]).map((o) => o.dims.slice(1));
    const sizes = shapes.map(product);
    const stores: Array<Promise<void>> = [];
    let j = 0;
    for (const part of parts) {
      const rows = (part[0] as PrefixRunOutput).dims[0] as number;
      for (let r = 0; r < rows; r++, j++) {
        const i = misses[j] as number;
        const features: CachedFeatures = { shapes, data: part.map((o, k) => o.data.subarray(r * (sizes[k] as number), (r + 1) * (sizes[k] as number))) };
        found[i] = features;
        const key = keys[i];
        if (cache && key !== undefined) stores.push(cache.set(key, features));
      }
    }
    await Promise.all(stores);
    if (misses.length === n) return parts; // the batch in order: no reassembly
  }
  return found.map((f) => (f as CachedFeatures).shapes.map((shape, k) => ({ data: (f as CachedFeatures).data[k] as Float32Array, dims: [1, ...shape] })));
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
  return tensorsFromChunks(await cachedPrefixParts(args));
}
