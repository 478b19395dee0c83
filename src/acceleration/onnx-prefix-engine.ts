/**
 * A PrefixEngine that runs the frozen prefix of a model (from `splitFrozenPrefix`) on ONNX Runtime
 * (onnxruntime-node, native CPU) instead of TF.js: the prefix is converted with `toOnnx` (through a
 * temporary file, see onnx-model-file.ts), fed NHWC
 * float32 and its outputs come back as TF.js tensors in the cut order. With a FeatureCache,
 * deterministic batches reuse per-image outputs and run only the misses.
 *
 * The engine remembers what it converted: the identity of every weight's storage (TF.js gives a
 * variable new storage on every `assign`, hence on `setWeights`/`loadWeights`) and the trainable
 * flags. Changed weights rebuild the session before the next batch; a prefix layer that became
 * trainable (unfrozen) makes `predict` throw, because the split itself is then different.
 *
 * No Keras original.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { OnnxRuntimeError, PrefixEngineStaleError } from './errors';
import { arraysFromChunks, cachedPrefixParts, product, tensorsFromChunks, type PrefixRunOutput } from './cached-outputs';
import type { FilePrefixEngine, PixelBatch, PrefixEngineMeta } from './engine';
import type { FeatureCache } from './feature-cache';
import { OnnxWorkerSession, type OnnxRunOutput } from './onnx-worker-session';
import { onnxModelSource } from './onnx-model-file';
import { createLeanSession, sessionOptions } from './onnx-session';
import { sameStorage, weightStorage } from './weight-storage';
import { checkInteger } from '../util/validate';

/** Options of {@link createOnnxPrefixEngine}. */
export interface OnnxPrefixEngineArgs {
  /** ONNX Runtime intra-op threads, 1–1024. Default `os.availableParallelism()`. */
  threads?: number;
  /** Per-image cache of prefix outputs for deterministic batches, or false. Default false (none). */
  cache?: FeatureCache | false;
  /**
   * Runs the session in a worker thread, so the main thread keeps decoding images and running the
   * TF.js tail while ONNX Runtime computes (onnxruntime-node's `run` blocks the thread it runs on).
   * Falls back to the main thread when the worker cannot start. Default true, unless the
   * environment variable `TRANSFERLAB_ORT_WORKER` is `0`.
   */
  worker?: boolean;
  /**
   * Largest number of images per ONNX Runtime call, 1–4096: a batch is run in chunks of this size,
   * each as soon as its images are decoded, so ONNX Runtime starts while the rest of the batch
   * still decodes. Measured here (InceptionV3 prefix at 224, 2 threads) chunks of 8 run as fast per
   * image as whole batches of 32 and need a quarter of the activation memory. Default 8.
   */
  chunkSize?: number;
}

/** Counters of an {@link OnnxPrefixEngine}. */
export interface OnnxPrefixEngineStats {
  /** Batches asked for. */
  batches: number;
  /** ONNX Runtime calls made, one per chunk (a batch answered wholly from the cache makes none). */
  runs: number;
  /** Samples computed by ONNX Runtime. */
  samples: number;
  /** Times the session was rebuilt because the prefix's weights changed. */
  rebuilds: number;
}

let ortModule: typeof Ort | undefined;

/**
 * Loads onnxruntime-node (lazily, so that the library works where it is missing).
 *
 * @returns the module
 * @throws Error from `require` when the package or its native binary is unavailable
 */
export function loadOnnxRuntime(): typeof Ort {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ortModule ??= require('onnxruntime-node') as typeof Ort;
  return ortModule;
}


/**
 * Runs a frozen prefix on ONNX Runtime. Create with {@link createOnnxPrefixEngine}.
 */
export class OnnxPrefixEngine implements FilePrefixEngine {
  /** Intra-op threads of the session. */
  readonly threads: number;
  /** Largest number of images per ONNX Runtime call. */
  readonly chunkSize: number;
  /** The cache, or undefined. */
  readonly cache: FeatureCache | undefined;
  private session: Ort.InferenceSession | undefined;
  private remote: OnnxWorkerSession | undefined;
  private readonly useWorker: boolean;
  private outputOrder: string[] = [];
  private storage: object[] = [];
  private trainable: boolean[] = [];
  private fingerprintValue = '';
  private disposed = false;
  private readonly counters: OnnxPrefixEngineStats = { batches: 0, runs: 0, samples: 0, rebuilds: 0 };

