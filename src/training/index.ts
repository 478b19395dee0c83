// Public API of src/training, re-exported by src/index.ts. Filled in by the training work.
export {};
export { freezeLayers, freezeAllBut, setTrainable, refreshTrainableWeights, type FreezeLayersArgs, type FreezeResult } from './freeze';
export { summary, countParams, type SummaryArgs, type ParamCounts } from './summary';
