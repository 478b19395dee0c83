/**
 * A PrefixEngine that runs the frozen prefix on TF.js itself (whatever backend is active, e.g.
 * tfjs-node-gpu) in inference mode, with the same per-image feature cache as the ONNX Runtime
 * engine: deterministic batches given by their files (`predictFiles`, validation and prediction)
 * decode and compute only the images whose outputs are not cached.
 *
 * Its fingerprint (part of every cache key) hashes the prefix's architecture and weights; it is
 * recomputed when a weight's storage changes (TF.js gives a variable new storage on every
 * `assign`, hence on `setWeights`/`loadWeights`), so changed weights never reuse stale outputs.
 *
 * No Keras original.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { cachedPrefixOutputs, type PrefixRunOutput } from './cached-outputs';
import type { FeatureCache } from './feature-cache';
import { sameStorage, weightStorage } from './weight-storage';
import type { FilePrefixEngine, PixelBatch, PrefixEngineMeta } from './engine';

/** Options of {@link createTfjsPrefixEngine}. */
export interface TfjsPrefixEngineArgs {
  /** Per-image cache of prefix outputs for deterministic batches, or false. Default false (none). */
  cache?: FeatureCache | false;
}

/** Runs a frozen prefix on TF.js. Create with {@link createTfjsPrefixEngine}. */
export class TfjsPrefixEngine implements FilePrefixEngine {
  /** The cache, or undefined. */
  readonly cache: FeatureCache | undefined;
  private storage: object[] = [];
  private fingerprintValue = '';

  /** Use {@link createTfjsPrefixEngine}. */
  constructor(readonly prefix: tf.LayersModel, args: TfjsPrefixEngineArgs = {}) {
    this.cache = args.cache === false ? undefined : args.cache;
  }

  /** A hash of the prefix (architecture and weights) as of the last batch; part of every cache key. */
  get fingerprint(): string {
    return this.fingerprintValue;
  }

  /** Re-hashes the prefix when a weight's storage changed since the last hash. */
  private async refresh(): Promise<string> {
    const now = weightStorage(this.prefix);
    if (sameStorage(now, this.storage) && this.fingerprintValue !== '') return this.fingerprintValue;
    const hash = createHash('sha256').update(JSON.stringify(this.prefix.toJSON(null, false)));
    for (const w of this.prefix.weights) {
      const values = (await w.read().data()) as Float32Array;
      hash.update(w.name).update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    }
    this.storage = now;
    this.fingerprintValue = `tfjs-${hash.digest('hex').slice(0, 32)}`;
    return this.fingerprintValue;
  }

  private apply(x: tf.Tensor): tf.Tensor[] {
    return tf.tidy(() => {
      const out = this.prefix.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      return Array.isArray(out) ? out : [out];
    });
  }

  /**
   * Computes the prefix outputs of a batch.
   *
   * @param x - images `[batch, height, width, channels]`; not disposed
   * @param meta - with `deterministic`, `filepaths` and `preprocessingKey`, and a cache, per-image
   *   outputs are looked up and only the misses computed
   * @returns one tensor per cut tensor; the caller disposes them
   */
  async predict(x: tf.Tensor4D, meta?: PrefixEngineMeta): Promise<tf.Tensor[]> {
    const n = x.shape[0];
    const filepaths = meta?.filepaths;
    const key = meta?.preprocessingKey;
    if (!this.cache || meta?.deterministic !== true || key === undefined || filepaths === undefined || filepaths.length !== n) return this.apply(x);
    return this.predictFiles(filepaths, key, x.shape.slice(1), async (positions) => {
      const picked = tf.tidy(() => tf.gather(x, tf.tensor1d(positions, 'int32')));
      const data = (await picked.data()) as Float32Array;
      picked.dispose();
      return data;
    });
  }

