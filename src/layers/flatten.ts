/**
 * Flatten that accepts rank-2 inputs, as Keras does.
 *
 * Port of Keras's `keras/src/layers/reshaping/flatten.py`. TF.js's `tf.layers.flatten` requires an
 * input of rank 3 or more, so the walkthrough's `GlobalAveragePooling2D → Flatten` (a Keras no-op)
 * fails there. This layer flattens every axis after the batch axis and passes rank-2 (and rank-1)
 * inputs through unchanged.
 */
import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Options of {@link Flatten}: the common layer options (`name`, `trainable`, ...). */
export type FlattenArgs = LayerArgs;

/**
 * Flattens the input to `[batch, product of the other axes]`; rank-2 input is returned as is.
 * Registered for serialization as `'TransferlabFlatten'` (distinct from TF.js's `Flatten`).
 *
 * @example
 * const y = new Flatten({ name: 'flatten' }).apply(tf.input({ shape: [2048] })); // shape [null, 2048]
 */
export class Flatten extends tf.layers.Layer {
  /** @nocollapse */
  static className = 'TransferlabFlatten';

  constructor(args: FlattenArgs = {}) {
    super(args);
    this.inputSpec = [new tf.InputSpec({ minNDim: 1 })];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length <= 2) return shape;
    const rest = shape.slice(1);
    const size = rest.some((d) => d == null) ? null : rest.reduce<number>((a, d) => a * (d as number), 1);
    return [shape[0], size];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (x.rank <= 2) return tf.clone(x);
      return tf.reshape(x, [x.shape[0], -1]);
    });
  }
}
tf.serialization.registerClass(Flatten);

/**
 * Creates a Keras-like {@link Flatten} layer.
 *
 * @param args - common layer options (`name`, ...)
 * @returns a new layer
 * @example
 * const flat = flatten({ name: 'flatten' }).apply(pooled) as tf.SymbolicTensor;
 */
export function flatten(args: FlattenArgs = {}): Flatten {
  return new Flatten(args);
}
