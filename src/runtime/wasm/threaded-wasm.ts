/**
 * A multi-threaded loader for `@tensorflow/tfjs-backend-wasm` under Node, without editing the package.
 *
 * Why: the package hard-codes multithreading off under Node (its `WASM_HAS_MULTITHREAD_SUPPORT` flag
 * returns false when `IS_NODE`, tfjs issue 3830) because its pthread workers are `blob:` URLs Node
 * cannot load; and its C++ side caps the thread pool at `logical cores / 2`, which is 1 on a
 * 2-core machine. So `setThreadsCount` alone never gives more than one thread.
 *
 * How: the package ships the threaded SIMD Emscripten module as plain files —
 * `wasm-out/tfjs-backend-wasm-threaded-simd.js` (a CommonJS factory),
 * `dist/tfjs-backend-wasm-threaded-simd.wasm`, and the worker's source as a string in
 * `wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`. This loader
 * 1. calls that factory itself with standard Emscripten `Module` hooks: `locateFile` points pthread
 *    workers at our real file `pthread-worker.js` (which runs the worker string) and
 *    `mainScriptUrlOrBlob` at the factory's own path; `instantiateWasm` instantiates the binary and
 *    reports `2 × threads` logical cores to it, so the C++ cap (`cores / 2`) equals `threads`;
 * 2. adds the same small `module.tfjs` bridge the package's own `init()` adds, sets the thread count
 *    with the public `setThreadsCount`, and builds the backend with the public `BackendWasm` class;
 * 3. replaces the registered 'wasm' backend factory (public `tf.removeBackend`/`tf.registerBackend`;
 *    the package's kernels stay registered under 'wasm' and are set up against our module).
 * Afterwards it unrefs the pool's running workers (so scripts still exit when done), terminates the
 * idle ones Emscripten pre-spawns (8, about 40 MB), and removes the process-wide
 * `uncaughtException`/`unhandledRejection` rethrow handlers the Emscripten runtime installs.
 *
 * Robustness: any failure while starting (files missing in another package version, a pthread
 * worker that throws — Emscripten's handler would rethrow it and crash Node, so it is guarded — or
 * a factory that rejects or does not settle within {@link THREADED_WASM_INIT_TIMEOUT_MS}) rejects, and
 * {@link restoreStockWasmBackend} puts the package's own single-thread factory back; `initBackend`
 * does that automatically and reports why. Tied to tfjs-backend-wasm 4.x file names; checked at load.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../backend-error';

/** Most threads the package's build supports (its pre-spawned pool and C++ cap are 8). */
export const MAX_WASM_THREADS = 8;

/** How long the threaded module may take to start before the loader gives up (30 s). */
export const THREADED_WASM_INIT_TIMEOUT_MS = 30_000;

const PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** What the threaded loader ended up with. */
export interface ThreadedWasmInfo {
  /** Threads XNNPACK's pool really uses (reported by the module). */
  threads: number;
  /** Absolute path of the .wasm binary loaded. */
  wasmFile: string;
}

interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm: string;
}

interface EmscriptenWorker {
  ref(): void;
  unref(): void;
  terminate(): unknown;
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: unknown[]) => unknown;
  PThread?: { runningWorkers: EmscriptenWorker[]; unusedWorkers: EmscriptenWorker[]; terminateAllThreads(): void };
  tfjs?: Record<string, unknown>;
}

let stockFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | undefined;
let lastInfo: ThreadedWasmInfo | undefined;

