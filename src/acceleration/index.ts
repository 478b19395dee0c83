// Public API of src/acceleration, re-exported by src/index.ts: running the frozen prefix on
// faster engines (ONNX export for onnxruntime).
export { OnnxConversionError } from './errors';
export { ONNX_SUPPORTED_LAYERS, toOnnx, type ToOnnxArgs } from './to-onnx';
export { ONNX_IR_VERSION, ONNX_OPSET } from './onnx-graph';
