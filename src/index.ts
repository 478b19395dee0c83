/**
 * transferlab: transfer learning in TypeScript notebooks, with Keras-faithful semantics.
 * This file only re-exports; each area's `index.ts` lists its public API.
 *
 * Imports point one way, down these layers (test/architecture/imports.test.ts checks it):
 * util (validation, seeds, errors) < layers (Keras-semantics layers) and runtime (backend,
 * progress, notebook display, parameters), both importable by all above < data < preprocessing <
 * applications < acceleration (prefix engines and their contracts) < training < plots < cli.
 * A training batch: data's files → preprocessing's iterator → the frozen prefix on an
 * acceleration engine (or TF.js) → training's tail and callbacks → plots.
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