  /** Use {@link createOnnxPrefixEngine}. */
  constructor(readonly prefix: tf.LayersModel, args: OnnxPrefixEngineArgs = {}) {
    this.threads = checkInteger('threads', args.threads ?? os.availableParallelism(), 1, 1024);
    this.chunkSize = checkInteger('chunkSize', args.chunkSize ?? 8, 1, 4096);
    this.cache = args.cache === false ? undefined : args.cache;
    this.useWorker = args.worker ?? process.env.TRANSFERLAB_ORT_WORKER !== '0';
  }

  /** Whether ONNX Runtime runs in a worker thread (false: on the calling thread). */
  get inWorker(): boolean {
    return this.remote !== undefined;
  }

  /** A hash of the converted prefix (architecture and weights); part of every cache key. */
  get fingerprint(): string {
    return this.fingerprintValue;
  }

  /** A snapshot of the counters. */
  get stats(): OnnxPrefixEngineStats {
    return { ...this.counters };
  }

  /** Converts the prefix and (re)creates the session (in the worker thread when there is one). */
  async build(): Promise<void> {
    const source = onnxModelSource(this.prefix);
    try {
      await this.open(source.model, source.fingerprint);
    } finally {
      source.dispose();
    }
  }

  /** Opens the session on `model` (a file or bytes), in the worker when there is one, and swaps it in. */
  private async open(model: string | Uint8Array, fingerprint: string): Promise<void> {
    const options = sessionOptions(this.threads);
    let names: { inputNames: readonly string[]; outputNames: readonly string[] } | undefined;
    let session: Ort.InferenceSession | undefined;
    let remote = this.remote?.alive === true ? this.remote : undefined;
    if (remote === undefined && this.useWorker) remote = OnnxWorkerSession.start();
    if (remote !== undefined) {
      try {
        // Bytes are transferred to the worker: a copy, since this thread may still need them.
        names = await remote.load(typeof model === 'string' ? model : model.slice(), options);
      } catch {
        // Fall back to this thread: a worker that cannot load onnxruntime-node is not worth
        // keeping, and a model ONNX Runtime rejects fails the same way here, with its own message.
        if (remote !== this.remote) remote.terminate();
        remote = undefined;
      }
    }
    if (remote === undefined) {
      session = await createLeanSession(loadOnnxRuntime(), model, options);
      names = session;
    }
    const { outputNames } = names as { outputNames: readonly string[] };
    const release = (): void => {
      if (session) void session.release();
      else if (remote !== this.remote) remote?.terminate();
    };
    const order = this.prefix.outputLayers.map((layer) => {
      const expected = `${layer.name}:out`;
      const name = outputNames.find((n) => n === expected);
      if (name === undefined) {
        release();
        // Internal invariants of the converter (to-onnx names every output): plain Errors on purpose.
        throw new Error(`Internal error: the ONNX model has no output '${expected}' for prefix output layer '${layer.name}' (outputs: ${outputNames.join(', ')}).`);
      }
      return name;
    });
    if (new Set(order).size !== order.length) {
      release();
      throw new Error(`Internal error: prefix outputs map to repeated ONNX outputs (${order.join(', ')}).`);
    }
    const old = this.session;
    const oldRemote = this.remote;
    this.session = session;
    this.remote = remote;
    this.outputOrder = order;
    this.storage = weightStorage(this.prefix);
    this.trainable = this.prefix.layers.map((l) => l.trainable);
    this.fingerprintValue = fingerprint;
    if (oldRemote !== undefined && oldRemote !== remote) oldRemote.terminate();
    if (old) await old.release();
  }

  /** Throws when a prefix layer was unfrozen; rebuilds when its weights changed. */
  private async ensureFresh(): Promise<void> {
    if (this.disposed) throw new OnnxRuntimeError('This OnnxPrefixEngine was disposed; create a new one with createOnnxPrefixEngine.');
    const layers = this.prefix.layers;
    if (layers.length !== this.trainable.length) {
      throw new PrefixEngineStaleError(this.prefix.name, `the prefix had ${this.trainable.length} layers when converted and has ${layers.length} now. Create a new engine for the new split.`);
    }
    layers.forEach((layer, i) => {
      if (layer.trainable && layer.weights.length > 0 && !this.trainable[i]) {
        throw new PrefixEngineStaleError(layer.name, `layer '${layer.name}' of the frozen prefix is trainable now (unfrozen), so it must train in TF.js. Split again (fit does this by itself when prefixEngine is not given) and create a new engine for the new prefix, or freeze the layer again.`);
      }
    });
    if (!sameStorage(weightStorage(this.prefix), this.storage)) {
      this.counters.rebuilds++;
      await this.build();
    } else if (this.remote !== undefined && !this.remote.alive) {
      await this.build(); // the worker died: a new one (or this thread)
    }
  }

