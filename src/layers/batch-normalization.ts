/**
 * Keras-correct batch normalization for TF.js.
 *
 * Port of Keras's `keras/src/layers/normalization/batch_normalization.py` (Keras 3 semantics, which
 * match TF2 Keras for the parts that matter here). TF.js's own `tf.layers.batchNormalization`
 * differs from Keras in two ways that break transfer learning (tfjs issue #2868):
 *
 * - it ignores `trainable`: a frozen layer still normalizes with batch statistics and keeps
 *   updating its moving mean/variance during `fit`, so a frozen InceptionV3 base drifts;
 * - with `scale: false` (InceptionV3 uses it on every layer) it crashes in training mode.
 *
 * This layer runs in inference mode whenever it is not trainable ("frozen state implies inference
 * mode", as Keras since TF 2.0), uses batch statistics and updates the moving statistics only when
 * trainable and called with `training: true`, and keeps Keras's weight order
 * (`gamma`?, `beta`?, `moving_mean`, `moving_variance`) so `.h5` files load by position.
 *
 * Frozen batch normalization lives here, once: {@link batchNormTraining} is the rule, this layer
 * applies it, and {@link makeBatchNormRespectTrainable} applies it to TF.js's own
 * `BatchNormalization` layers (a model built with `tf.layers.batchNormalization` or loaded from JSON).
 */
import * as tf from '@tensorflow/tfjs';
import { invalidParameterError, isInteger, isNumber } from '../util/validate';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
/** TF.js's initializer base type (not exported by name from '@tensorflow/tfjs'). */
type Initializer = ReturnType<typeof tf.initializers.zeros>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];
type InitializerIdentifier = Parameters<typeof tf.layers.batchNormalization>[0] extends infer A
  ? A extends { betaInitializer?: infer I } ? I : never
  : never;

/** Options of {@link BatchNormalization}; names and defaults as Keras's `BatchNormalization`. */
export interface BatchNormalizationArgs extends LayerArgs {
  /** The feature axis to normalize (channels). Default `-1` (channels last). */
  axis?: number;
  /** Momentum of the moving average: `moving = moving * momentum + batch * (1 - momentum)`. Default `0.99`, in `[0, 1]`. */
  momentum?: number;
  /** Small constant added to the variance. Default `1e-3`, `> 0`. */
  epsilon?: number;
  /** Whether to add the learned offset `beta`. Default `true`. */
  center?: boolean;
  /** Whether to multiply by the learned scale `gamma`. Default `true`; InceptionV3 uses `false`. */
  scale?: boolean;
  /** Initializer of `beta`. Default `'zeros'`. */
  betaInitializer?: InitializerIdentifier;
  /** Initializer of `gamma`. Default `'ones'`. */
  gammaInitializer?: InitializerIdentifier;
  /** Initializer of `moving_mean`. Default `'zeros'`. */
  movingMeanInitializer?: InitializerIdentifier;
  /** Initializer of `moving_variance`. Default `'ones'`. */
  movingVarianceInitializer?: InitializerIdentifier;
}

/**
 * Keras's rule for batch normalization: batch statistics (and moving-average updates) only when the
 * layer is trainable AND called with `training: true`; otherwise inference mode ("frozen state
 * implies inference mode"). `trainable` is read at call time, so unfreezing later takes effect.
 *
 * @param layer - the batch normalization layer
 * @param kwargs - the call's keyword arguments
 * @returns whether the call normalizes with batch statistics
 */
export function batchNormTraining(layer: tf.layers.Layer, kwargs: Kwargs | undefined): boolean {
  return kwargs?.['training'] === true && layer.trainable;
}

const BN_PATCHED = Symbol.for('transferlab.bnRespectsTrainable');

/**
 * Makes TF.js's own BatchNormalization layers follow {@link batchNormTraining} (TF.js ignores
 * `trainable` there and would update the moving statistics of a frozen layer during `fit`).
 * Idempotent; {@link BatchNormalization} layers need nothing (they follow the rule themselves).
 *
 * @param model - any layers model; its TF.js BatchNormalization layers are patched in place
 * @example
 * makeBatchNormRespectTrainable(tf.models.modelFromJSON(json)); // then frozen BN stays frozen in fit
 */
