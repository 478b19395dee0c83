/**
 * Worker-thread entry of {@link OnnxWorkerSession} (`onnx-worker-session.ts`): holds one ONNX
 * Runtime session and runs it off the main thread (onnxruntime-node's `session.run` is a blocking
 * native call, which would stall the main thread's decoding and TF.js work for its whole length).
 *
 * Messages in: `{ type: 'load', id, model: Uint8Array | string (a file), options }` (replaces the session),
 * `{ type: 'run', id, input: Float32Array, dims, outputs: string[] }`. Out: `{ id, inputNames,
 * outputNames }` after a load, `{ id, outputs: [{ data, dims }], input }` after a run (the output
 * buffers and the input's are transferred), or `{ id, error: { name, message } }`.
 *
 * No Keras original.
 */
import { parentPort } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { createLeanSession } from './onnx-session';

/** A message to the ONNX worker. */
export type OnnxWorkerRequest =
  | { type: 'load'; id: number; model: Uint8Array | string; options: Ort.InferenceSession.SessionOptions }
  | { type: 'run'; id: number; input: Float32Array; dims: number[]; outputs: string[] };

/** A reply of the ONNX worker. */
export type OnnxWorkerReply =
  | { id: number; inputNames: string[]; outputNames: string[] }
  | { id: number; outputs: Array<{ data: Float32Array; dims: number[] }>; input?: Float32Array }
  | { id: number; error: { name: string; message: string } };

if (parentPort !== null) {
  const port = parentPort;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as typeof Ort;
  let session: Ort.InferenceSession | undefined;
  // Requests are handled one at a time, in order (a run never overlaps a load).
  let chain: Promise<void> = Promise.resolve();
  const fail = (id: number, err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err)); // internal: only its name and message cross to the main thread
    port.postMessage({ id, error: { name: e.name, message: e.message } } satisfies OnnxWorkerReply);
  };
  const handle = async (msg: OnnxWorkerRequest): Promise<void> => {
    if (msg.type === 'load') {
      const next = await createLeanSession(ort, msg.model, msg.options);
      const old = session;
      session = next;
      if (old) await old.release();
      port.postMessage({ id: msg.id, inputNames: [...next.inputNames], outputNames: [...next.outputNames] } satisfies OnnxWorkerReply);
      return;
    }
    // Internal invariants of the worker protocol: plain Errors, reported by the session as OnnxRuntimeError.
    if (session === undefined) throw new Error('no ONNX model was loaded in this worker before run');
    const s = session;
    const input = new ort.Tensor('float32', msg.input, msg.dims);
    const result = await s.run({ [s.inputNames[0] as string]: input });
    const outputs = msg.outputs.map((name) => {
      const t = result[name] as Ort.Tensor | undefined;
      if (t === undefined) throw new Error(`the ONNX model has no output '${name}'`);
      return { data: t.data as Float32Array, dims: t.dims.map(Number) };
    });
    // The input goes back too, for the main thread's pool of pixel buffers (util/float-pool.ts).
    const reply: OnnxWorkerReply = { id: msg.id, outputs, input: msg.input };
    try {
      port.postMessage(reply, [...outputs.map((o) => o.data.buffer as ArrayBuffer), msg.input.buffer as ArrayBuffer]);
    } catch {
      port.postMessage(reply); // buffers that cannot be transferred are copied
    }
  };
  port.on('message', (msg: OnnxWorkerRequest) => {
    chain = chain.then(() => handle(msg)).catch((err: unknown) => fail(msg.id, err));
  });
}