  /**
   * Computes the prefix outputs of a batch given as pixels: with a cache and a deterministic `meta`,
   * only the misses are loaded and computed; otherwise every image is loaded into one tensor (TF.js
   * needs one).
   *
   * @param batch - the size, one image's shape, and `load` (see `PixelBatch`)
   * @param meta - as in {@link predict}
   * @returns one tensor per cut tensor; the caller disposes them
   * @throws whatever `load` throws
   */
  async predictPixels(batch: PixelBatch, meta?: PrefixEngineMeta): Promise<tf.Tensor[]> {
    const n = batch.size;
    const { filepaths, preprocessingKey } = meta ?? {};
    if (this.cache && meta?.deterministic === true && preprocessingKey !== undefined && filepaths !== undefined && filepaths.length === n) {
      return this.predictFiles(filepaths, preprocessingKey, [...batch.imageShape], (positions) => batch.load(positions));
    }
    const x = tf.tensor4d(await batch.load(Array.from({ length: n }, (_, i) => i)), [n, ...batch.imageShape] as [number, number, number, number]);
    try {
      return this.apply(x);
    } finally {
      x.dispose();
    }
  }

  /**
   * Whether the cache probably holds the outputs of `filepath` (one `fs.statSync`): a hint for
   * prefetching, not a promise.
   *
   * @returns false without a cache, before the first batch, or when the file cannot be examined
   */
  hasCached(filepath: string, preprocessingKey: string): boolean {
    if (this.fingerprintValue === '') return false;
    const key = this.cache?.keyOfSync(filepath, preprocessingKey, this.fingerprintValue);
    return key !== undefined && (this.cache as FeatureCache).has(key);
  }

  /**
   * Prefix outputs of a batch of deterministic images given by their files: cached outputs are
   * looked up first and only the misses are loaded (one `load` call) and computed.
   *
   * @param filepaths - the file of each sample, in batch order
   * @param preprocessingKey - see `DirectoryIterator.preprocessingKey`
   * @param sampleShape - `[height, width, channels]` of one image
   * @param load - resolves to the NHWC float32 pixels of the batch positions asked for, in that order
   * @returns one tensor per cut tensor, `[filepaths.length, ...]`; the caller disposes them
   * @throws whatever `load` throws
   */
  async predictFiles(filepaths: string[], preprocessingKey: string, sampleShape: number[], load: (positions: number[]) => Promise<Float32Array>): Promise<tf.Tensor[]> {
    const fingerprint = this.cache ? await this.refresh() : '';
    return cachedPrefixOutputs({
      cache: this.cache,
      fingerprint,
      filepaths,
      preprocessingKey,
      compute: async (misses): Promise<PrefixRunOutput[][]> => {
        const x = tf.tensor4d(await load(misses), [misses.length, ...sampleShape] as [number, number, number, number]);
        const outs = this.apply(x);
        x.dispose();
        try {
          return [await Promise.all(outs.map(async (o) => ({ data: (await o.data()) as Float32Array, dims: o.shape })))];
        } finally {
          tf.dispose(outs);
        }
      },
    });
  }

  /** E.g. `TF.js tensorflow` (the active backend). */
  describe(): string {
    return `TF.js ${tf.getBackend()}${this.cache ? ' (feature cache)' : ''}`;
  }

  /** Nothing to release (the prefix belongs to the caller). */
  dispose(): void {}
}

/**
 * A prefix engine that runs `prefix` on the active TF.js backend, optionally with a feature cache.
 *
 * @param prefix - `splitFrozenPrefix(model).prefix`; stays owned by the caller
 * @param args - `cache` (default none)
 * @returns the engine
 * @example
 * const engine = createTfjsPrefixEngine(splitFrozenPrefix(model).prefix!, { cache: createFeatureCache() });
 * await evaluate(model, valGen, { prefixEngine: engine }); // a second call decodes nothing
 */
export function createTfjsPrefixEngine(prefix: tf.LayersModel, args: TfjsPrefixEngineArgs = {}): TfjsPrefixEngine {
  return new TfjsPrefixEngine(prefix, args);
}
