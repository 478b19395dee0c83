/**
 * In-memory data for {@link fit}, {@link evaluate} and {@link predictIterator}: what Keras's
 * `model.fit(x, y, batch_size, shuffle)` does with NumPy arrays. Images stay one Float32Array;
 * each batch becomes a tensor only when it is drawn, and never when an engine takes pixels (the
 * source is its own `planner`, as a `DirectoryIterator` is). Shuffling is per epoch and a pure function of
 * (seed, epoch), like a shuffling `DirectoryIterator`, so a run repeats exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { createRandom, deriveSeed } from '../util/random';
import { checkBoolean, checkInteger, invalidParameterError } from '../util/validate';
import type { Batch, BatchSource } from './types';
import type { BatchPlan } from '../preprocessing/batch';

let nextSourceId = 0;

/** Options of {@link arraySource}. */
export interface ArraySourceArgs {
  /** Samples, NHWC, row-major (`shape[0]` samples of `shape[1] × shape[2] × shape[3]` values). */
  xs: Float32Array;
  /** `[samples, height, width, channels]`. */
  shape: [number, number, number, number];
  /** Label of each sample (integer class index). */
  labels: ArrayLike<number>;
  /** Number of classes (one-hot width). */
  numClasses: number;
  /** Samples per batch, ≥ 1. Default 32. */
  batchSize?: number;
  /** Reshuffle at every epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the shuffle. Default 0. */
  seed?: number;
  /** Use only these sample indices (e.g. a labelled subset), in this order. Default all. */
  indices?: ArrayLike<number>;
  /** Class names, index = label. Default `'0'`, `'1'`, .... */
  classNames?: string[];
}

/** A {@link BatchSource} over arrays in memory; see {@link arraySource}. */
export interface ArraySource extends BatchSource {
  /** Number of samples. */
  readonly samples: number;
  /** Sample indices into the arrays, in the order of one unshuffled pass. */
  readonly indices: Int32Array;
}

/**
 * Wraps in-memory images and labels as a {@link BatchSource} with one-hot targets.
 *
 * @param args - see {@link ArraySourceArgs}
 * @returns a source whose `next()` loops forever, reshuffling at each epoch when `shuffle` is set
 * @throws TypeError when shapes, labels or options are invalid
 * @example
 * const train = arraySource({ xs, shape: [n, 64, 64, 1], labels, numClasses: 4, batchSize: 16, seed: 1 });
 * await fit(model, train, { epochs: 10 });
 */
export function arraySource(args: ArraySourceArgs): ArraySource {
  const [n, h, w, c] = args.shape;
  [n, h, w, c].forEach((d, i) => checkInteger(`shape[${i}]`, d, 1));
  const per = h * w * c;
  if (!(args.xs instanceof Float32Array) || args.xs.length !== n * per) {
    throw invalidParameterError('xs', `a Float32Array of ${n * per} values for shape [${args.shape.join(', ')}]`, args.xs?.length);
  }
  if (args.labels.length !== n) throw invalidParameterError('labels', `${n} labels (one per sample)`, args.labels.length);
  const numClasses = checkInteger('numClasses', args.numClasses, 1);
  for (let i = 0; i < n; i++) {
    const y = args.labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw invalidParameterError(`labels[${i}]`, `an integer class index in [0, ${numClasses - 1}]`, y);
  }
  const batchSize = checkInteger('batchSize', args.batchSize ?? 32, 1);
  const shuffle = checkBoolean('shuffle', args.shuffle ?? true);
  const seed = checkInteger('seed', args.seed ?? 0);
  const indices = Int32Array.from(args.indices ?? Array.from({ length: n }, (_, i) => i));
  indices.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= n) throw invalidParameterError(`indices[${i}]`, `a sample index in [0, ${n - 1}]`, v);
  });
  if (indices.length === 0) throw invalidParameterError('indices', 'at least one sample', 0);
  const length = Math.ceil(indices.length / batchSize);
  const classNames = args.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i));
  const { xs, labels } = args;

  const id = nextSourceId++;
  let epoch = 0;
  let step = 0;
  let orderEpoch = -1;
  let order = indices;
  const currentOrder = (): Int32Array => {
    if (shuffle && orderEpoch !== epoch) {
      order = Int32Array.from(createRandom(deriveSeed(seed, epoch)).shuffle(Array.from(indices)));
      orderEpoch = epoch;
    }
    return order;
  };

  const preprocessingKey = `array${id}`;
  /** The next batch's sample indices (the stream `next()` and `planner.nextPlan()` share). */
  const draw = (): Int32Array => {
    const o = currentOrder();
    const start = step * batchSize;
    const picked = o.slice(start, Math.min(o.length, start + batchSize));
    step++;
    if (step >= length) {
      step = 0;
      epoch++;
    }
    return picked;
  };
  const oneHotOf = (picked: Int32Array): tf.Tensor => tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(picked, (i) => labels[i] as number), 'int32'), numClasses).toFloat());
  const keysOf = (picked: Int32Array): string[] => Array.from(picked, (i) => `array${id}#${i}`);

  return {
    length,
    samples: indices.length,
    indices,
    deterministic: true,
    shuffle,
    classNames,
    classes: Int32Array.from(indices, (i) => labels[i]),
    preprocessingKey,
    reset(): void {
      step = 0;
    },
    setEpoch(e: number): void {
      epoch = e;
      step = 0;
    },
    async next(): Promise<Batch> {
      const picked = draw();
      const data = new Float32Array(picked.length * per);
      picked.forEach((i, k) => data.set(xs.subarray(i * per, (i + 1) * per), k * per));
      return { xs: tf.tensor4d(data, [picked.length, h, w, c]), ys: oneHotOf(picked), filepaths: keysOf(picked) };
    },
    // The same stream as pixels, so an engine with `predictPixels` (ONNX Runtime) reads the
    // samples straight from `xs`, without a tensor that it would copy back out of TF.js.
    planner: {
      imageShape: [h, w, c],
      deterministic: true,
      preprocessingKey,
      async nextPlan(): Promise<BatchPlan> {
        const picked = draw();
        return {
          indices: Array.from(picked),
          filepaths: keysOf(picked),
          ys: oneHotOf(picked),
          async load(positions: number[]): Promise<Float32Array> {
            const out = new Float32Array(positions.length * per);
            positions.forEach((p, k) => {
              if (!Number.isInteger(p) || p < 0 || p >= picked.length) throw new RangeError(`Expected a position in [0, ${picked.length - 1}] of this batch, but received ${p}.`);
              const i = picked[p] as number;
              out.set(xs.subarray(i * per, (i + 1) * per), k * per);
            });
            return out;
          },
        };
      },
    },
  };
}
