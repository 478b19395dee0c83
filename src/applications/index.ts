// Public API of src/applications, re-exported by src/index.ts.
export { InceptionV3, usedRandomWeightsFallback, type InceptionV3Args } from './inception-v3';
export { weightsInfo, recordWeightsInfo, isRandomWeights, describeWeights, type WeightsInfo, type WeightsKind } from './weights-info';
export {
  INCEPTION_V3_WEIGHTS_PATH,
  INCEPTION_V3_WEIGHTS_PATH_NO_TOP,
  INCEPTION_V3_WEIGHTS_MD5,
  INCEPTION_V3_WEIGHTS_NO_TOP_MD5,
} from './inception-v3';
export {
  preprocessInput,
  imagenetPreprocessInput,
  decodePredictions,
  IMAGENET_CLASS_INDEX_URL,
  IMAGENET_CLASS_INDEX_MD5,
  type ImagenetPreprocessMode,
  type ImagenetPreprocessArgs,
  type DecodedPrediction,
  type DecodePredictionsArgs,
} from './imagenet-utils';
export { loadWeightsFromH5, type LoadWeightsFromH5Result } from './load-weights';
export { WeightsUnavailableError, WeightsFormatError } from './errors';
// Custom layers with Keras semantics (src/index.ts does not export './layers' itself).
export * from '../layers';
export {
  PhantomNet,
  addPhantomNetTop,
  type AddPhantomNetTopArgs,
  PHANTOM_SOURCE_WEIGHTS,
  PHANTOM_NET_INPUT_SHAPE,
  phantomSourceWeightsDir,
  phantomSourceWeightsFile,
  readPhantomSourceManifest,
  type PhantomNetArgs,
  type PhantomSourceManifest,
} from './phantom-net';
export { saveWeightsToH5 } from './save-weights';
