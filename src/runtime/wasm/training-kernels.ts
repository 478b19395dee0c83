/**
 * Kernels the wasm backend of tfjs 4.22 lacks for training convolutional networks, written with ops
 * the wasm backend does have, so `model.fit` works on wasm for InceptionV3-style layers (Conv2D 1×1
 * and k×k, 'same'/'valid', strides 1 and 2, BatchNormalization in training mode, ReLU, pooling,
 * concatenate, Dense, softmax cross-entropy). A backward pass of those layers on wasm needs only one
 * kernel it does not ship: `Conv2DBackpropFilter` (the filter gradient of a convolution); every
 * other gradient kernel they use (`Conv2DBackpropInput`, `AvgPoolGrad`, `MaxPoolGrad`, ...) exists.
 *
 * How `Conv2DBackpropFilter` is computed: with M = batch·outHeight·outWidth,
 * dW[kh, kw, cin, cout] = Σ_m cols[m, (kh, kw, cin)] · dy[m, cout], where `cols` is the im2col
 * matrix of the (padded) input: for each filter tap (kh, kw) a strided slice of x. A 1×1 filter with
 * no padding needs no im2col at all (cols is x reshaped). The product colsᵀ·dy is one matrix
 * multiplication, arranged so that the wasm backend takes its XNNPACK path (untransposed operands;
 * its transposed-operand path is a naive loop, about 5× slower here). Large batches are processed
 * in chunks so the im2col matrix stays under a limit ({@link setWasmIm2colByteLimit}).
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger } from '../../util/validate';

/** Names of the kernels {@link registerWasmTrainingKernels} provides for the 'wasm' backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = ['Conv2DBackpropFilter'];

let im2colByteLimit = 64 * 1024 * 1024;

/**
 * Sets the upper bound, in bytes, of one im2col matrix built by the wasm `Conv2DBackpropFilter`
 * kernel (default 64 MiB). Larger batches are processed in chunks of whole images; lower it on a
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

interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Wraps a kernel input (a Tensor, or a bare TensorInfo when called from another kernel) as a Tensor. */
function asTensor(info: tf.TensorInfo): { tensor: tf.Tensor; owned: boolean } {
  if (info instanceof tf.Tensor) return { tensor: info, owned: false };
  return { tensor: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/**
 * aᵀ·b for a: [M, K], b: [M, N] → [K, N], using only untransposed matMuls (the wasm fast path).
 * Transposes whichever operand is smaller.
 */
function matMulTransposeA(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const k = a.shape[1];
  const n = b.shape[1];
  if (k <= n) return tf.matMul(tf.transpose(a), b);
  return tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D;
}

/**
 * The filter gradient of a 2-D convolution for one NHWC batch chunk.
 * Returns dW with shape [fh, fw, cin, cout].
 */
function filterGradChunk(x: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor {
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { outHeight: oh, outWidth: ow, inChannels: cin, outChannels: cout, padInfo } = info;
  const n = x.shape[0];
  const m = n * oh * ow;
  const noPad = padInfo.top === 0 && padInfo.bottom === 0 && padInfo.left === 0 && padInfo.right === 0;
  const spanH = (oh - 1) * sh + 1;
  const spanW = (ow - 1) * sw + 1;
  const tap = (src: tf.Tensor4D, i: number, j: number): tf.Tensor4D =>
    sh === 1 && sw === 1
      ? tf.slice(src, [0, i, j, 0], [n, spanH, spanW, cin])
      : tf.stridedSlice(src, [0, i, j, 0], [n, i + spanH, j + spanW, cin], [1, sh, sw, 1]) as tf.Tensor4D;
  let cols: tf.Tensor2D;
  if (fh === 1 && fw === 1 && noPad) {
    const xs = spanH === x.shape[1] && spanW === x.shape[2] && sh === 1 && sw === 1 ? x : tap(x, 0, 0);
    cols = tf.reshape(xs, [m, cin]);
  } else {
    const xp = noPad ? x : tf.pad(x, [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
    const taps: tf.Tensor4D[] = [];
    for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) taps.push(tap(xp, i, j));
    cols = tf.reshape(taps.length === 1 ? taps[0] : tf.concat(taps, 3), [m, fh * fw * cin]);
  }
  return tf.reshape(matMulTransposeA(cols, tf.reshape(dy, [m, cout])), [fh, fw, cin, cout]);
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
      const { filterHeight: fh, filterWidth: fw, inChannels: cin, outHeight: oh, outWidth: ow } = info;
      const bytesPerImage = oh * ow * fh * fw * cin * 4;
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

/**
 * Registers the kernels of {@link WASM_TRAINING_KERNELS} for the 'wasm' backend, each only if no
 * kernel of that name is registered for 'wasm' yet (a later tfjs that ships its own keeps it).
 * Safe to call more than once, before or after the wasm backend is initialized.
 *
 * @returns the names registered by this call (empty when all were present already)
 * @example
 * registerWasmTrainingKernels(); // ['Conv2DBackpropFilter'] on tfjs 4.22
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
  return added;
}
