// Public API of src/runtime: backend choice, notebook display, progress.
export * from './display';
export * from './progress';
export * from './backend';
export { version } from './version';
export { writeRunMetrics } from './run-metrics';
