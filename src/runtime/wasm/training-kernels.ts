/**
 * Kernels the wasm backend of tfjs 4.22 lacks (or runs slowly) for training convolutional networks,
 * written with ops the wasm backend runs fast, so `model.fit` works on wasm for InceptionV3-style and
 * small VGG-style layers (Conv2D 1×1 and k×k, 'same'/'valid', strides 1 and 2, BatchNormalization in
 * training mode, ReLU, pooling, concatenate, Dense, softmax cross-entropy).
 *
 * - `Conv2DBackpropFilter` (the filter gradient, missing from wasm): with the batch moved into the
 *   channel axis, dW[kh, kw, cin, cout] = Σ_{n,y,x} xpad[n, y·s+kh, x·s+kw, cin] · dy[n, y, x, cout] is
 *   itself a forward convolution: input xpadᵀ [cin, Hp, Wp, N], filter dyᵀ [outH, outW, N, cout]
 *   dilated by the stride, 'valid' → [cin, fh, fw, cout]. One XNNPACK convolution and three
 *   transposes; measured 3–9× faster than an im2col of slices and a matrix product (most for the
 *   first layers, where cin is small and slicing dominates).
 * - `Conv2DBackpropInput` (the input gradient; wasm's own is a plain loop): for stride 1 it is the
 *   forward convolution of dy, padded by (f − 1 − pad), with the filter flipped in space and its
 *   channel axes swapped — measured 4–7× faster than the stock kernel at 3×3 and 1×1 on 5×5×2048.
 *   Strided convolutions keep the stock kernel (it is faster there on the shapes measured).
 * - 1×1 convolutions with stride 1 (the heads of Inception blocks): both gradients are one matrix
 *   product over the flattened batch, dW = X2ᵀ·dY2 and dX2 = dY2·W2ᵀ (X2 [N·H·W, cin], dY2
 *   [N·H·W, cout], W2 [cin, cout]), without the transposes and reversal of the general kernels.
 * - `BatchMatMul` with a transposed operand (every Dense gradient: dW = xᵀ·dy, dx = dy·Wᵀ): the
 *   stock wasm kernel runs those an order of magnitude slower than the plain product (measured
 *   here: [32,2048]ᵀ×[32,512] 86 ms against 4 ms after an explicit transpose). Rank-2 products
 *   with a transposed operand become explicit transposes plus the plain product, transposing
 *   whichever is smaller: the operand, or (via (A·Bᵀ)ᵀ = B·Aᵀ) the other operand and the result.
 * - `Slice` and `SplitV` (the gradient of every concatenation) from views of the heap instead of a
 *   copy of the whole input per slice (slice-kernel.ts).
 * - `Identity` and same-dtype `Cast` share their input's storage instead of copying it
 *   (sharing-kernels.ts): gradients call `Identity` hundreds of times per step.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger } from '../../util/validate';
import { registerWasmSharing } from './sharing-kernels';
import { registerWasmSlicing } from './slice-kernel';

/** Names of the kernels {@link registerWasmTrainingKernels} provides for the 'wasm' backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Slice', 'SplitV', 'Identity', 'Cast'];

let im2colByteLimit = 64 * 1024 * 1024;

/**
 * Sets the upper bound, in bytes, of the working copies (the transposed, padded input and output
 * gradient) that the wasm `Conv2DBackpropFilter` kernel makes for one chunk of the batch (default
 * 64 MiB; the name stays from the kernel's first, im2col-based version). Larger batches are processed in chunks of whole images; lower it on a
 * machine short of memory, raise it to trade memory for fewer, larger matrix products.
 *
 * @param bytes - positive integer (one image always forms a chunk, whatever the limit)
 * @returns the previous limit
 * @throws TypeError when `bytes` is not a positive integer
 * @example
 * const previous = setWasmIm2colByteLimit(16 * 1024 * 1024);
 */
export function setWasmIm2colByteLimit(bytes: number): number {
  checkInteger('bytes', bytes, 1);
  const previous = im2colByteLimit;
  im2colByteLimit = bytes;
  return previous;
}

/** Attributes both convolution-gradient kernels receive. */
interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface Conv2DBackpropFilterAttrs extends ConvBackpropAttrs {
  filterShape: [number, number, number, number];
}

