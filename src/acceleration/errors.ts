/** Errors of the acceleration area. */

/** A layer or setting that the ONNX converter cannot express; carries the layer's name and class. */
export class OnnxConversionError extends Error {
  override readonly name = 'OnnxConversionError';

  /**
   * @param layerName - the Keras layer name (e.g. `'conv2d_3'`)
   * @param className - the layer's class (e.g. `'SeparableConv2D'`)
   * @param reason - what is not supported and what to do
   */
  constructor(readonly layerName: string, readonly className: string, reason: string) {
    super(`Cannot convert layer '${layerName}' (${className}) to ONNX: ${reason}`);
  }
}
