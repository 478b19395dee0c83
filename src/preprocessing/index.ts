// Public API of src/preprocessing (image I/O, augmentation, directory iterator), re-exported by src/index.ts.
export {
  type ImageArray,
  type FillMode,
  type Matrix3,
  type AffineParams,
  FILL_MODES,
  affineMatrix,
  applyAffineTransform,
  applyBrightnessShift,
  applyChannelShift,
  flipAxis,
  resampleAffine,
  transformMatrixOffsetCenter,
} from './affine';
export { ImageDecodeError, DirectoryScanError, ExtractedImagesMismatchError, ClassMismatchError, type ImageDecodeProblem } from './errors';
export { checkExtractedImages, type ExtractedFiles, type ExtractedImagesReport, type IteratedImages } from './extracted-images';
export {
  type ColorMode,
  type LoadImageOptions,
  type LoadedImage,
  ALLOWED_FORMATS,
  COLOR_MODES,
  DEFAULT_PIXEL_LIMIT,
  aspectCropBox,
  checkImage,
  hasAllowedExtension,
  loadImage,
} from './image-io';
export { type Interpolation, INTERPOLATIONS, resizeLikePil } from './resize';
export {
  ImageDataGenerator,
  type ImageDataGeneratorArgs,
  type ShiftRange,
  type TransformParams,
} from './image-data-generator';
export { DirectoryIterator } from './directory-iterator';
export { BatchIterator } from './batch-iterator';
export type { Batch, ImageBatch, BatchPlan, BatchPlanner, NextPlanArgs } from './batch';
export type { ClassMode, FlowFromDirectoryArgs } from './flow-args';
export {
  alignClassIndices,
  describeClassMismatch,
  checkSameClasses,
  type AlignClassIndicesArgs,
  type ClassAlignment,
  type ClassAlignmentStrategy,
  type ClassPair,
} from './class-alignment';
export { phantomSourceSet, type PhantomSourceSet, type PhantomSourceSetArgs } from './phantom-source-set';