/** Resolves the package's files; throws a descriptive Error when this version lacks one. */
function packageFiles(): { dir: string; mainJs: string; wasmFile: string; workerJs: string } {
  const dir = path.dirname(require.resolve(`${PACKAGE}/package.json`));
  const files = {
    dir,
    mainJs: path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js'),
    wasmFile: path.join(dir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm'),
    workerJs: path.join(__dirname, 'pthread-worker.js'),
  };
  for (const file of [files.mainJs, files.wasmFile, files.workerJs]) {
    if (!fs.existsSync(file)) throw new BackendError(`threaded wasm file missing: ${file}`, 'wasm');
  }
  return files;
}

/**
 * Wraps the `onerror` handler Emscripten later assigns to `worker` (it rethrows, which would crash
 * the process from an event listener) so that errors go to `fail` instead.
 */
function guardWorkerErrors(worker: EmscriptenWorker, fail: (error: unknown) => void): void {
  // Emscripten attaches its own 'error' listener only once the wasm module is compiled; a worker
  // script that fails before that would emit 'error' with no listener, which crashes Node. Listen
  // from the start.
  (worker as unknown as { on?: (event: 'error', fn: (error: unknown) => void) => void }).on?.('error', fail);
  let handler: ((event: unknown) => void) | undefined;
  Object.defineProperty(worker, 'onerror', {
    configurable: true,
    get: () => handler,
    set: (fn: (event: unknown) => void) => {
      handler = (event: unknown) => {
        try {
          fn(event);
        } catch (error) {
          fail(error);
        }
      };
    },
  });
}

/** Creates the threaded backend (the body of the registered factory). */
async function createThreadedBackend(threads: number): Promise<tf.KernelBackend> {
  const pkg = require(PACKAGE) as WasmPackage;
  if (!/^4\./.test(pkg.version_wasm)) throw new BackendError(`untested ${PACKAGE} version ${pkg.version_wasm} (expected 4.x)`, 'wasm');
  const files = packageFiles();
  const factory = require(files.mainJs) as (config: object) => Promise<EmscriptenModule>;
  const listenersBefore = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  let config: Record<string, unknown> = {};
  const module = await new Promise<EmscriptenModule>((resolve, reject) => {
    const timer = setTimeout(() => {
      (config as unknown as EmscriptenModule).PThread?.terminateAllThreads();
      reject(new BackendError(`threaded wasm module did not start within ${THREADED_WASM_INIT_TIMEOUT_MS / 1000} s`, 'wasm'));
    }, THREADED_WASM_INIT_TIMEOUT_MS);
    timer.unref();
    config = {
      mainScriptUrlOrBlob: files.mainJs,
      locateFile: (file: string, prefix: string) => {
        if (file.endsWith('.worker.js')) return files.workerJs;
        if (file.endsWith('.wasm')) return files.wasmFile;
        return prefix + file;
      },
      instantiateWasm: (imports: { env: Record<string, unknown> }, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
        // The C++ side sizes its pool as min(requested, cores / 2); report 2 × threads cores.
        imports.env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
        WebAssembly.instantiate(fs.readFileSync(files.wasmFile), imports as WebAssembly.Imports)
          .then((result) => receive(result.instance, result.module))
          .catch(reject);
        return {};
      },
      onAbort: (what: unknown) => reject(new BackendError(`threaded wasm module aborted: ${String(what)}`, 'wasm')),
    };
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) throw error; // after start-up: Emscripten's own behaviour (a crashed pthread is fatal)
      reject(error instanceof Error ? error : new BackendError(String(error), 'wasm'));
    };
    const started = factory(config);
    // Emscripten pre-spawns its pool synchronously inside the factory call; guard their error
    // handlers so a worker that fails while starting rejects this promise instead of crashing Node.
    for (const worker of (config as unknown as EmscriptenModule).PThread?.unusedWorkers ?? []) guardWorkerErrors(worker, fail);
    started.then(resolve, reject).finally(() => {
      settled = true;
      clearTimeout(timer);
    });
  });
  for (const listener of process.listeners('uncaughtException')) {
    if (!listenersBefore.uncaughtException.includes(listener)) process.removeListener('uncaughtException', listener);
  }
  for (const listener of process.listeners('unhandledRejection')) {
    if (!listenersBefore.unhandledRejection.includes(listener)) process.removeListener('unhandledRejection', listener);
  }
  // The same bridge the package's own init() adds (backend_wasm.js), which BackendWasm relies on.
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  pkg.setThreadsCount(threads);
  const backend = new pkg.BackendWasm(module);
  const pool = module.PThread;
  if (pool !== undefined) {
    for (const worker of pool.runningWorkers) worker.unref();
    for (const worker of pool.unusedWorkers.splice(0)) void worker.terminate();
  }
  lastInfo = { threads: pkg.getThreadsCount(), wasmFile: files.wasmFile };
  return backend;
}

/**
 * Replaces the 'wasm' backend factory with the multi-threaded loader described in the file header.
 * Call before the wasm backend is first initialized, then `await tf.setBackend('wasm')`; if that
 * returns false, call {@link restoreStockWasmBackend}.
 *
 * @param threads - threads for XNNPACK's pool, 2..{@link MAX_WASM_THREADS}
 * @throws BackendError when the wasm backend is already initialized or the package is missing
 */
export function installThreadedWasmBackend(threads: number): void {
  require(PACKAGE);
  const current = tf.findBackendFactory('wasm');
  if (current === null) throw new BackendError(`${PACKAGE} did not register a 'wasm' backend`, 'wasm');
  if (tf.findBackend('wasm') !== null) throw new BackendError('the wasm backend is already initialized; threads can no longer change', 'wasm');
  stockFactory ??= current as unknown as typeof stockFactory;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => createThreadedBackend(threads), 2);
}

/** Puts the package's own (single-thread) 'wasm' factory back after a failed threaded start. */
export function restoreStockWasmBackend(): void {
  if (stockFactory === undefined) return;
  if (tf.findBackendFactory('wasm') !== null) tf.removeBackend('wasm');
  tf.registerBackend('wasm', stockFactory as () => tf.KernelBackend, 2);
}

/** Details of the threaded backend once started, else undefined. */
export function threadedWasmInfo(): ThreadedWasmInfo | undefined {
  return lastInfo;
}
