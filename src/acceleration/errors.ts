/** Errors of the acceleration area. */

import { TransferlabError } from '../util/errors';

/** A layer or setting that the ONNX converter cannot express; carries the layer's name and class. */
export class OnnxConversionError extends TransferlabError {
  /**
   * @param layerName - the Keras layer name (e.g. `'conv2d_3'`)
   * @param className - the layer's class (e.g. `'SeparableConv2D'`)
   * @param reason - what is not supported and what to do
   */
  constructor(readonly layerName: string, readonly className: string, reason: string) {
    super(`Cannot convert layer '${layerName}' (${className}) to ONNX: ${reason}`);
  }
}

/**
 * A prefix engine was asked to run a prefix that no longer matches what it was built for: a layer
 * of the prefix became trainable (unfrozen), or the prefix's layers changed. Carries the layer.
 */
export class PrefixEngineStaleError extends TransferlabError {
  /**
   * @param layerName - the first prefix layer that changed
   * @param reason - what changed and what to do
   */
  constructor(readonly layerName: string, reason: string) {
    super(`The ONNX prefix engine is stale: ${reason}`);
  }
}

/** A feature-cache file could not be read or written; carries the path. */
export class FeatureCacheError extends TransferlabError {
  /**
   * @param path - the cache file or folder
   * @param reason - what went wrong and what to do
   */
  constructor(readonly path: string, reason: string) {
    super(`Feature cache ${path}: ${reason}`);
  }
}

/**
 * ONNX Runtime failed to run a converted prefix, its worker thread failed or exited, or a session or
 * engine was used after it was terminated or disposed. The message says which and what to do.
 */
export class OnnxRuntimeError extends TransferlabError {}
