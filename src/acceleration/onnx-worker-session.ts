/**
 * An ONNX Runtime session that lives in a worker thread (`onnx-worker.ts`), so that running it
 * does not block the main thread: onnxruntime-node's `session.run` is one synchronous native call
 * for the whole batch, during which the main thread could neither collect decoded images nor run
 * the TF.js tail of the previous batch. Inputs and outputs cross as transferred buffers (no copy).
 *
 * The worker is `unref()`ed while idle (it never keeps the process alive) and `ref()`ed while a
 * request is pending. A worker that dies rejects its pending requests with the reason, and later
 * requests fail fast; `terminate()` ends it.
 *
 * No Keras original.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import type { OnnxWorkerReply, OnnxWorkerRequest } from './onnx-worker';
import { OnnxRuntimeError } from './errors';
import { recycleFloat32 } from '../util/float-pool';

/** One output of a run: flat float32 values and their dims. */
export interface OnnxRunOutput {
  data: Float32Array;
  dims: number[];
}

interface Pending {
  resolve: (reply: OnnxWorkerReply) => void;
  reject: (err: Error) => void;
}

type Request = OnnxWorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The compiled worker script beside this module (`dist/` or `.build/`), or null when absent (e.g. run from .ts sources). */
export function onnxWorkerScript(): string | null {
  const file = path.join(__dirname, 'onnx-worker.js');
  return fs.existsSync(file) ? file : null;
}

/**
 * A session in a worker thread. Create with {@link OnnxWorkerSession.start}; load a model with
 * `load`, then `run` batches.
 */
export class OnnxWorkerSession {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private dead: Error | undefined;

  private constructor(script: string) {
    this.worker = new Worker(script);
    this.worker.unref();
    this.worker.on('message', (reply: OnnxWorkerReply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('error' in reply) p.reject(new OnnxRuntimeError(`ONNX Runtime (worker thread) failed: ${reply.error.name}: ${reply.error.message}`));
      else p.resolve(reply);
    });
    this.worker.on('error', (err) => this.die(new OnnxRuntimeError(`The ONNX Runtime worker thread failed: ${err.message}. Pass { worker: false } to createOnnxPrefixEngine to run ONNX Runtime on the main thread.`, { cause: err })));
    this.worker.on('exit', (code) => this.die(new OnnxRuntimeError(`The ONNX Runtime worker thread exited (code ${code}) before answering.`)));
  }

  /**
   * Starts a worker thread.
   *
   * @returns a session without a model, or undefined when the compiled worker script is missing
   *   (running from TypeScript sources) or the thread cannot be created
   */
  static start(): OnnxWorkerSession | undefined {
    const script = onnxWorkerScript();
    if (script === null) return undefined;
    try {
      return new OnnxWorkerSession(script);
    } catch {
      return undefined;
    }
  }

  /** Whether the thread has died or was terminated. */
  get alive(): boolean {
    return this.dead === undefined;
  }

  private die(reason: Error): void {
    if (this.dead !== undefined) return;
    this.dead = reason;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  private request(msg: Request, transfer: ArrayBuffer[]): Promise<OnnxWorkerReply> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<OnnxWorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      try {
        this.worker.postMessage({ ...msg, id }, transfer);
      } catch (error) {
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
        reject(error instanceof Error ? error : new Error(String(error))); // internal: a non-Error thrown by postMessage, passed on as it is
      }
    });
  }

  /**
   * Opens (or replaces) the session with an ONNX model.
   *
   * @param model - the path of an `.onnx` file, or the model bytes (their buffer is transferred to
   *   the worker when they fill it: do not use them afterwards)
   * @param options - ONNX Runtime session options
   * @returns the session's input and output names
   * @throws OnnxRuntimeError with ONNX Runtime's message when the session cannot be created, or when the worker died
   */
  async load(model: string | Uint8Array, options: Ort.InferenceSession.SessionOptions): Promise<{ inputNames: string[]; outputNames: string[] }> {
    const whole = typeof model !== 'string' && model.byteOffset === 0 && model.byteLength === model.buffer.byteLength;
    const reply = await this.request({ type: 'load', model, options }, whole ? [(model as Uint8Array).buffer as ArrayBuffer] : []);
    // Internal invariant (the worker's protocol), not a user-facing failure: stays a plain Error.
    if (!('inputNames' in reply)) throw new Error('Internal error: the ONNX worker answered a load with something else.');
    return { inputNames: reply.inputNames, outputNames: reply.outputNames };
  }

  /**
   * Runs the session on one float32 input.
   *
   * @param input - NHWC values; its buffer is transferred to the worker (detached here) when it is
   *   the whole buffer, copied otherwise; a transferred buffer comes back with the answer and goes
   *   to the pool of spare pixel buffers (`util/float-pool.ts`)
   * @param dims - the input's shape
   * @param outputs - names of the outputs wanted, in the order returned
   * @returns one {@link OnnxRunOutput} per name; the arrays are owned by the caller
   * @throws OnnxRuntimeError with ONNX Runtime's message, or when the worker died
   */
  async run(input: Float32Array, dims: number[], outputs: string[]): Promise<OnnxRunOutput[]> {
    const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength;
    const reply = await this.request({ type: 'run', input, dims, outputs }, whole ? [input.buffer as ArrayBuffer] : []);
    // Internal invariant (the worker's protocol), not a user-facing failure: stays a plain Error.
    if (!('outputs' in reply)) throw new Error('Internal error: the ONNX worker answered a run with something else.');
    // A transferred input comes back: nobody else holds it (it was detached here), so it is a spare.
    if (whole && reply.input !== undefined) recycleFloat32(reply.input);
    return reply.outputs;
  }

  /** Ends the thread; pending and later requests reject. */
  terminate(): void {
    this.die(new OnnxRuntimeError('This ONNX Runtime worker session was terminated.'));
    void this.worker.terminate().catch(() => undefined);
  }
}
