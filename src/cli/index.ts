// Public API of src/cli (the headless notebook runner behind `transferlab run`).
export { runNotebook, failureSummary, failureHeadline, type RunNotebookArgs, type RunNotebookResult, type RunFailure } from './runNotebook';
export { parseParamValue, parseParamArg, findDeclaredParameters, injectParameters, buildInjectedSource, type ParamValue, PARAMETERS_TAG, INJECTED_PARAMETERS_TAG } from './params';
export { ParameterError, JupyterUnavailableError, NotebookFileError } from './errors';
export { main as runCli } from './main';
export { stripNotebook, stripFile, formatNotebook, GIT_FILTER_NAME, type StripResult } from './strip';
