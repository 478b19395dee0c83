/**
 * Entry script of one wasm pthread (a Node `worker_threads` worker) for the threaded SIMD build of
 * `@tensorflow/tfjs-backend-wasm`; started by Emscripten's pthread pool, never imported directly.
 *
 * The package ships the worker's source only as a string (`wasmWorkerContents`, meant for a `blob:`
 * URL, which Node cannot load — tfjs issue 3830). This file is the real file Node needs: it runs that
 * string with a working `require` and `__filename`. See `threaded-wasm.ts`.
 */
// The string holds literal newlines inside JS string literals ("...\n..."); the package's own loader
// escapes them the same way before building its blob.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
  wasmWorkerContents: string;
};
// eslint-disable-next-line @typescript-eslint/no-implied-eval
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
