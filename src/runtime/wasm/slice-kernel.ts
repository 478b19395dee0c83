/**
 * `Slice` and `SplitV` for the wasm backend without copying their input out of the heap.
 *
 * tfjs 4.22's wasm `Slice` (JavaScript) starts with `backend.readSync(x)`, which copies the whole
 * input out of the wasm heap, however small the slice: the gradient of a concatenation (`SplitV`,
 * one slice per part) of InceptionV3's last block copied 4 × 6.5 MB per step to cut
 * [32, 5, 5, 2048] into four parts, plus the garbage those copies leave. This kernel copies only
 * the slice, from a view of the heap, in runs as long as the slice allows (the innermost axes it
 * covers whole are merged into one run). The stock `SplitV` calls the stock slice function
 * directly (not through the kernel registry), so it is replaced too.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's `BackendWasm` this kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

/** The stock wasm `Slice` and `SplitV`, kept for string tensors. */
let stockSlice: tf.KernelFunc | undefined;
let stockSplitV: tf.KernelFunc | undefined;

/**
 * Copies the block `begin`/`size` of a row-major array of shape `shape` into `out` (dense).
 * Exported for tests of the index arithmetic.
 *
 * @param x - the source values
 * @param shape - the source shape
 * @param begin - first index on every axis
 * @param size - extent on every axis (all ≥ 1)
 * @param out - destination, `size`'s element count long
 */
export function copyBlock(x: tf.TypedArray, shape: readonly number[], begin: readonly number[], size: readonly number[], out: tf.TypedArray): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  let s = 1;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  // Axes after `inner` are covered whole: one contiguous run per index of the outer axes.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === shape[inner]) inner--;
  const run = size[inner] * strides[inner];
  let base = 0;
  for (let d = 0; d < rank; d++) base += begin[d] * strides[d];
  const index = new Array<number>(inner).fill(0);
  let offset = base;
  let outOffset = 0;
  for (;;) {
    out.set(x.subarray(offset, offset + run), outOffset);
    outOffset += run;
    // Odometer over the outer axes 0..inner-1.
    let d = inner - 1;
    while (d >= 0) {
      index[d]++;
      offset += strides[d];
      if (index[d] < size[d]) break;
      offset -= index[d] * strides[d];
      index[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** The kernel: string tensors go to the stock one; everything else is copied from heap views. */
function slice(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string' || x.shape.length === 0) return stockSlice!(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(s, x.dtype);
  if (s.some((n) => n === 0)) return out;
  // Views only after makeOutput: growing the heap there detaches earlier views.
  copyBlock(backend.typedArrayFromHeap(x), x.shape, b, s, backend.typedArrayFromHeap(out));
  return out;
}

/** `SplitV`: one {@link copyBlock} per part, along the split axis. */
function splitV(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string' || x.shape.length === 0) return stockSplitV!(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const ax = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const backend = args.backend as WasmBackendLike;
  const begin = new Array<number>(x.shape.length).fill(0);
  const outs = sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    return backend.makeOutput(size, x.dtype);
  });
  // Views only after every makeOutput (see slice).
  const xs = backend.typedArrayFromHeap(x);
  for (const out of outs) {
    if (out.shape.every((n) => n > 0)) copyBlock(xs, x.shape, begin, out.shape, backend.typedArrayFromHeap(out));
    begin[ax] += out.shape[ax];
  }
  return outs;
}

/**
 * Puts the heap-view `Slice` and `SplitV` in front of the stock wasm ones (once each).
 *
 * @param replaceStock - swaps a stock wasm kernel for another, returning the stock function (or undefined when absent or already swapped)
 * @returns the names registered by this call
 */
export function registerWasmSlicing(replaceStock: (name: string, kernelFunc: tf.KernelFunc) => tf.KernelFunc | undefined): string[] {
  const added: string[] = [];
  const slices = replaceStock('Slice', slice as unknown as tf.KernelFunc);
  if (slices !== undefined) {
    stockSlice = slices;
    added.push('Slice');
  }
  const splits = replaceStock('SplitV', splitV as unknown as tf.KernelFunc);
  if (splits !== undefined) {
    stockSplitV = splits;
    added.push('SplitV');
  }
  return added;
}