  /**
   * Runs ONNX Runtime on `n` NHWC images; returns one flat array per cut tensor with its dims.
   * `pixels` may be detached (transferred to the worker thread): callers pass arrays they own.
   */
  private async run(pixels: Float32Array, shape: number[]): Promise<OnnxRunOutput[]> {
    let outs: OnnxRunOutput[];
    if (this.remote !== undefined) {
      outs = await this.remote.run(pixels, shape, this.outputOrder);
    } else {
      const ort = loadOnnxRuntime();
      const session = this.session as Ort.InferenceSession;
      const input = new ort.Tensor('float32', pixels, shape);
      const result = await session.run({ [session.inputNames[0] as string]: input });
      outs = this.outputOrder.map((name) => {
        const t = result[name] as Ort.Tensor;
        return { data: t.data as Float32Array, dims: t.dims.map(Number) };
      });
    }
    this.counters.runs++;
    this.counters.samples += shape[0] as number;
    return outs;
  }

  /**
   * Runs `n` images in chunks of at most `chunkSize`: every chunk's pixels are asked for at once
   * (decoding proceeds in order) and each chunk is posted to ONNX Runtime as soon as they arrive,
   * without waiting for the previous chunk's answer (the worker thread runs them in order), so
   * ONNX Runtime never waits on this thread. Returns the outputs of all `n`, in order.
   *
   * Every chunk is full size, the first included. Smaller first chunks (2, 2 and 4 images before
   * the 8s) were tried so that ONNX Runtime would start after fewer decoded images; once plain PNGs
   * decoded in ≈ 0.35 ms of CPU, the three extra runs cost more than the wait they saved
   * (`predictIterator` over 64 PNGs ÷ raw ONNX Runtime, 24 rounds alternated in one process:
   * median 0.941 with them, 0.957 without; no difference over 320 PNGs).
   *
   * @param pixelsOf - resolves to the pixels of images `from..to-1`, in an array the engine owns
   * @param onChunk - called with each chunk's first image and outputs as soon as ONNX Runtime
   *   returns them (chunks may come back out of order)
   * @returns per chunk, in order, one output per cut tensor (not concatenated: see `tensorsFromChunks`)
   */
  private async runChunks(n: number, sampleShape: number[], pixelsOf: (from: number, to: number) => Promise<Float32Array>, onChunk?: (from: number, outputs: OnnxRunOutput[]) => void): Promise<OnnxRunOutput[][]> {
    const bounds: Array<[number, number]> = [];
    for (let from = 0; from < n; from += this.chunkSize) bounds.push([from, Math.min(n, from + this.chunkSize)]);
    const inputs = bounds.map(([from, to]) => pixelsOf(from, to));
    const runs = inputs.map(async (pixels, i) => {
      const [from, to] = bounds[i] as [number, number];
      const outputs = await this.run(await pixels, [to - from, ...sampleShape]);
      onChunk?.(from, outputs);
      return outputs;
    });
    runs.forEach((r) => r.catch(() => undefined)); // the first failure surfaces below; the rest must not go unhandled
    return Promise.all(runs);
  }

  /**
   * Computes the prefix outputs of a batch of image tensors (read back once; prefer
   * {@link predictPixels} when the pixels are at hand).
   *
   * @param x - images `[batch, height, width, channels]`, float32; not disposed
   * @param meta - with `deterministic`, `filepaths` (one per sample) and `preprocessingKey`, and a
   *   cache, per-image outputs are looked up and only the misses computed
   * @returns one tensor per cut tensor, in the order of the prefix's outputs; the caller disposes them
   * @throws PrefixEngineStaleError when a prefix layer was unfrozen since the engine was built
   */
  async predict(x: tf.Tensor4D, meta?: PrefixEngineMeta): Promise<tf.Tensor[]> {
    const n = x.shape[0];
    const imageShape = x.shape.slice(1);
    const size = product(imageShape);
    // TF.js's values (perhaps the tensor's own storage): what leaves this thread is a copy.
    const pixels = (await x.data()) as Float32Array;
    const load = async (positions: number[]): Promise<Float32Array> => {
      const from = positions[0] as number;
      if (positions.every((p, i) => p === from + i)) {
        if (from === 0 && positions.length === n && this.remote === undefined) return pixels;
        return pixels.slice(from * size, (from + positions.length) * size);
      }
      const gathered = new Float32Array(positions.length * size);
      positions.forEach((i, j) => gathered.set(pixels.subarray(i * size, (i + 1) * size), j * size));
      return gathered;
    };
    return this.tensorsOf({ size: n, imageShape, load }, meta);
  }

