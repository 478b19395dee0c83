/**
 * Run-time choice of the TensorFlow.js backend: the fastest one that really works on this machine,
 * in the order tfjs-node-gpu (a CUDA GPU that answers), tfjs-node (native TensorFlow on the CPU),
 * wasm (SIMD, all cores — see `wasm/threaded-wasm.ts`), plain JavaScript cpu. The native packages
 * are optional dependencies, loaded with `require` inside try/catch so a missing one is a reason
 * in the report, not a crash. On wasm the kernels training needs but tfjs lacks are registered
 * (`wasm/training-kernels.ts`).
 *
 * Everything uses the `tf` of '@tensorflow/tfjs'; tfjs-node registers its 'tensorflow' backend on
 * that same tfjs-core.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from './backend-error';
import { registerWasmTrainingKernels } from './wasm/training-kernels';
import {
  installThreadedWasmBackend,
  MAX_WASM_THREADS,
  restoreStockWasmBackend,
  threadedWasmInfo,
} from './wasm/threaded-wasm';

export { BackendError } from './backend-error';
export { registerWasmTrainingKernels, setWasmIm2colByteLimit, WASM_TRAINING_KERNELS } from './wasm/training-kernels';

/** Backends in order of preference. */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** A backend `initBackend` can choose: 'tensorflow-gpu', 'tensorflow', 'wasm' or 'cpu'. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Accepted spellings of a backend request: the names, the package aliases, and 'auto'. */
export type BackendRequest = BackendName | 'tfjs-node-gpu' | 'tfjs-node' | 'auto';

const ALIASES: Record<string, BackendName | 'auto'> = {
  'tensorflow-gpu': 'tensorflow-gpu',
  'tfjs-node-gpu': 'tensorflow-gpu',
  tensorflow: 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
  auto: 'auto',
};

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Short labels used in the report line. */
const LABELS: Record<BackendName, string> = {
  'tensorflow-gpu': 'tfjs-node-gpu',
  tensorflow: 'tfjs-node',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Options of {@link initBackend}. */
export interface InitBackendArgs {
  /**
   * Backend to use instead of the automatic choice: 'tensorflow-gpu' (alias 'tfjs-node-gpu'),
   * 'tensorflow' (alias 'tfjs-node'), 'wasm', 'cpu', or 'auto'. Default: the environment variable
   * `TRANSFERLAB_BACKEND` when set, else 'auto'. A forced backend that fails throws.
   */
  backend?: BackendRequest;
  /**
   * Threads for the wasm backend, 1..8 (more is capped at 8, the package's limit). Default: the
   * environment variable `TRANSFERLAB_THREADS` when set, else `os.availableParallelism()`.
   */
  threads?: number;
  /** When true, do not print the report line. Default false. */
  quiet?: boolean;
}

/** A better backend that was not used, and why. */
export interface SkippedBackend {
  name: BackendName;
  reason: string;
}

/** What {@link initBackend} chose and why. */
export interface BackendReport {
  /** The backend chosen. */
  name: BackendName;
  /** The npm package providing it. */
  package: string;
  /** tfjs's own name of the active backend (`tf.getBackend()`): 'tensorflow', 'wasm' or 'cpu'. */
  tfBackend: string;
  /** wasm only: whether the SIMD build runs. */
  simd?: boolean;
  /** wasm only: threads XNNPACK uses. */
  threads?: number;
  /** Set when the choice was forced: 'TRANSFERLAB_BACKEND=wasm' or 'initBackend({ backend })'. */
  forcedBy?: string;
  /** Better backends passed over, best first, with the reason. */
  skipped: SkippedBackend[];
  /** Remarks, e.g. why wasm runs on fewer threads than asked. */
  notes: string[];
  /** Kernels this library registered to make training work on the chosen backend. */
  addedKernels: string[];
  /** One line for logs and notebooks, e.g. `Backend: wasm (SIMD, 2 threads) — skipped tfjs-node-gpu: not installed; ...`. */
  line: string;
}

interface Attempt {
  ok: boolean;
  reason?: string;
  report?: Partial<BackendReport>;
}

let pending: Promise<BackendReport> | undefined;
let requestedThreads: number | undefined;
let lastReport: BackendReport | undefined;

/** Normalizes a backend request; throws BackendError listing the valid values. */
function parseRequest(value: unknown, source: string): BackendName | 'auto' {
  const key = typeof value === 'string' ? value.trim().toLowerCase() : value;
  const name = typeof key === 'string' ? ALIASES[key] : undefined;
  if (name === undefined) {
    throw new BackendError(
      `Expected one of ${Object.keys(ALIASES).map((a) => `'${a}'`).join(', ')} for ${source} but received ` +
        `${typeof value === 'string' ? `'${value}'` : String(value)}. Unset it for the automatic choice.`,
      String(value));
  }
  return name;
}

/** Thread count from args, `TRANSFERLAB_THREADS` or the machine; throws BackendError when invalid. */
function resolveThreads(threads: unknown): number {
  const env = process.env.TRANSFERLAB_THREADS;
  const [value, source] = threads !== undefined ? [threads, 'threads'] : env !== undefined && env !== '' ? [Number(env), 'TRANSFERLAB_THREADS'] : [undefined, ''];
  if (value === undefined) return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new BackendError(`Expected positive integer for ${source} but received ${source === 'threads' ? String(value) : `'${env}'`}.`, 'wasm');
  }
  return value;
}