export function makeBatchNormRespectTrainable(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const patched = layer as tf.layers.Layer & { [BN_PATCHED]?: boolean };
    if (patched[BN_PATCHED]) continue;
    const call = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => call(inputs, { ...kwargs, training: batchNormTraining(layer, kwargs) });
    patched[BN_PATCHED] = true;
  }
}

function isInitializer(v: unknown): v is Initializer {
  return typeof v === 'object' && v !== null && typeof (v as { apply?: unknown }).apply === 'function' && typeof (v as { getClassName?: unknown }).getClassName === 'function';
}

function toInitializer(value: InitializerIdentifier | undefined, fallback: 'zeros' | 'ones'): Initializer {
  const v: unknown = value ?? fallback;
  if (isInitializer(v)) return v;
  if (v === 'zeros') return tf.initializers.zeros();
  if (v === 'ones') return tf.initializers.ones();
  // A serialized initializer ({ className, config }) as found in model JSON after a save/load round trip.
  const className = typeof v === 'string' ? v : (v as { className?: unknown }).className;
  const config = typeof v === 'string' ? {} : ((v as { config?: tf.serialization.ConfigDict }).config ?? {});
  const entry = typeof className === 'string' ? tf.serialization.SerializationMap.getMap().classNameMap[className] : undefined;
  if (entry === undefined) throw invalidParameterError('initializer', "'zeros', 'ones', an Initializer or a serialized initializer", v);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config) as unknown as Initializer;
}

function serializeInitializer(init: Initializer): tf.serialization.ConfigDict {
  return { className: init.getClassName(), config: init.getConfig() };
}

/**
 * Batch normalization with Keras semantics for `trainable`, `scale: false` and weight order.
 *
 * - Frozen (`layer.trainable === false`): always inference mode (moving statistics used, never
 *   updated), whatever `training` says.
 * - Trainable and `training: true`: normalizes with the batch mean and (biased) variance over all
 *   axes but `axis`, and updates `moving_mean`/`moving_variance` with `momentum`.
 * - Otherwise: inference mode.
 *
 * Registered for serialization under the class name `'TransferlabBatchNormalization'`, so it never
 * shadows TF.js's own `BatchNormalization` when a saved model is loaded.
 *
 * @example
 * const bn = new BatchNormalization({ scale: false, epsilon: 1e-3, name: 'batch_normalization' });
 * const y = bn.apply(tf.input({ shape: [8, 8, 4] }));
 */
export class BatchNormalization extends tf.layers.Layer {
  /** @nocollapse */
  static className = 'TransferlabBatchNormalization';

  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly betaInitializer: Initializer;
  private readonly gammaInitializer: Initializer;
  private readonly movingMeanInitializer: Initializer;
  private readonly movingVarianceInitializer: Initializer;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;
  private movingMean: tf.LayerVariable | null = null;
  private movingVariance: tf.LayerVariable | null = null;

  /**
   * @param args - see {@link BatchNormalizationArgs}
   * @throws TypeError when `axis` is not an integer, `momentum` not in [0, 1] or `epsilon` not > 0
   */
  constructor(args: BatchNormalizationArgs = {}) {
    super(args);
    this.supportsMasking = true;
    this.axis = args.axis ?? -1;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    if (!isInteger(this.axis)) throw invalidParameterError('axis', 'integer', args.axis);
    if (!isNumber(this.momentum) || this.momentum < 0 || this.momentum > 1) {
      throw invalidParameterError('momentum', 'number between 0 and 1', args.momentum);
    }
    if (!isNumber(this.epsilon) || this.epsilon <= 0) throw invalidParameterError('epsilon', 'positive number', args.epsilon);
    this.betaInitializer = toInitializer(args.betaInitializer, 'zeros');
    this.gammaInitializer = toInitializer(args.gammaInitializer, 'ones');
    this.movingMeanInitializer = toInitializer(args.movingMeanInitializer, 'zeros');
    this.movingVarianceInitializer = toInitializer(args.movingVarianceInitializer, 'ones');
  }

