/**
 * Reading and changing an optimizer's learning rate mid-training, as Keras's
 * `model.optimizer.learning_rate = x` (used by ReduceLROnPlateau).
 *
 * TF.js optimizers read `this.learningRate` at every step (Adam, Adamax, Adagrad, Adadelta,
 * RMSProp); SGD and Momentum cache `-learningRate` as a kept scalar and must go through their
 * `setLearningRate` method. Keras keeps the rate in a float32 variable; values here are rounded
 * to float32 the same way so logs match Keras's `float(np.float32(lr))`.
 */
import type * as tf from '@tensorflow/tfjs';
import { TrainingError } from './errors';
import { checkNumber } from '../util/validate';

type WithRate = { learningRate?: unknown; setLearningRate?: (lr: number) => void };

/**
 * Returns the optimizer's current learning rate (as float32, like Keras).
 *
 * @param optimizer - a TF.js optimizer
 * @throws TrainingError when the optimizer has no numeric `learningRate`
 * @example
 * getLearningRate(tf.train.adam(1e-3)); // 0.0010000000474974513
 */
export function getLearningRate(optimizer: tf.Optimizer): number {
  const lr = (optimizer as unknown as WithRate).learningRate;
  if (typeof lr !== 'number') {
    throw new TrainingError(`Expected an optimizer with a numeric learningRate, but ${optimizer.getClassName()} has ${String(lr)}. Use tf.train.adam/sgd/rmsprop/... or pass a number-rate optimizer.`);
  }
  return Math.fround(lr);
}

/**
 * Sets the optimizer's learning rate for the following steps (rounded to float32, like Keras).
 *
 * @param optimizer - a TF.js optimizer
 * @param value - the new rate, a finite number ≥ 0
 * @throws TypeError for a negative or non-finite value; TrainingError as {@link getLearningRate}
 * @example
 * setLearningRate(model.optimizer, 1e-4);
 */
export function setLearningRate(optimizer: tf.Optimizer, value: number): void {
  checkNumber('learningRate', value, 0);
  getLearningRate(optimizer);
  const v = Math.fround(value);
  const o = optimizer as unknown as WithRate;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(v);
  else o.learningRate = v;
}
