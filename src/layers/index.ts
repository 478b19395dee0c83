// Custom layers with Keras semantics. Re-exported through src/applications/index.ts.
export { BatchNormalization, batchNormalization, batchNormTraining, makeBatchNormRespectTrainable, type BatchNormalizationArgs } from './batch-normalization';
export { Flatten, flatten, type FlattenArgs } from './flatten';
export { makeConvGradientsLazy } from './conv-gradients';
