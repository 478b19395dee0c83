/**
 * transferlab: transfer learning in TypeScript notebooks, with Keras-faithful semantics.
 * This file only re-exports; each area's `index.ts` lists its public API.
 *
 * Data flows one way: data → preprocessing → applications → training → plots;
 * runtime chooses the TF.js backend and talks to the notebook.
 */
export * as tf from '@tensorflow/tfjs';
export { createRandom, deriveSeed, type Random } from './util/random';
export { setGlobalSeed, getGlobalSeed, clearGlobalSeed } from './util/seed';
export { TransferlabError, MissingPackageError } from './util/errors';
export * from './runtime';
export * from './data';
export * from './preprocessing';
export * from './applications';
export * from './training';
export * from './acceleration';
export * from './plots';
export { runNotebook, type RunNotebookArgs, type RunNotebookResult, type RunFailure } from './cli';
