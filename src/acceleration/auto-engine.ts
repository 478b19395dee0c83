/**
 * The default prefix engine of `fit`, `evaluate` and `predictIterator`: the frozen prefix runs on
 * ONNX Runtime when that helps, with a shared feature cache for deterministic batches, and one
 * switch turns it off (`accelerate: false`, or the environment variable `TRANSFERLAB_ACCELERATE=0`).
 *
 * "Helps": onnxruntime-node loads, the model has a frozen prefix that converts, and TF.js runs on
 * wasm or cpu (ONNX Runtime's CPU kernels are several times faster there). On any other backend
 * (tfjs-node, tfjs-node-gpu) the first batch runs on both and the faster one is kept.
 *
 * No Keras original.
 */
import * as tf from '@tensorflow/tfjs';
import { createFeatureCache, type FeatureCache } from './feature-cache';
import { createOnnxPrefixEngine, type OnnxPrefixEngine } from './onnx-prefix-engine';
import { readsFiles, type FilePrefixEngine, type PixelBatch, type PrefixEngine, type PrefixEngineMeta } from './engine';
import { createTfjsPrefixEngine } from './tfjs-prefix-engine';

/** Options of {@link autoPrefixEngine}. */
export interface AutoPrefixEngineArgs {
  /** False turns acceleration off (so does `TRANSFERLAB_ACCELERATE=0`). Default true. */
  accelerate?: boolean;
  /** Prints one line saying what runs where when an engine is first made for a prefix. Default true. */
  verbose?: boolean;
  /** Feature cache for deterministic batches, or false. Default one process-wide cache of 1 GiB ({@link defaultFeatureCache}). */
  cache?: FeatureCache | false;
  /** ONNX Runtime threads. Default `os.availableParallelism()`. */
  threads?: number;
}

const engines = new WeakMap<tf.LayersModel, Promise<PrefixEngine | undefined>>();
let sharedCache: FeatureCache | undefined;

/**
 * The process-wide feature cache used by {@link autoPrefixEngine} (memory only, 1 GiB), created on
 * first use.
 *
 * @returns the shared cache
 * @example
 * console.log(defaultFeatureCache().stats); // { hits: 160, misses: 80, ... }
 */
export function defaultFeatureCache(): FeatureCache {
  sharedCache ??= createFeatureCache();
  return sharedCache;
}

/**
 * Whether acceleration is on: `accelerate` when given, else off when the environment variable
 * `TRANSFERLAB_ACCELERATE` is `0`, `false` or `off`, else on.
 *
 * @param accelerate - an explicit choice, or undefined
 * @returns true when {@link autoPrefixEngine} may build an engine
 * @example
 * accelerationEnabled(); // true unless TRANSFERLAB_ACCELERATE=0
 */
export function accelerationEnabled(accelerate?: boolean): boolean {
  if (accelerate !== undefined) return accelerate;
  const env = (process.env.TRANSFERLAB_ACCELERATE ?? '').trim().toLowerCase();
  return !(env === '0' || env === 'false' || env === 'off' || env === 'no');
}

/**
 * An engine that times its first batch on both `a` and `b` and keeps the faster (`a` wins ties).
 * Both results of the first batch are computed (each engine caching its own when it can); `a`'s
 * are returned. Batches asked for while the
 * race runs wait for its outcome. When both engines read files with a feature cache (the ONNX
 * Runtime engine and `createTfjsPrefixEngine` with a cache), so does the racing engine: a warm
 * validation pass decodes nothing, whichever engine won. Exported for tests.
 *
 * @param a - preferred engine (e.g. ONNX Runtime)
 * @param b - alternative (e.g. TF.js on tfjs-node-gpu)
 * @param onChoice - called once with the chosen engine and the two times in ms
 * @returns an engine; disposing it disposes both
 * @example
 * const engine = racingPrefixEngine(onnx, tfjs, (e, ta, tb) => console.log(e.describe(), ta, tb));
 */
