// Public API of src/runtime: backend choice, notebook display, progress.
export * from './display';
export * from './progress';
export * from './backend';
