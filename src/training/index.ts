// Public API of src/training, re-exported by src/index.ts.
export { freezeLayers, freezeAllBut, setTrainable, refreshTrainableWeights, type FreezeLayersArgs, type FreezeResult } from './freeze';
export { summary, countParams, type SummaryArgs, type ParamCounts } from './summary';
// Training loop, callbacks and evaluation (fit/evaluate/callbacks work).
export type { Batch, BatchSource, PrefixEngine, PrefixEngineMeta, Logs } from './types';
export { TrainingError, CheckpointError } from './errors';
export { splitFrozenPrefix, type SplitFrozenPrefixArgs, type FrozenSplit } from './prefix';
// makeBatchNormRespectTrainable lives with the BatchNormalization layer (src/layers), exported through applications.
export { getLearningRate, setLearningRate } from './learning-rate';
export { resolveLoss, resolveMetrics, KERAS_EPSILON, type LossName, type MetricName, type SampleFn, type ResolvedFn } from './losses';
export { saveWeightsFile, loadWeightsFile, saveModelFile, loadModelFile, loadModelFileWithMeta, readCheckpoint, type CheckpointManifest } from './checkpoint-file';
export { fit, createOptimizer, type FitArgs, type OptimizerName } from './fit';
export { evaluate, predictIterator, type EvaluateArgs, type PredictIteratorArgs, type PredictionResult } from './evaluate';
export { confusionMatrix, classificationReport, worstPredictions, type ClassScores, type ClassificationReport, type WorstPrediction } from './report';
export * from './callbacks';
export { arraySource, type ArraySource, type ArraySourceArgs } from './array-source';
export { Baselines, measureBaselines, majorityBaseline, chanceLevel, noiseMargin, type LabelledSplit, type SplitBaseline, type Verdict, type VerdictArgs, type MeasureBaselinesArgs } from './baselines';
export { featureStatistics, formatMagnitude, type FeatureStatistics, type FeatureStatisticsArgs } from './feature-statistics';
export { pretrainPhantomSource, PRETRAIN_DEFAULTS, PHANTOM_SOURCE_FILES, HELD_OUT_START, type PretrainPhantomSourceArgs } from './pretrain';
export { transferStudy, collectImages, summarizeTransfer, describeTransfer, type TransferGap, type TransferStudy, type TransferStudyArgs, type TransferSummary } from './transfer-study';
export { trainTransferModels, sampleLabelsPerClass, TRANSFER_METHODS, type TrainTransferModelsArgs, type TrainedTransferModels, type TransferTrainingArgs, type TransferMethod, type TransferResult, type TransferCurves, type LabelledImages } from './transfer-models';
export { fitLogisticRegression, extractFeatures, type LogisticRegressionArgs, type LogisticRegressionModel } from './classical';
export { gradCam, scoreHeatmaps, describeHeatmapScore, type GradCamArgs, type GradCamResult, type GradCamImages, type HeatmapBox, type HeatmapScore, type ScoreHeatmapsArgs } from './grad-cam';
export { saveClassifier, loadClassifier, classifyImage, type Classifier, type ClassifierInfo, type ClassifierPreprocessing, type ClassProbability, type ImagePrediction } from './classifier';