export function racingPrefixEngine(a: PrefixEngine, b: PrefixEngine, onChoice?: (chosen: PrefixEngine, msA: number, msB: number) => void): PrefixEngine {
  let chosen: PrefixEngine | undefined;
  let racing: Promise<unknown> | undefined;
  const settled = async (): Promise<PrefixEngine | undefined> => {
    if (chosen === undefined && racing !== undefined) await racing.catch(() => undefined);
    return chosen;
  };
  const race = async (x: tf.Tensor4D, meta?: PrefixEngineMeta): Promise<tf.Tensor[]> => {
    // Time b first, then a; both with the batch's meta, so that both fill their caches.
    let t = performance.now();
    tf.dispose(await b.predict(x, meta));
    const msB = performance.now() - t;
    t = performance.now();
    const out = await a.predict(x, meta);
    const msA = performance.now() - t;
    chosen = msA <= msB ? a : b;
    onChoice?.(chosen, msA, msB);
    return out;
  };
  const engine: PrefixEngine = {
    async predict(x: tf.Tensor4D, meta?: PrefixEngineMeta) {
      const winner = await settled();
      if (winner) return winner.predict(x, meta);
      const run = race(x, meta);
      racing = run;
      return run;
    },
    async predictPixels(batch: PixelBatch, meta?: PrefixEngineMeta) {
      const winner = await settled();
      if (winner?.predictPixels) return winner.predictPixels(batch, meta);
      // The race (and a winner without predictPixels) needs the whole batch as a tensor.
      const x = tf.tensor4d(await batch.load(Array.from({ length: batch.size }, (_, i) => i)), [batch.size, ...batch.imageShape] as [number, number, number, number]);
      try {
        return await engine.predict(x, meta);
      } finally {
        x.dispose();
      }
    },
    describe: () => (chosen ? chosen.describe() : `${a.describe()} or ${b.describe()}, whichever is faster on the first batch`),
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
  if (!readsFiles(a) || !readsFiles(b)) return engine;
  const files: FilePrefixEngine = {
    ...engine,
    cache: a.cache,
    hasCached: (filepath, key) => (chosen === undefined ? false : (chosen as FilePrefixEngine).hasCached(filepath, key)),
    predictFiles: (filepaths, key, sampleShape, load) => (engine.predictPixels as NonNullable<PrefixEngine['predictPixels']>)({ size: filepaths.length, imageShape: sampleShape, load }, { filepaths, deterministic: true, preprocessingKey: key }),
  };
  return files;
}

/** What {@link autoPrefixEngine} reads of the batches it will run (a training `BatchSource` has it). */
export interface EngineSource {
  /** Whether the same position always yields the same pixels (no augmentation). */
  readonly deterministic?: boolean;
}

/**
 * The prefix engine `fit`, `evaluate` and `predictIterator` use when none is given: an ONNX Runtime
 * engine for `prefix` with the shared feature cache, made once per prefix and reused (it rebuilds
 * itself when the prefix's weights change). Resolves to undefined (run the prefix on TF.js) when
 * acceleration is off, there is no prefix, onnxruntime-node does not load or a prefix layer does
 * not convert — the last two with a one-line note when `verbose`.
 *
 * @param model - the whole model (for the report line)
 * @param prefix - `splitFrozenPrefix(model).prefix`, or null
 * @param source - the batches to be run (a training `BatchSource`; only its `deterministic` is read,
 *   for the report line). Default none.
 * @param args - see {@link AutoPrefixEngineArgs}
 * @returns an engine owned by this module (do not dispose it), or undefined
 * @example
 * const engine = await autoPrefixEngine(model, splitFrozenPrefix(model).prefix, valGen);
 * // Frozen prefix (296 of 311 layers, 5 cut tensors) on ONNX Runtime CPU (2 threads); trainable tail (15 layers); feature cache on for deterministic batches (validation/prediction)
 */
export async function autoPrefixEngine(model: tf.LayersModel, prefix: tf.LayersModel | null, source?: EngineSource, args: AutoPrefixEngineArgs = {}): Promise<PrefixEngine | undefined> {
  if (!accelerationEnabled(args.accelerate) || prefix === null) return undefined;
  let pending = engines.get(prefix);
  if (pending === undefined) {
    pending = makeEngine(model, prefix, source, args);
    engines.set(prefix, pending);
  }
  return pending;
}

async function makeEngine(model: tf.LayersModel, prefix: tf.LayersModel, source: EngineSource | undefined, args: AutoPrefixEngineArgs): Promise<PrefixEngine | undefined> {
  const say = (line: string): void => {
    if (args.verbose !== false) console.log(line);
  };
  const cache = args.cache === undefined ? defaultFeatureCache() : args.cache;
  let onnx: OnnxPrefixEngine;
  try {
    onnx = await createOnnxPrefixEngine(prefix, { threads: args.threads, cache });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    say(`Frozen prefix on TF.js ${tf.getBackend()} (ONNX Runtime not used: ${reason.split('\n')[0]})`);
    return undefined;
  }
  const backend = tf.getBackend();
  const prefixLayers = prefix.layers.length;
  const inPrefix = new Set(prefix.layers);
  const tailLayers = model.layers.filter((l) => !inPrefix.has(l)).length;
  const total = model.layers.length;
  const cacheNote = cache ? `feature cache on for deterministic batches (validation/prediction${source?.deterministic === false ? '; this source augments, so it is not cached' : ''})` : 'feature cache off';
  const line = (where: string): string => `Frozen prefix (${prefixLayers} of ${total} layers, ${prefix.outputs.length} cut tensor${prefix.outputs.length === 1 ? '' : 's'}) on ${where}; ` +
    `trainable tail (${tailLayers} layers); ${cacheNote}`;
  if (backend === 'wasm' || backend === 'cpu') {
    say(line(onnx.describe().replace(/, feature cache\)$/, ')')));
    return onnx;
  }
  return racingPrefixEngine(onnx, createTfjsPrefixEngine(prefix, { cache }), (chosen, msA, msB) => {
    say(line(`${chosen === onnx ? onnx.describe().replace(/, feature cache\)$/, ')') : `TF.js ${backend}`} (first batch: ONNX Runtime ${msA.toFixed(0)} ms, TF.js ${msB.toFixed(0)} ms)`));
  });
}

