/**
 * "Extraction of features": a pretrained network's frozen features fed to a classical classifier
 * instead of a neural head — here multinomial logistic regression with L2 regularisation on
 * standardised features (scikit-learn's `LogisticRegression` with its default `C = 1`, fitted by
 * full-batch gradient descent), small enough to fit in a fraction of a second.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger, invalidParameterError } from '../util/validate';

/** Options of {@link fitLogisticRegression}. */
export interface LogisticRegressionArgs {
  /** Inverse regularisation strength (scikit-learn's `C`): larger fits the training set more closely. Default 1. */
  c?: number;
  /** Gradient-descent iterations (Adam, full batch). Default 300. */
  iterations?: number;
  /** Adam's learning rate. Default 0.05. */
  learningRate?: number;
}

/** A fitted classifier: call `predict` on rows of the same features. */
export interface LogisticRegressionModel {
  /** Arg-max class of each row of `features` (`[n, d]` row-major). */
  predict(features: Float32Array, rows: number): Int32Array;
  /** Feature count d. */
  readonly features: number;
  /** Class count. */
  readonly classes: number;
}

/**
 * Fits multinomial logistic regression to `[n, d]` features and integer labels.
 *
 * @param features - `n × d` values, row-major
 * @param labels - n labels in [0, classes)
 * @param classes - number of classes, ≥ 2
 * @param args - see {@link LogisticRegressionArgs}
 * @returns the fitted model (plain arrays; nothing to dispose)
 * @throws TypeError when sizes disagree or options are invalid
 * @example
 * const clf = fitLogisticRegression(trainFeatures, trainLabels, 4);
 * const predicted = clf.predict(testFeatures, testLabels.length);
 */
export function fitLogisticRegression(features: Float32Array, labels: ArrayLike<number>, classes: number, args: LogisticRegressionArgs = {}): LogisticRegressionModel {
  const n = labels.length;
  checkInteger('classes', classes, 2);
  if (n === 0 || features.length % n !== 0) throw invalidParameterError('features', `n × d values for the ${n} labels`, features.length);
  const d = features.length / n;
  const c = args.c ?? 1;
  if (typeof c !== 'number' || !(c > 0)) throw invalidParameterError('c', 'a positive number', c);
  const iterations = checkInteger('iterations', args.iterations ?? 300, 1);
  const learningRate = args.learningRate ?? 0.05;

  // Standardise with the training rows' mean and spread (constant features get spread 1).
  const mean = new Float32Array(d);
  const std = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[j] += (features[i * d + j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]) || 1;
  const standardise = (x: Float32Array, rows: number) => {
    const out = new Float32Array(rows * d);
    for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j] - mean[j]) / std[j];
    return out;
  };

  const [w, b] = tf.tidy(() => [tf.variable(tf.zeros([d, classes])), tf.variable(tf.zeros([classes]))]);
  const optimizer = tf.train.adam(learningRate);
  let weights: Float32Array;
  let bias: Float32Array;
  try {
    [weights, bias] = tf.tidy(() => {
      const x = tf.tensor2d(standardise(features, n), [n, d]);
      const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), classes).toFloat();
      // scikit-learn minimises C·Σ log-loss + ½‖w‖²; dividing by C·n gives the mean loss + ‖w‖²/(2Cn).
      for (let it = 0; it < iterations; it++) {
        optimizer.minimize(() => tf.add(tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(x, w), b)), tf.mul(1 / (2 * c * n), tf.sum(tf.square(w)))) as tf.Scalar);
      }
      return [w.dataSync().slice() as Float32Array, b.dataSync().slice() as Float32Array];
    });
  } finally {
    // Variables and optimizer state outlive tf.tidy: dispose them here.
    w.dispose();
    b.dispose();
    optimizer.dispose();
  }

  return {
    features: d,
    classes,
    predict(x: Float32Array, rows: number): Int32Array {
      if (x.length !== rows * d) throw invalidParameterError('features', `${rows} × ${d} values`, x.length);
      const z = standardise(x, rows);
      const out = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        let best = -Infinity;
        for (let k = 0; k < classes; k++) {
          let s = bias[k];
          for (let j = 0; j < d; j++) s += z[i * d + j] * weights[j * classes + k];
          if (s > best) {
            best = s;
            out[i] = k;
          }
        }
      }
      return out;
    },
  };
}

/**
 * Runs a feature extractor (e.g. a frozen PhantomNet base) over images in batches and flattens
 * each image's output into one row.
 *
 * @param model - the extractor
 * @param xs - images, `[n, h, w, c]` row-major
 * @param shape - `[n, h, w, c]`
 * @param batchSize - images per call. Default 64
 * @returns `{ features: n × d values, dims: d }` (plain arrays; no tensor survives)
 * @example
 * const { features } = extractFeatures(base, train.xs, train.shape);
 */
export function extractFeatures(model: tf.LayersModel, xs: Float32Array, shape: [number, number, number, number], batchSize = 64): { features: Float32Array; dims: number } {
  const [n, h, w, ch] = shape;
  const per = h * w * ch;
  const chunks: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    chunks.push(tf.tidy(() => {
      const out = model.predict(tf.tensor4d(xs.subarray(start * per, (start + count) * per), [count, h, w, ch])) as tf.Tensor;
      return out.reshape([count, -1]).dataSync() as Float32Array;
    }));
  }
  const dims = chunks.length > 0 ? chunks[0].length / Math.min(batchSize, n) : 0;
  const features = new Float32Array(n * dims);
  let offset = 0;
  for (const c of chunks) {
    features.set(c, offset);
    offset += c.length;
  }
  return { features, dims };
}