  /**
   * Computes the prefix outputs of a batch given as pixels, loaded chunk by chunk as ONNX Runtime
   * takes them (only the cache misses, with a cache and a deterministic `meta`). No tensor is made
   * of the images.
   *
   * @param batch - the size, one image's shape, and `load` (see `PixelBatch`); each array `load`
   *   resolves to is taken over (transferred to the worker thread)
   * @param meta - as in {@link predict}
   * @returns one tensor per cut tensor, `[batch.size, ...]`; the caller disposes them
   * @throws PrefixEngineStaleError when a prefix layer was unfrozen; whatever `load` throws
   */
  predictPixels(batch: PixelBatch, meta?: PrefixEngineMeta): Promise<tf.Tensor[]> {
    return this.tensorsOf(batch, meta);
  }

  /**
   * Whether the cache probably holds the outputs of `filepath` (one `fs.statSync`, no data read):
   * a hint for prefetching, not a promise (an entry may be evicted before it is read).
   *
   * @returns false without a cache or when the file cannot be examined
   */
  hasCached(filepath: string, preprocessingKey: string): boolean {
    const key = this.cache?.keyOfSync(filepath, preprocessingKey, this.fingerprintValue);
    return key !== undefined && (this.cache as FeatureCache).has(key);
  }

  /**
   * {@link predictPixels} for deterministic images given by their files: the cached outputs are
   * looked up first and only the misses are loaded (through `load`) and run.
   *
   * @param filepaths - the file of each sample, in batch order
   * @param preprocessingKey - see `DirectoryIterator.preprocessingKey`
   * @param sampleShape - `[height, width, channels]` of one image
   * @param load - as `PixelBatch.load`: called once per chunk of misses (see `chunkSize`), all calls made at once
   * @returns one tensor per cut tensor, `[filepaths.length, ...]`; the caller disposes them
   * @throws PrefixEngineStaleError when a prefix layer was unfrozen; whatever `load` throws
   * @example
   * const feats = await engine.predictFiles(plan.filepaths, it.preprocessingKey, it.imageShape, plan.load);
   */
  predictFiles(filepaths: string[], preprocessingKey: string, sampleShape: number[], load: (positions: number[]) => Promise<Float32Array>): Promise<tf.Tensor[]> {
    return this.tensorsOf({ size: filepaths.length, imageShape: sampleShape, load }, { filepaths, preprocessingKey, deterministic: true });
  }

  /**
   * {@link predictPixels} with the outputs as flat arrays, one per cut tensor, that never enter
   * TF.js: for a tail that runs on ONNX Runtime too (`TailEngine.predictData`).
   *
   * @param batch - as in {@link predictPixels}
   * @param meta - as in {@link predict}
   * @returns one output per cut tensor, `[batch.size, ...]`, in cut order; read only (they may be
   *   views of feature-cache entries)
   * @throws PrefixEngineStaleError when a prefix layer was unfrozen; whatever `load` throws
   * @example
   * const probs = await tailEngine.predictData(await engine.predictPixelsData(batch, meta));
   */
  async predictPixelsData(batch: PixelBatch, meta?: PrefixEngineMeta): Promise<PrefixRunOutput[]> {
    return arraysFromChunks(await this.runBatch(batch, meta));
  }

