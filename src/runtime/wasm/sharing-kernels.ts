/**
 * `Identity` and same-dtype `Cast` for the wasm backend that share their input's storage instead of
 * copying it.
 *
 * tfjs 4.22's wasm `Identity` allocates a new tensor in the heap and copies the input into it, and
 * its `Cast` does the same when the dtype does not change. Gradients call `Identity` a lot (the
 * backward pass of the walkthrough's tail made 202 calls per step, many on [32, 5, 5, 2048]
 * tensors of 6.5 MB): copies that cost time, and memory while both copies are alive — the wasm
 * heap keeps its high-water mark for the life of the process. The wasm backend counts references
 * per storage (its `Reshape` shares storage this way, and the cpu backend's `Identity` does too), and
 * no wasm kernel writes into its inputs, so the output can be the same storage with one more
 * reference. String tensors go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs';

/** The part of tfjs-backend-wasm's `BackendWasm` these kernels use. */
interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
}

interface KernelArgs {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackendLike;
  attrs?: { dtype?: tf.DataType };
}

/** The stock wasm `Identity` and `Cast`, kept for strings and dtype changes. */
let stockIdentity: tf.KernelFunc | undefined;
let stockCast: tf.KernelFunc | undefined;

function share(x: tf.TensorInfo, backend: WasmBackendLike): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

function identity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') return (stockIdentity as tf.KernelFunc)(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return share(x, args.backend);
}

function cast(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string' || args.attrs?.dtype !== x.dtype) return (stockCast as tf.KernelFunc)(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return share(x, args.backend);
}

/**
 * Puts the sharing `Identity` and `Cast` in front of the stock wasm ones (once each).
 *
 * @param replaceStock - swaps a stock wasm kernel for another, returning the stock function (or undefined when absent or already swapped)
 * @returns the names registered by this call
 */
export function registerWasmSharing(replaceStock: (name: string, kernelFunc: tf.KernelFunc) => tf.KernelFunc | undefined): string[] {
  const added: string[] = [];
  const identities = replaceStock('Identity', identity as unknown as tf.KernelFunc);
  if (identities !== undefined) {
    stockIdentity = identities;
    added.push('Identity');
  }
  const casts = replaceStock('Cast', cast as unknown as tf.KernelFunc);
  if (casts !== undefined) {
    stockCast = casts;
    added.push('Cast');
  }
  return added;
}