/** Loads an optional package; returns a reason string when it is not installed or fails to load. */
function tryRequire(pkg: string): string | undefined {
  try {
    require(pkg);
    return undefined;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(`'${pkg}'`)) return 'not installed';
    return `failed to load: ${firstLine(e.message)}`;
  }
}

function firstLine(text: unknown): string {
  return String(text).split('\n')[0].slice(0, 200);
}

/** Runs a tiny matMul on the active backend; returns an error reason or undefined. */
function smokeTest(): string | undefined {
  try {
    const values = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync());
    const expected = [19, 22, 43, 50];
    return expected.every((v, i) => Math.abs(values[i] - v) < 1e-4) ? undefined : `wrong result of a test matMul: [${Array.from(values)}]`;
  } catch (error) {
    return `test matMul failed: ${firstLine((error as Error).message)}`;
  }
}

/** Activates tfjs backend `name`, silencing tfjs's own warning when its factory fails. */
async function activate(name: string): Promise<string | undefined> {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...args: unknown[]) => { warnings.push(args.map((a) => firstLine(a instanceof Error ? a.message : a)).join(' ')); };
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (!ok || tf.getBackend() !== name) {
      const detail = [...new Set(warnings.filter((w) => !w.startsWith('Initialization of backend')))].join('; ');
      return `failed to initialize${detail !== '' ? `: ${detail}` : ''}`;
    }
    return undefined;
  } catch (error) {
    return `failed to initialize: ${firstLine((error as Error).message)}`;
  } finally {
    console.warn = warn;
  }
}

