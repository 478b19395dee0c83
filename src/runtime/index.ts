// Public API of src/runtime: backend choice, notebook display, progress.
export * from './display';
export * from './progress';
export * from './backend';
export { version } from './version';
export { writeRunMetrics } from './run-metrics';
export { parameters, PARAM_ENV_PREFIX, PARAMS_FILE_ENV, type ParametersArgs } from './parameters';
export { runFolder, RUN_OUTPUT_ENV, type RunFolderArgs } from './run-folder';
