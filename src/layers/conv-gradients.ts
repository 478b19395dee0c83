/**
 * Lazy gradients for TF.js's Conv2D layers under a gradient tape.
 *
 * TF.js's Conv2D layer always calls the fused convolution op. Under a gradient tape the op fuses
 * only when the activation is linear (every convolution of InceptionV3: batch normalization and
 * ReLU follow as layers), and then its custom gradient computes the input gradient, the filter
 * gradient and the bias gradient together, whether the tape needs them or not. The input gradient
 * of a convolution fed by tensors that no weight lies upstream of (the first layers of a trainable
 * tail, fed by the frozen prefix's outputs) is pure waste: for InceptionV3's `conv2d_93`
 * (1×1, 2048 → 192 channels on 5×5) it is as costly as the filter gradient itself.
 *
 * The unfused ops (convolution, bias add, activation) have lazy gradients: the tape asks only for
 * the ones on a path to the variables. Under a tape, a patched layer runs those ops, exactly what
 * the fused op itself runs under a tape for every non-linear activation; outside a tape it calls
 * the layer's own code (fused, fastest for inference). Numbers are the same either way.
 *
 * No Keras original (Keras's graph mode prunes unneeded gradients by itself).
 */
import * as tf from '@tensorflow/tfjs';

const LAZY_PATCHED = Symbol.for('transferlab.convLazyGradients');

/** The fields of TF.js's Conv2D layer (tfjs-layers `Conv`) the unfused call reads. */
interface Conv2DFields {
  rank: number;
  dataFormat: 'channelsFirst' | 'channelsLast';
  padding: 'valid' | 'same' | 'causal';
  strides: number[];
  dilationRate: number | number[];
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
}

/** Whether ops now run under a gradient tape (the test TF.js's fused ops use to decide whether to fuse). */
function underTape(): boolean {
  return ((tf.engine().state as unknown as { gradientDepth?: number }).gradientDepth ?? 0) > 0;
}

/**
 * Makes the 2-D convolution layers of `model` compute under a gradient tape only the gradients the
 * tape asks for (see the file header). Channels-last `Conv2D` layers only; others are left as
 * they are. Idempotent; patches the layer objects in place (models sharing them share the patch).
 *
 * @param model - any layers model, e.g. the trainable tail of a split model
 * @returns the number of layers patched by this call
 * @example
 * makeConvGradientsLazy(split.tail); // then fit skips the input gradient of conv2d_93
 */
export function makeConvGradientsLazy(model: tf.LayersModel): number {
  let patched = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Conv2D') continue;
    const conv = layer as tf.layers.Layer & Conv2DFields & { [LAZY_PATCHED]?: boolean };
    if (conv[LAZY_PATCHED] || conv.rank !== 2 || conv.dataFormat !== 'channelsLast' || conv.padding === 'causal') continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => {
      if (!underTape() || conv.kernel === undefined) return call(inputs, kwargs);
      return tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        const dilations = (typeof conv.dilationRate === 'number' ? [conv.dilationRate, conv.dilationRate] : conv.dilationRate) as [number, number];
        let y: tf.Tensor = tf.conv2d(x, conv.kernel.read() as tf.Tensor4D, conv.strides as [number, number], conv.padding as 'same' | 'valid', 'NHWC', dilations);
        if (conv.bias !== null && conv.bias !== undefined) y = tf.add(y, conv.bias.read());
        return conv.activation ? conv.activation.apply(y) : y;
      });
    };
    conv[LAZY_PATCHED] = true;
    patched++;
  }
  return patched;
}