async function tryNative(gpu: boolean): Promise<Attempt> {
  const pkg = PACKAGES[gpu ? 'tensorflow-gpu' : 'tensorflow'];
  const missing = tryRequire(pkg);
  if (missing !== undefined) return { ok: false, reason: missing };
  if (tf.findBackendFactory('tensorflow') === null) {
    return { ok: false, reason: `loaded, but it registered its backend on another copy of @tensorflow/tfjs-core (install the same version as @tensorflow/tfjs, ${tf.version.tfjs})` };
  }
  const failed = (await activate('tensorflow')) ?? smokeTest();
  if (failed !== undefined) return { ok: false, reason: failed };
  if (gpu && (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice !== true) {
    return { ok: false, reason: 'no usable CUDA GPU (TensorFlow runs on the CPU)', report: { package: pkg } };
  }
  return { ok: true, report: { package: pkg } };
}

async function tryWasm(threads: number): Promise<Attempt> {
  const missing = tryRequire(PACKAGES.wasm);
  if (missing !== undefined) return { ok: false, reason: missing };
  const notes: string[] = [];
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  let wanted = threads;
  if (wanted > MAX_WASM_THREADS) {
    notes.push(`wasm supports at most ${MAX_WASM_THREADS} threads; using ${MAX_WASM_THREADS} of ${wanted}`);
    wanted = MAX_WASM_THREADS;
  }
  let threaded = false;
  if (wanted > 1 && !simd) notes.push('multi-threaded wasm needs WebAssembly SIMD, which this runtime lacks; using 1 thread');
  if (wanted > 1 && simd && tf.findBackend('wasm') === null) {
    try {
      installThreadedWasmBackend(wanted);
      threaded = true;
    } catch (error) {
      notes.push(`multi-threaded wasm unavailable (${firstLine((error as Error).message)}); using 1 thread`);
    }
  }
  const addedKernels = registerWasmTrainingKernels();
  let failed = await activate('wasm');
  if (failed !== undefined && threaded) {
    notes.push(`multi-threaded wasm ${failed}; using 1 thread`);
    restoreStockWasmBackend();
    threaded = false;
    failed = await activate('wasm');
  }
  failed ??= smokeTest();
  if (failed !== undefined) return { ok: false, reason: failed };
  const used = threaded ? threadedWasmInfo()?.threads : (require(PACKAGES.wasm) as { getThreadsCount(): number }).getThreadsCount();
  return { ok: true, report: { package: PACKAGES.wasm, simd, threads: used ?? 1, notes, addedKernels } };
}

async function tryCpu(): Promise<Attempt> {
  const failed = (await activate('cpu')) ?? smokeTest();
  return failed === undefined ? { ok: true, report: { package: PACKAGES.cpu } } : { ok: false, reason: failed };
}

function attempt(name: BackendName, threads: number): Promise<Attempt> {
  switch (name) {
    case 'tensorflow-gpu': return tryNative(true);
    case 'tensorflow': return tryNative(false);
    case 'wasm': return tryWasm(threads);
    case 'cpu': return tryCpu();
  }
}

/** Builds the report line. */
function formatLine(report: Omit<BackendReport, 'line'>): string {
  const detail: Record<BackendName, string> = {
    'tensorflow-gpu': 'tfjs-node-gpu, CUDA GPU',
    tensorflow: `native TensorFlow on the CPU${report.package === PACKAGES['tensorflow-gpu'] ? ', via tfjs-node-gpu' : ''}`,
    wasm: `${report.simd === true ? 'SIMD' : 'no SIMD'}, ${report.threads ?? 1} thread${report.threads === 1 ? '' : 's'}`,
    cpu: 'plain JavaScript, slow',
  };
  let line = `Backend: ${report.name} (${detail[report.name]})`;
  if (report.forcedBy !== undefined) line += ` — forced by ${report.forcedBy}`;
  if (report.skipped.length > 0) {
    const hint = (s: SkippedBackend) =>
      s.name === 'tensorflow' && s.reason === 'not installed' ? ' (npm install @tensorflow/tfjs-node for native speed)' : '';
    line += ` — skipped ${report.skipped.map((s) => `${LABELS[s.name]}: ${s.reason}${hint(s)}`).join('; ')}`;
  }
  if (report.notes.length > 0) line += ` — note: ${report.notes.join('; ')}`;
  return line;
}

async function choose(args: InitBackendArgs): Promise<BackendReport> {
  const envValue = process.env.TRANSFERLAB_BACKEND;
  let request: BackendName | 'auto' = 'auto';
  let forcedBy: string | undefined;
  if (args.backend !== undefined) {
    request = parseRequest(args.backend, 'backend');
    forcedBy = request === 'auto' ? undefined : `initBackend({ backend: '${args.backend}' })`;
  } else if (envValue !== undefined && envValue !== '') {
    request = parseRequest(envValue, 'TRANSFERLAB_BACKEND');
    forcedBy = request === 'auto' ? undefined : `TRANSFERLAB_BACKEND=${envValue}`;
  }
  const threads = resolveThreads(args.threads);
  requestedThreads = threads;
  const skipped: SkippedBackend[] = [];
  const candidates = request === 'auto' ? BACKEND_NAMES : [request];
  for (const name of candidates) {
    const result = await attempt(name, threads);
    let chosen: BackendName | undefined = result.ok ? name : undefined;
    // tfjs-node-gpu loaded but without a GPU still gives native TensorFlow on the CPU; tfjs-node
    // cannot load next to it (both register 'tensorflow'), so use it as the 'tensorflow' choice.
    if (!result.ok && name === 'tensorflow-gpu' && request === 'auto' && result.report?.package !== undefined) {
      chosen = 'tensorflow';
    }
    if (!result.ok && request !== 'auto') {
      const install = result.reason === 'not installed' ? ` Install it (npm install ${PACKAGES[name]}) or choose another backend.` : '';
      throw new BackendError(`Backend '${name}' was requested (${forcedBy}) but cannot be used: ${PACKAGES[name]}: ${result.reason}.${install}`, name);
    }
    if (chosen === undefined) {
      skipped.push({ name, reason: result.reason ?? 'unavailable' });
      continue;
    }
    if (chosen !== name) skipped.push({ name, reason: result.reason ?? 'unavailable' });
    const partial: Omit<BackendReport, 'line'> = {
      name: chosen,
      package: result.report?.package ?? PACKAGES[chosen],
      tfBackend: tf.getBackend(),
      ...(result.report?.simd !== undefined ? { simd: result.report.simd } : {}),
      ...(result.report?.threads !== undefined ? { threads: result.report.threads } : {}),
      ...(forcedBy !== undefined ? { forcedBy } : {}),
      skipped,
      notes: result.report?.notes ?? [],
      addedKernels: result.report?.addedKernels ?? [],
    };
    return { ...partial, line: formatLine(partial) };
  }
  throw new BackendError(`No TensorFlow.js backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}.`, 'auto');
}

/**
 * Chooses and activates the fastest TensorFlow.js backend that really works here (see the file
 * header for the order), and prints one line saying which and why the better ones were skipped.
 * Idempotent: later calls return the same report; a later call explicitly asking for a different
 * backend or wasm thread count throws, because a backend cannot be swapped safely under live tensors — restart the
 * kernel (or process) to change it.
 *
 * @param args - see {@link InitBackendArgs}; all optional
 * @returns the {@link BackendReport}
 * @throws BackendError for an unknown backend name (from `args.backend` or `TRANSFERLAB_BACKEND`),
 *   an invalid thread count, a forced backend that cannot start, or a conflicting second request
 * @example
 * const report = await initBackend();
 * // Backend: wasm (SIMD, 2 threads) — skipped tfjs-node-gpu: not installed; tfjs-node: not installed (npm install @tensorflow/tfjs-node for native speed)
 * await initBackend({ backend: 'cpu', quiet: true }); // force plain JavaScript
 */
export function initBackend(args: InitBackendArgs = {}): Promise<BackendReport> {
  if (pending !== undefined) return pending.then((report) => checkSameRequest(report, args));
  pending = choose(args).then(
    (report) => {
      lastReport = report;
      if (args.quiet !== true) console.log(report.line);
      return report;
    },
    (error: unknown) => {
      pending = undefined;
      throw error;
    });
  return pending;
}

/** Throws when a later initBackend call asks for something other than what is running. */
function checkSameRequest(report: BackendReport, args: InitBackendArgs): BackendReport {
  const wanted = args.backend !== undefined ? parseRequest(args.backend, 'backend') : 'auto';
  const otherBackend = wanted !== 'auto' && wanted !== report.name;
  const otherThreads = args.threads !== undefined && report.name === 'wasm' && resolveThreads(args.threads) !== requestedThreads;
  if (otherBackend || otherThreads) {
    throw new BackendError(
      `The backend is already initialized (${report.line.replace(/ — .*$/, '').replace('Backend: ', '')}) and cannot change ` +
        `within one process, but ${JSON.stringify({ backend: args.backend, threads: args.threads })} was requested. ` +
        'Restart the kernel (or process) to change it.',
      String(args.backend ?? report.name));
  }
  return report;
}

/**
 * The report of the last successful {@link initBackend}, or undefined before one.
 *
 * @example
 * backendReport()?.line
 */
export function backendReport(): BackendReport | undefined {
  return lastReport;
}

/**
 * One line describing the active backend: the report line when {@link initBackend} chose it, else
 * tfjs's own backend name (for code that set the backend itself).
 *
 * @example
 * console.log(describeBackend()); // 'Backend: wasm (SIMD, 2 threads) — ...'
 */
export function describeBackend(): string {
  const active = (tf.engine() as unknown as { backendName: string | null }).backendName;
  if (active === null || active === undefined) return 'Backend: none yet (call initBackend())';
  if (lastReport !== undefined && lastReport.tfBackend === active) return lastReport.line;
  return `Backend: ${active} (set outside initBackend)`;
}
