/**
 * A TailEngine runs the trainable tail of a split model (`splitFrozenPrefix(model).tail`: a
 * functional model whose inputs are the cut tensors) in inference mode on ONNX Runtime, for
 * prediction and evaluation, where no gradient is needed and the weights do not change while a
 * pass runs. On the walkthrough model (InceptionV3 at 224, last 15 layers trainable) the tail is
 * 22 MFLOP per image, yet TF.js wasm took 47–73 ms per batch of 32 on the main thread, competing
 * with the prefix's ONNX Runtime for the cores.
 *
 * The tail is converted with `toOnnx` on first use and again whenever its weights changed (the
 * tail trains between validation passes; see `weight-storage.ts`). It falls back to TF.js
 * (`tail.apply(inputs, { training: false })`) for good when the tail cannot be converted
 * (OnnxConversionError) or ONNX Runtime cannot be loaded or opened, with a one-line note.
 *
 * The session runs on the calling thread with one intra-op thread by default: the batch is small,
 * and the prefix's ONNX Runtime (in its worker thread) keeps the other cores busy meanwhile.
 *
 * No Keras original.
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { OnnxRuntimeError } from './errors';
import { loadOnnxRuntime } from './onnx-prefix-engine';
import { sessionOptions } from './onnx-session';
import { toOnnx } from './to-onnx';
import { sameStorage, weightStorage } from './weight-storage';
import { checkInteger } from '../util/validate';

/** Options of {@link createTailEngine}. */
export interface TailEngineArgs {
  /** ONNX Runtime intra-op threads, 1–1024. Default 1 (the calling thread only). */
  threads?: number;
  /** Prints one line when the engine falls back to TF.js. Default true. */
  verbose?: boolean;
}

/** Counters of a {@link TailEngine}. */
export interface TailEngineStats {
  /** Batches run on ONNX Runtime. */
  onnxRuns: number;
  /** Batches run on TF.js (after a fallback). */
  tfjsRuns: number;
  /** Sessions built: the first, then one per change of the tail's weights. */
  builds: number;
}

/**
 * Runs a split model's tail in inference mode on ONNX Runtime, or on TF.js when it cannot. Create
 * with {@link createTailEngine}.
 */
export class TailEngine {
  /** Intra-op threads of the session. */
  readonly threads: number;
  private readonly verbose: boolean;
  private session: Ort.InferenceSession | undefined;
  private inputNames: string[] = [];
  private outputName = '';
  private storage: object[] = [];
  private building: Promise<void> | undefined;
  private fallback: string | undefined;
  private disposed = false;
  private readonly counters: TailEngineStats = { onnxRuns: 0, tfjsRuns: 0, builds: 0 };

  /** Use {@link createTailEngine}. */
  constructor(readonly tail: tf.LayersModel, args: TailEngineArgs = {}) {
    this.threads = checkInteger('threads', args.threads ?? 1, 1, 1024);
    this.verbose = args.verbose ?? true;
  }

  /** Why the engine runs the tail on TF.js, or undefined while it uses ONNX Runtime. */
  get fallbackReason(): string | undefined {
    return this.fallback;
  }

  /** A snapshot of the counters. */
  get stats(): TailEngineStats {
    return { ...this.counters };
  }

