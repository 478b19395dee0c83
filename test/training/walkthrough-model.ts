// The walkthrough's model: InceptionV3 (no top, 224x224x3) + GAP → Flatten → Dense 512 relu →
// Dropout 0.3 → Dense 512 relu → Dropout 0.3 → Dense 4 softmax, with Keras's default names.
import * as tf from '@tensorflow/tfjs';
import { InceptionV3 } from '../../src/applications';
import { flatten } from '../../src/layers';

export async function walkthroughModel(size = 224): Promise<tf.LayersModel> {
  const base = await InceptionV3({ includeTop: false, weights: null, inputShape: [size, size, 3] });
  let x = tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(base.outputs[0]) as tf.SymbolicTensor;
  x = flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 512, activation: 'relu', name: 'dense' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 512, activation: 'relu', name: 'dense_1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.3, name: 'dropout_1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 4, activation: 'softmax', name: 'dense_2' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: base.inputs, outputs: x, name: 'model' });
}