  /**
   * {@link predictPixelsData} followed by `map` on the outputs, part by part: each chunk ONNX
   * Runtime computes is mapped as soon as it comes back, while the next chunks still run, and the
   * results are concatenated in batch order. For a tail that predicts on ONNX Runtime too
   * (`TailEngine.predictData` as `map`): the tail of a batch is done moments after its last
   * chunk, and the chunks are never copied into one batch array. A batch with cached samples is
   * mapped once, on all its outputs, after the lookup.
   *
   * @param batch - as in {@link predictPixels}
   * @param meta - as in {@link predict}
   * @param map - from one part's outputs (one per cut tensor, `[rows, ...]`, read only) to a tensor
   *   of `rows` rows; its tensors are taken over (disposed here after concatenation, or on failure)
   * @returns the mapped rows of the whole batch, `[batch.size, ...]`; the caller disposes it
   * @throws PrefixEngineStaleError when a prefix layer was unfrozen; whatever `load` or `map` throws
   * @example
   * const probs = await engine.predictPixelsMapped(batch, meta, (part) => tailEngine.predictData(part));
   */
  async predictPixelsMapped(batch: PixelBatch, meta: PrefixEngineMeta | undefined, map: (outputs: PrefixRunOutput[]) => Promise<tf.Tensor>): Promise<tf.Tensor> {
    const early = new Map<number, Promise<tf.Tensor>>();
    const settleAll = async (pending: Iterable<Promise<tf.Tensor>>): Promise<tf.Tensor[]> => {
      const settled = await Promise.allSettled(pending);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      const done = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      if (failed !== undefined) {
        tf.dispose(done);
        throw failed.reason;
      }
      return done;
    };
    let parts: OnnxRunOutput[][];
    try {
      parts = await this.runBatch(batch, meta, (from, outputs) => early.set(from, map(outputs)));
    } catch (error) {
      await settleAll(early.values()).then(tf.dispose, () => undefined);
      throw error;
    }
    let pending: Array<Promise<tf.Tensor>>;
    if (early.size === parts.length) {
      pending = [...early.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    } else {
      if (early.size > 0) tf.dispose(await settleAll(early.values())); // not expected: parts are the chunks whenever chunks were handed out
      pending = [map(arraysFromChunks(parts))];
    }
    const results = await settleAll(pending);
    if (results.length === 1) return results[0] as tf.Tensor;
    try {
      return tf.concat(results, 0);
    } finally {
      tf.dispose(results);
    }
  }

  /** The tensors of {@link runBatch}'s parts. */
  private async tensorsOf(batch: PixelBatch, meta: PrefixEngineMeta | undefined): Promise<tf.Tensor[]> {
    return tensorsFromChunks(await this.runBatch(batch, meta));
  }

  /**
   * The one batch path: cache lookup when `meta` allows, then the misses in chunks; `onChunk`: see
   * `runChunks`, called only when every sample of the batch is computed (then the parts returned
   * are those chunks). Returns the outputs as parts of consecutive samples in batch order (see
   * `cachedPrefixParts`).
   */
  private async runBatch(batch: PixelBatch, meta: PrefixEngineMeta | undefined, onChunk?: (from: number, outputs: OnnxRunOutput[]) => void): Promise<OnnxRunOutput[][]> {
    await this.ensureFresh();
    this.counters.batches++;
    const n = batch.size;
    const imageShape = [...batch.imageShape];
    // Chunks are handed out early only when they are the batch itself (no cached sample between them).
    const compute = (misses: number[]): Promise<OnnxRunOutput[][]> => this.runChunks(misses.length, imageShape, (from, to) => batch.load(misses.slice(from, to)), misses.length === n ? onChunk : undefined);
    const { filepaths, preprocessingKey } = meta ?? {};
    if (!this.cache || meta?.deterministic !== true || preprocessingKey === undefined || filepaths === undefined || filepaths.length !== n) {
      return compute(Array.from({ length: n }, (_, i) => i));
    }
    return cachedPrefixParts({ cache: this.cache, fingerprint: this.fingerprintValue, filepaths, preprocessingKey, compute });
  }

  /** E.g. `ONNX Runtime CPU (2 threads, feature cache)`. */
  describe(): string {
    return `ONNX Runtime CPU (${this.threads} thread${this.threads === 1 ? '' : 's'}${this.cache ? ', feature cache' : ''})`;
  }

  /** Releases the ONNX Runtime session and ends its worker thread; later `predict` calls throw. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.remote?.terminate();
    void this.session?.release().catch(() => undefined);
  }
}

/**
 * Converts a frozen prefix (from `splitFrozenPrefix(model).prefix`) to ONNX and opens an ONNX
 * Runtime session for it.
 *
 * @param prefix - an inference-only functional model of convertible layers (see `toOnnx`); its
 *   weights are read, never changed; it stays owned by the caller
 * @param args - `threads` (default `os.availableParallelism()`), `cache` (default none)
 * @returns a ready {@link OnnxPrefixEngine}; call `dispose()` when done
 * @throws OnnxConversionError for a layer the converter cannot express; Error when
 *   onnxruntime-node cannot be loaded; TypeError for an invalid `threads`
 * @example
 * const { prefix } = splitFrozenPrefix(model);
 * const engine = await createOnnxPrefixEngine(prefix!, { cache: createFeatureCache() });
 * await fit(model, trainGen, { epochs: 8, validationData: valGen, prefixEngine: engine });
 * engine.dispose();
 */
export async function createOnnxPrefixEngine(prefix: tf.LayersModel, args: OnnxPrefixEngineArgs = {}): Promise<OnnxPrefixEngine> {
  const engine = new OnnxPrefixEngine(prefix, args);
  await engine.build();
  return engine;
}
