// Public API of src/acceleration, re-exported by src/index.ts: running the frozen prefix on
// faster engines (ONNX export for onnxruntime, a prefix engine, a feature cache, the default), and
// predicting the trainable tail on ONNX Runtime (the tail engine) and training it there (the tail trainer).
export { OnnxConversionError, PrefixEngineStaleError, FeatureCacheError, OnnxRuntimeError } from './errors';
export { emitOnnx, ONNX_SUPPORTED_LAYERS, toOnnx, type ToOnnxArgs } from './to-onnx';
export { ONNX_IR_VERSION, ONNX_OPSET } from './onnx-graph';
export { FeatureCache, createFeatureCache, type FeatureCacheArgs, type FeatureCacheStats, type CachedFeatures } from './feature-cache';
export { OnnxPrefixEngine, createOnnxPrefixEngine, loadOnnxRuntime, type OnnxPrefixEngineArgs, type OnnxPrefixEngineStats } from './onnx-prefix-engine';
export { TailEngine, createTailEngine, sharedTailEngine, type TailEngineArgs, type TailEngineStats } from './tail-engine';
export { TailTrainer, createTailTrainer, type TailTrainerArgs, type TailTrainerLoss, type TailStepResult, type TailInputData } from './tail-trainer';
export { TfjsPrefixEngine, createTfjsPrefixEngine, type TfjsPrefixEngineArgs } from './tfjs-prefix-engine';
export { cachedPrefixOutputs, type CachedPrefixOutputsArgs, type PrefixRunOutput } from './cached-outputs';
// racingPrefixEngine is plumbing (imported from its module); the batch stage of the training
// loops is training/batch-stage.ts, not part of the public API.
export type { FilePrefixEngine, PixelBatch } from './engine';
export { autoPrefixEngine, accelerationEnabled, defaultFeatureCache, type AutoPrefixEngineArgs } from './auto-engine';