/** Wraps a kernel input (a Tensor, or a bare TensorInfo when called from another kernel) as a Tensor. */
function asTensor(info: tf.TensorInfo): { tensor: tf.Tensor; owned: boolean } {
  if (info instanceof tf.Tensor) return { tensor: info, owned: false };
  return { tensor: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/** A 1×1 convolution with stride 1, no dilation and no padding: a matrix product per pixel. */
function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1
    && info.dilationHeight === 1 && info.dilationWidth === 1 && p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
}

/**
 * The filter gradient of a 2-D convolution for one NHWC batch chunk, as one forward convolution
 * (see the file header). Returns dW with shape [fh, fw, cin, cout].
 */
function filterGradChunk(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor {
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const noPad = padInfo.top === 0 && padInfo.bottom === 0 && padInfo.left === 0 && padInfo.right === 0;
  const xp = noPad ? x : tf.pad(x, [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
  const xT = tf.transpose(xp, [3, 1, 2, 0]); // [cin, Hp, Wp, N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [outH, outW, N, cout]
  let dw = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [cin, ≥fh, ≥fw, cout]
  if (dw.shape[1] !== fh || dw.shape[2] !== fw) dw = tf.slice(dw, [0, 0, 0, 0], [-1, fh, fw, -1]);
  return tf.transpose(dw, [1, 2, 0, 3]);
}

/**
 * `Conv2DBackpropFilter` for the wasm backend, built from wasm ops (see the file header).
 * Inputs `x` [N, H, W, Cin] (or NCHW) and `dy` [N, outH, outW, Cout]; returns dW with `filterShape`.
 */
function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const xIn = asTensor(args.inputs.x as tf.TensorInfo);
  const dyIn = asTensor(args.inputs.dy as tf.TensorInfo);
  try {
    return tf.tidy(() => {
      const channelsFirst = attrs.dataFormat === 'NCHW';
      let x = xIn.tensor as tf.Tensor4D;
      let dy = dyIn.tensor as tf.Tensor4D;
      if (channelsFirst) {
        x = tf.transpose(x, [0, 2, 3, 1]);
        dy = tf.transpose(dy, [0, 2, 3, 1]);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x.shape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
      if (x.dtype !== 'float32') x = tf.cast(x, 'float32');
      if (dy.dtype !== 'float32') dy = tf.cast(dy, 'float32');
      const { inChannels: cin, outChannels: cout, outHeight: oh, outWidth: ow, inHeight: ih, inWidth: iw, padInfo: p } = info;
      if (isPointwise(info)) {
        const dw = tf.matMul(tf.reshape(x, [-1, cin]), tf.reshape(dy, [-1, cout]), true, false);
        return tf.reshape(dw, attrs.filterShape);
      }
      const bytesPerImage = ((ih + p.top + p.bottom) * (iw + p.left + p.right) * cin + oh * ow * cout) * 4;
      const batch = x.shape[0];
      const chunk = Math.max(1, Math.min(batch, Math.floor(im2colByteLimit / Math.max(1, bytesPerImage))));
      if (chunk >= batch) return filterGradChunk(x, dy, info);
      let sum: tf.Tensor | undefined;
      for (let start = 0; start < batch; start += chunk) {
        const size = Math.min(chunk, batch - start);
        const part = tf.tidy(() => filterGradChunk(
          tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]),
          tf.slice(dy, [start, 0, 0, 0], [size, -1, -1, -1]),
          { ...info, batchSize: size }));
        if (sum === undefined) {
          sum = part;
        } else {
          const next = tf.add(sum, part);
          sum.dispose();
          part.dispose();
          sum = next;
        }
      }
      return sum as tf.Tensor;
    });
  } finally {
    if (xIn.owned) xIn.tensor.dispose();
    if (dyIn.owned) dyIn.tensor.dispose();
  }
}

interface Conv2DBackpropInputAttrs extends ConvBackpropAttrs {
  inputShape: [number, number, number, number];
}

/** The stock wasm `Conv2DBackpropInput`, kept for the cases {@link conv2dBackpropInput} hands back. */
let stockConv2dBackpropInput: tf.KernelFunc | undefined;

/**
 * `Conv2DBackpropInput` for the wasm backend: for stride 1 and NHWC, the forward convolution of dy
 * (padded by f − 1 − pad on each side, cropped where that is negative) with the filter flipped in
 * space and its channel axes swapped. Other cases go to the stock kernel.
 */
function conv2dBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const strides = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  if (attrs.dataFormat === 'NCHW' || strides[0] !== 1 || strides[1] !== 1) {
    return stockConv2dBackpropInput!(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const dyIn = asTensor(args.inputs.dy as tf.TensorInfo);
  const filterIn = asTensor(args.inputs.filter as tf.TensorInfo);
  try {
    return tf.tidy(() => {
      const dy = dyIn.tensor as tf.Tensor4D;
      const filter = filterIn.tensor as tf.Tensor4D;
      const [n, h, w] = attrs.inputShape;
      const [fh, fw, , cout] = filter.shape;
      const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape, 1, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
      if (isPointwise(info)) {
        const cin = attrs.inputShape[3];
        return tf.reshape(tf.matMul(tf.reshape(dy, [-1, cout]), tf.reshape(filter, [cin, cout]), false, true), attrs.inputShape);
      }
      const top = fh - 1 - info.padInfo.top;
      const left = fw - 1 - info.padInfo.left;
      const bottom = h + fh - 1 - top - dy.shape[1];
      const right = w + fw - 1 - left - dy.shape[2];
      let d: tf.Tensor4D = dy;
      if (top > 0 || bottom > 0 || left > 0 || right > 0) {
        d = tf.pad(d, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
      }
      if (top < 0 || bottom < 0 || left < 0 || right < 0) {
        const cropTop = Math.max(0, -top);
        const cropLeft = Math.max(0, -left);
        d = tf.slice(d, [0, cropTop, cropLeft, 0], [n, d.shape[1] - cropTop - Math.max(0, -bottom), d.shape[2] - cropLeft - Math.max(0, -right), cout]);
      }
      const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [fh, fw, cout, cin]
      return tf.conv2d(d, flipped, 1, 'valid');
    });
  } finally {
    if (dyIn.owned) dyIn.tensor.dispose();
    if (filterIn.owned) filterIn.tensor.dispose();
  }
}

/** The stock wasm `BatchMatMul`, which {@link batchMatMul} calls for the plain products. */
let stockBatchMatMul: tf.KernelFunc | undefined;

/** Elements of a rank-2 shape. */
const sizeOf = (shape: number[]): number => shape[0] * shape[1];

/**
 * `BatchMatMul` for the wasm backend: rank-2 products with a transposed operand as explicit
 * transposes plus the plain product (see the file header), choosing the plan that transposes the
 * fewest elements. Everything else (no transpose, batched operands, other dtypes) goes to the
 * stock kernel.
 */
function batchMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const aInfo = args.inputs.a as tf.TensorInfo;
  const bInfo = args.inputs.b as tf.TensorInfo;
  if ((!transposeA && !transposeB) || aInfo.shape.length !== 2 || bInfo.shape.length !== 2 || aInfo.dtype !== 'float32' || bInfo.dtype !== 'float32') {
    return stockBatchMatMul!(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const aIn = asTensor(aInfo);
  const bIn = asTensor(bInfo);
  try {
    return tf.tidy(() => {
      const a = aIn.tensor as tf.Tensor2D;
      const b = bIn.tensor as tf.Tensor2D;
      const m = transposeA ? a.shape[1] : a.shape[0];
      const n = transposeB ? b.shape[0] : b.shape[1];
      const result = m * n;
      if (transposeA && transposeB) {
        // Aᵀ·Bᵀ = (B·A)ᵀ: one transpose of the result, or one of each operand.
        return result <= sizeOf(a.shape) + sizeOf(b.shape) ? tf.transpose(tf.matMul(b, a)) : tf.matMul(tf.transpose(a), tf.transpose(b));
      }
      if (transposeA) {
        // Aᵀ·B, or (Bᵀ·A)ᵀ.
        return sizeOf(a.shape) <= sizeOf(b.shape) + result ? tf.matMul(tf.transpose(a), b) : tf.transpose(tf.matMul(tf.transpose(b), a));
      }
      // A·Bᵀ, or (B·Aᵀ)ᵀ.
      return sizeOf(b.shape) <= sizeOf(a.shape) + result ? tf.matMul(a, tf.transpose(b)) : tf.transpose(tf.matMul(b, tf.transpose(a)));
    });
  } finally {
    if (aIn.owned) aIn.tensor.dispose();
    if (bIn.owned) bIn.tensor.dispose();
  }
}

/** Puts `kernelFunc` in front of the stock wasm kernel `name` (once); returns the stock one, or undefined when absent or already replaced. */
function replaceStock(name: string, kernelFunc: tf.KernelFunc): tf.KernelFunc | undefined {
  const stock = tf.getKernel(name, 'wasm');
  if (stock === undefined || stock.kernelFunc === kernelFunc) return undefined;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc });
  return stock.kernelFunc;
}

/**
 * Registers the kernels of {@link WASM_TRAINING_KERNELS} for the 'wasm' backend:
 * `Conv2DBackpropFilter` only if no kernel of that name is registered for 'wasm' yet (a later tfjs
 * that ships its own keeps it); `Conv2DBackpropInput` and `BatchMatMul` in front of the stock ones,
 * which they call for the cases they do not speed up (strided and NCHW convolutions; products
 * without a transposed operand, batched or non-float32 ones), and `Slice`/`SplitV` and
 * `Identity`/`Cast` likewise (string tensors, and casts that change the dtype, on the stock ones). Safe to call more than once, before
 * or after the wasm backend is initialized.
 *
 * @returns the names registered by this call (empty when all were in place already)
 * @example
 * registerWasmTrainingKernels(); // ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'Slice', 'SplitV', 'Identity', 'Cast'] on tfjs 4.22
 * await tf.setBackend('wasm');
 * await model.fit(xs, ys); // Conv2D layers can now be trained on wasm
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
    });
    added.push('Conv2DBackpropFilter');
  }
  const stockInput = replaceStock('Conv2DBackpropInput', conv2dBackpropInput as unknown as tf.KernelFunc);
  if (stockInput !== undefined) {
    stockConv2dBackpropInput = stockInput;
    added.push('Conv2DBackpropInput');
  }
  const stockMatMul = replaceStock('BatchMatMul', batchMatMul as unknown as tf.KernelFunc);
  if (stockMatMul !== undefined) {
    stockBatchMatMul = stockMatMul;
    added.push('BatchMatMul');
  }
  added.push(...registerWasmSlicing(replaceStock));
  added.push(...registerWasmSharing(replaceStock));
  return added;
}