  private resolveAxis(rank: number): number {
    const axis = this.axis >= 0 ? this.axis : this.axis + rank;
    if (axis < 0 || axis >= rank) {
      throw new RangeError(`Expected axis in [${-rank}, ${rank - 1}] for an input of rank ${rank} but received ${this.axis} (layer ${this.name})`);
    }
    return axis;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const axis = this.resolveAxis(shape.length);
    const dim = shape[axis];
    if (dim == null) {
      throw new TypeError(`Expected a defined size on axis ${axis} for layer ${this.name} but received input shape ${JSON.stringify(shape)}`);
    }
    this.inputSpec = [new tf.InputSpec({ ndim: shape.length, axes: { [axis]: dim } })];
    const paramShape = [dim];
    // Keras's creation order: gamma, beta, moving_mean, moving_variance.
    if (this.scale) this.gamma = this.addWeight('gamma', paramShape, 'float32', this.gammaInitializer, undefined, true);
    if (this.center) this.beta = this.addWeight('beta', paramShape, 'float32', this.betaInitializer, undefined, true);
    this.movingMean = this.addWeight('moving_mean', paramShape, 'float32', this.movingMeanInitializer, undefined, false);
    this.movingVariance = this.addWeight('moving_variance', paramShape, 'float32', this.movingVarianceInitializer, undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const rank = x.rank;
      const axis = this.resolveAxis(rank);
      const broadcast = new Array<number>(rank).fill(1);
      broadcast[axis] = x.shape[axis];
      const reductionAxes = [...Array(rank).keys()].filter((a) => a !== axis);
      const asBroadcast = (t: tf.Tensor) => (axis === rank - 1 ? t : tf.reshape(t, broadcast));
      const training = batchNormTraining(this, kwargs);

      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (training) {
        const moments = tf.moments(x, reductionAxes);
        mean = moments.mean;
        variance = moments.variance;
        this.updateMovingAverages(mean, variance);
      } else {
        mean = this.movingMean!.read();
        variance = this.movingVariance!.read();
      }
      // y = (x - mean) * gamma / sqrt(variance + eps) + beta, written with plain ops so the
      // gradient is exact for any rank (tf.batchNorm's gradient assumes rank-4 inputs).
      let multiplier: tf.Tensor = tf.rsqrt(tf.add(variance, this.epsilon));
      if (this.gamma !== null) multiplier = tf.mul(multiplier, this.gamma.read());
      const centered = tf.sub(x, asBroadcast(mean));
      let y = tf.mul(centered, asBroadcast(multiplier));
      if (this.beta !== null) y = tf.add(y, asBroadcast(this.beta.read()));
      return y;
    });
  }

  /**
   * Folds a batch's statistics into the moving ones, as a call in training mode does (Keras:
   * `moving = moving * momentum + batch * (1 - momentum)`). Public for engines that compute the
   * batch statistics elsewhere (the tail's training step on ONNX Runtime).
   *
   * @param mean - the batch mean per channel, shape `[C]`; not disposed
   * @param variance - the batch (biased) variance per channel, shape `[C]`; not disposed
   */
  updateMovingAverages(mean: tf.Tensor, variance: tf.Tensor): void {
    const m = this.momentum;
    tf.tidy(() => {
      // Keras: moving = moving * momentum + batch * (1 - momentum).
      const mm = this.movingMean!;
      const mv = this.movingVariance!;
      mm.write(tf.add(tf.mul(mm.read(), m), tf.mul(mean, 1 - m)));
      mv.write(tf.add(tf.mul(mv.read(), m), tf.mul(variance, 1 - m)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer),
      gammaInitializer: serializeInitializer(this.gammaInitializer),
      movingMeanInitializer: serializeInitializer(this.movingMeanInitializer),
      movingVarianceInitializer: serializeInitializer(this.movingVarianceInitializer),
    };
    return { ...config, ...super.getConfig() };
  }
}
tf.serialization.registerClass(BatchNormalization);

/**
 * Creates a Keras-correct {@link BatchNormalization} layer (lowercase factory, as `tf.layers.*`).
 *
 * @param args - see {@link BatchNormalizationArgs}; defaults `axis -1`, `momentum 0.99`, `epsilon 1e-3`,
 *   `center true`, `scale true`
 * @returns a new, unbuilt layer
 * @example
 * const y = batchNormalization({ scale: false, name: 'batch_normalization' }).apply(x) as tf.SymbolicTensor;
 */
export function batchNormalization(args: BatchNormalizationArgs = {}): BatchNormalization {
  return new BatchNormalization(args);
}