  /** Converts the tail and opens a session; on failure, remembers why and stays on TF.js. */
  private async build(): Promise<void> {
    const storage = weightStorage(this.tail);
    let session: Ort.InferenceSession;
    try {
      const bytes = toOnnx(this.tail);
      session = await loadOnnxRuntime().InferenceSession.create(bytes, sessionOptions(this.threads));
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] as string;
      this.fallback = reason;
      this.release();
      if (this.verbose) console.log(`Trainable tail on TF.js ${tf.getBackend()} for prediction too (ONNX Runtime not used: ${reason})`);
      return;
    }
    const names = this.tail.inputLayers.map((layer, i) => session.inputNames.find((n) => n === layer.name) ?? session.inputNames[i]);
    const output = `${this.tail.outputLayers[0]?.name ?? ''}:out`;
    if (this.tail.outputs.length !== 1 || names.some((n) => n === undefined) || !session.outputNames.includes(output)) {
      void session.release();
      // Internal invariants of the converter (to-onnx keeps input names and names outputs '<layer>:out'): plain Errors on purpose.
      throw new Error(`Internal error: the ONNX tail has inputs ${session.inputNames.join(', ')} and outputs ${session.outputNames.join(', ')}; expected ${this.tail.inputLayers.length} inputs and the single output '${output}'.`);
    }
    this.release();
    this.session = session;
    this.inputNames = names as string[];
    this.outputName = output;
    this.storage = storage;
    this.counters.builds++;
  }

  private release(): void {
    void this.session?.release().catch(() => undefined);
    this.session = undefined;
  }

  /** A session for the tail's current weights, or undefined when on TF.js. */
  private async fresh(): Promise<Ort.InferenceSession | undefined> {
    if (this.disposed) throw new OnnxRuntimeError('This TailEngine was disposed; create a new one with createTailEngine.');
    while (this.fallback === undefined && (this.session === undefined || !sameStorage(weightStorage(this.tail), this.storage))) {
      this.building ??= this.build().finally(() => (this.building = undefined));
      await this.building;
    }
    return this.fallback === undefined ? this.session : undefined;
  }

  /**
   * Runs the tail in inference mode (Dropout off, BatchNormalization on its moving statistics).
   *
   * @param inputs - the tail's inputs in `tail.inputs` order (the prefix outputs, in cut order);
   *   read, not disposed
   * @returns the tail's output (e.g. `[batch, classes]` probabilities); the caller disposes it
   * @throws TypeError when the number of inputs is not the tail's; OnnxRuntimeError when ONNX
   *   Runtime fails to run the converted tail (pass `accelerate: false` or set
   *   `TRANSFERLAB_ACCELERATE=0` to use TF.js), or after `dispose()`
   * @example
   * const probs = await engine.predict(features);
   */
  async predict(inputs: tf.Tensor[]): Promise<tf.Tensor> {
    this.checkCount(inputs.length);
    const session = await this.fresh();
    if (session === undefined) return this.onTfjs(inputs);
    const data = await Promise.all(inputs.map((t) => t.data<'float32'>()));
    return this.run(session, inputs.map((t, i) => ({ data: data[i] as Float32Array, dims: t.shape })));
  }

  /**
   * {@link predict} for inputs given as flat float32 arrays (e.g. `OnnxPrefixEngine.predictPixelsData`):
   * on ONNX Runtime they never enter TF.js; after a fallback, tensors are made of them.
   *
   * @param inputs - one `{ data, dims }` per tail input, in `tail.inputs` order; read, not changed
   * @returns the tail's output; the caller disposes it
   * @throws as {@link predict}
   * @example
   * const probs = await engine.predictData(await prefixEngine.predictPixelsData(batch, meta));
   */
  async predictData(inputs: ReadonlyArray<{ data: Float32Array; dims: readonly number[] }>): Promise<tf.Tensor> {
    this.checkCount(inputs.length);
    const session = await this.fresh();
    if (session !== undefined) return this.run(session, inputs);
    const tensors = inputs.map((o) => tf.tensor(o.data, [...o.dims]));
    try {
      return this.onTfjs(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }

  private checkCount(received: number): void {
    if (received !== this.tail.inputs.length) {
      throw new TypeError(`Expected ${this.tail.inputs.length} tail inputs for '${this.tail.name}' but received ${received}.`);
    }
  }

  private onTfjs(inputs: tf.Tensor[]): tf.Tensor {
    this.counters.tfjsRuns++;
    return tf.tidy(() => this.tail.apply(inputs.length === 1 ? inputs[0] as tf.Tensor : inputs, { training: false }) as tf.Tensor);
  }

  private async run(session: Ort.InferenceSession, inputs: ReadonlyArray<{ data: Float32Array; dims: readonly number[] }>): Promise<tf.Tensor> {
    const ort = loadOnnxRuntime();
    const feeds: Record<string, Ort.Tensor> = {};
    inputs.forEach((o, i) => (feeds[this.inputNames[i] as string] = new ort.Tensor('float32', o.data, [...o.dims])));
    let result: Ort.InferenceSession.ReturnType;
    try {
      result = await session.run(feeds, [this.outputName]);
    } catch (error) {
      throw new OnnxRuntimeError(`ONNX Runtime failed to run the tail of '${this.tail.name}': ${error instanceof Error ? error.message : String(error)}. Pass accelerate: false (or set TRANSFERLAB_ACCELERATE=0) to run it on TF.js.`, { cause: error });
    }
    const out = result[this.outputName] as Ort.Tensor;
    this.counters.onnxRuns++;
    return tf.tensor(out.data as Float32Array, out.dims.map(Number));
  }

  /** E.g. `ONNX Runtime CPU (1 thread)`, or `TF.js wasm` after a fallback. */
  describe(): string {
    return this.fallback === undefined ? `ONNX Runtime CPU (${this.threads} thread${this.threads === 1 ? '' : 's'})` : `TF.js ${tf.getBackend()}`;
  }

  /** Releases the session; later `predict` calls throw. */
  dispose(): void {
    this.disposed = true;
    this.release();
  }
}

/**
 * A tail engine for `tail`. Nothing is converted until the first `predict`.
 *
 * @param tail - `splitFrozenPrefix(model).tail` (or any functional model of convertible layers,
 *   see `toOnnx`); its weights are read, never changed; it stays owned by the caller
 * @param args - see {@link TailEngineArgs}
 * @returns a {@link TailEngine}; call `dispose()` when done
 * @throws TypeError for an invalid `threads`
 * @example
 * const engine = createTailEngine(splitFrozenPrefix(model).tail);
 * const probs = await engine.predict(features); // features: the prefix outputs of a batch
 */
export function createTailEngine(tail: tf.LayersModel, args: TailEngineArgs = {}): TailEngine {
  return new TailEngine(tail, args);
}

const shared = new WeakMap<tf.LayersModel, TailEngine>();

/**
 * The tail engine `evaluate`, `predictIterator` and `fit`'s validation use: one per tail model,
 * made on first use and kept (it rebuilds itself when the tail's weights change).
 *
 * @param tail - `splitFrozenPrefix(model).tail`
 * @returns an engine owned by this module (do not dispose it)
 * @example
 * const probs = await sharedTailEngine(split.tail).predict(features);
 */
export function sharedTailEngine(tail: tf.LayersModel): TailEngine {
  let engine = shared.get(tail);
  if (engine === undefined) {
    engine = createTailEngine(tail);
    shared.set(tail, engine);
  }
  return engine;
}
