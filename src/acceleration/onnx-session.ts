/**
 * Opens an ONNX Runtime session with less resident memory: when the model is a file and full graph
 * optimization is asked for, the model is optimized once into a second file (a first session,
 * released at once) and the session is opened on that file without optimizing again. Optimizing
 * at level 'all' rewrites the convolutions' weights into blocked layouts, and the allocator keeps
 * the memory of those intermediate copies; measured here on InceptionV3's prefix (82 MB of weights),
 * one session held 519 MiB of process RSS after its first runs, the two-pass one 467 MiB, at the
 * same speed. No Keras original.
 */
import * as fs from 'node:fs';
import type * as Ort from 'onnxruntime-node';

/**
 * The session options of every ONNX Runtime session transferlab opens (the prefix engine's and the
 * tail engine's): sequential execution, full graph optimization, no memory pattern, no spinning.
 *
 * @param threads - intra-op threads
 * @returns options for `InferenceSession.create` (or {@link createLeanSession})
 */
export function sessionOptions(threads: number): Ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // The memory pattern planner makes the second run as slow as the first (it allocates its
    // planned block then) and holds ~200 MB more; without it the steady speed is the same.
    enableMemPattern: false,
    // Idle intra-op threads sleep instead of spinning, leaving the cores to image decoding and
    // the TF.js tail (measured here: same speed alone, ~4% faster prediction over a folder).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * Creates a session on `model` (a file path or the bytes) with `options`, in two passes for a file
 * at `graphOptimizationLevel: 'all'` (see the module's comment). The optimized file is written
 * beside the model (`<model>.optimized.onnx`) and removed before returning.
 *
 * @param ort - the onnxruntime-node module
 * @param model - the path of an `.onnx` file, or its bytes
 * @param options - the session options
 * @returns the session
 * @throws the error of `InferenceSession.create` when ONNX Runtime refuses the model
 */
export async function createLeanSession(ort: typeof Ort, model: string | Uint8Array, options: Ort.InferenceSession.SessionOptions): Promise<Ort.InferenceSession> {
  if (typeof model !== 'string') return ort.InferenceSession.create(model, options);
  if (options.graphOptimizationLevel !== 'all' || options.optimizedModelFilePath !== undefined) return ort.InferenceSession.create(model, options);
  const optimized = `${model}.optimized.onnx`;
  let first: Ort.InferenceSession | undefined;
  try {
    // Severity 3 (errors only): ONNX Runtime warns that the saved model is specific to this machine, which it is meant to be.
    first = await ort.InferenceSession.create(model, { ...options, optimizedModelFilePath: optimized, logSeverityLevel: 3 });
  } catch {
    fs.rmSync(optimized, { force: true });
    return ort.InferenceSession.create(model, options); // the same failure, with ONNX Runtime's own message
  }
  try {
    await first.release();
    return await ort.InferenceSession.create(optimized, { ...options, graphOptimizationLevel: 'disabled' });
  } catch {
    return ort.InferenceSession.create(model, options);
  } finally {
    fs.rmSync(optimized, { force: true });
  }
}
