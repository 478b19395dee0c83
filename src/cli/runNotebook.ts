// Executes a notebook headlessly through real Jupyter and this project's tslab kernel, the way
// papermill does for Python: parameters injected after the 'parameters' cell, the executed notebook
// and an HTML rendering written to an output folder, and the first failing cell reported.
// Node prepares the notebook and reports progress; kernel-setup/driver.py (jupyter_client) runs it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { JupyterUnavailableError, NotebookFileError } from './errors';
import { countRunnableCells, firstSourceLine, insertErrorBanners, isRunnable, readNotebook, type Notebook } from './notebook';
import { injectParameters, type ParamValue } from './params';
import { driverPath, kernelSpecModule, packageRoot, pythonModule } from './paths';

/** Options of {@link runNotebook}. */
export interface RunNotebookArgs {
  /** Values for variables of the cell tagged 'parameters'. Default: none (no cell injected). */
  params?: Record<string, ParamValue>;
  /** Per-cell timeout in seconds, > 0; a cell's `metadata.timeout` overrides it. Default: 1800. */
  timeout?: number;
  /**
   * Folder for the executed notebook and its HTML, created when missing; the kernel gets it as
   * `TRANSFERLAB_OUTPUT` (see `runFolder`). Default: 'output' (relative to cwd).
   */
  output?: string;
  /**
   * Name of a kernelspec registered with Jupyter (e.g. by `npm run setup`). Default: undefined, which
   * runs this project's tslab through a private kernelspec, so no registration is needed.
   */
  kernel?: string;
  /** Also write `<name>.html` with nbconvert. Default: true. */
  html?: boolean;
  /** Seconds a timed-out cell gets to stop after the interrupt before the kernel is killed, > 0. Default: 5. */
  interruptGrace?: number;
  /**
   * Most seconds to wait after the last cell while the kernel still has timers or requests
   * pending (a `setTimeout` whose callback may throw, a fetch whose promise may reject), so that a
   * rejection a second after the last cell still fails the run; a notebook that leaves nothing
   * pending costs about 0.3 s. 0 turns the watch off, >= 0. Default: 5.
   */
  lateWait?: number;
  /** Python interpreter with jupyter_client, nbformat and nbconvert. Default: found like `npm run setup` does. */
  python?: string;
  /** Where progress lines go. Default: process.stderr; pass `() => {}` for silence. */
  log?: (line: string) => void;
  /** Aborting stops the run (the kernel is shut down) and returns a failure of kind 'aborted'. */
  signal?: AbortSignal;
}

/** What went wrong in a failed run. */
export interface RunFailure {
  /**
   * 'error': the cell raised or did not compile; 'timeout': it exceeded its timeout; 'dead_kernel':
   * the kernel process died; 'unhandled': an unhandled rejection or uncaught exception from the
   * cell's asynchronous work; 'kernel_start': the kernel did not start; 'aborted': the run was stopped.
   */
  kind: 'error' | 'timeout' | 'dead_kernel' | 'unhandled' | 'kernel_start' | 'aborted';
  /** 0-based index of the failing cell in the source notebook; null for the injected parameters cell or no cell. */
  cellIndex: number | null;
  /** First line of the failing cell's source ('' when no cell). */
  firstLine: string;
  /** The error text as the kernel printed it (TypeScript diagnostics, stack trace, ...). */
  message: string;
  /** The cell (1-based number, first line), e.g. 'cell 5 "const x: number = 'a'"'; '' when no cell is to blame. */
  where: string;
}

/** The result of {@link runNotebook}. */
export interface RunNotebookResult {
  /** The notebook run (absolute path). */
  notebook: string;
  ok: boolean;
  /** Code cells that ran to completion (the injected cell included). */
  cellsExecuted: number;
  /** Code cells in the run (the injected cell included). */
  codeCells: number;
  /** Present when ok is false. */
  failure?: RunFailure;
  /** Written files: the executed notebook (partial on failure, with error banners) and its HTML. */
  outputs: { notebook: string; html?: string };
  /** Wall time of the whole run in milliseconds. */
  durationMs: number;
  /** Process id of the kernel, when it started. */
  kernelPid?: number;
}

interface DriverEvent {
  event: 'kernel_started' | 'cell_start' | 'cell_done' | 'cell_running' | 'failure' | 'finished' | 'executed' | 'rendered';
  index?: number | null;
  seconds?: number;
  pid?: number | null;
  kind?: RunFailure['kind'];
  message?: string;
  path?: string;
}

function checkPositive(name: string, value: number, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`Expected ${allowZero ? 'non-negative' : 'positive'} number of seconds for ${name} but received ${String(value)} of type ${typeof value}`);
  }
  return value;
}

function findPython(explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  const py = pythonModule();
  const override = process.env.TRANSFERLAB_PYTHON;
  if (override) return override;
  const remembered = py.readState();
  if (remembered !== undefined && fs.existsSync(remembered)) return remembered;
  const found = py.findJupyterPython({ useState: false });
  if (found.path !== undefined) return found.path;
  throw new JupyterUnavailableError(
    'Expected a Python with jupyter_client, nbformat, nbconvert and nbclient but found none (tried ' +
      found.tried.map((t) => `${t.path}: ${t.reason}`).join('; ') +
      '). Run `npm run setup` for instructions, or set TRANSFERLAB_PYTHON to such an interpreter.',
  );
}

/**
 * Executes a notebook on Jupyter with this project's tslab kernel and writes
 * `<output>/<name>.ipynb` (executed; partial with error banners on failure) and `<output>/<name>.html`.
 * A failing cell does not throw: the result has `ok: false` and a `failure`, and later cells do not run.
 * @param notebookPath path of the .ipynb file; the kernel's working folder is the notebook's folder.
 * @param args see {@link RunNotebookArgs}.
 * @returns the run's result; output paths are absolute.
 * @throws {ParameterError} for parameters the notebook cannot take.
 * @throws {NotebookFileError} for unreadable notebooks or an output that would overwrite the input.
 * @throws {JupyterUnavailableError} when no usable Python/Jupyter is found or the driver crashes.
 * @example
 * const result = await runNotebook('notebooks/00-getting-started.ipynb', { params: { epochs: 1 } });
 * if (!result.ok) console.error(result.failure?.message);
 */
export async function runNotebook(notebookPath: string, args: RunNotebookArgs = {}): Promise<RunNotebookResult> {
  const started = Date.now();
  const log = args.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const timeout = checkPositive('timeout', args.timeout ?? 1800);
  const interruptGrace = checkPositive('interruptGrace', args.interruptGrace ?? 5);
  const lateWait = checkPositive('lateWait', args.lateWait ?? 5, true);
  const input = path.resolve(notebookPath);
  const source = readNotebook(input);
  const { notebook: prepared, sourceIndex } = injectParameters(source, args.params ?? {}, notebookPath);

  const outDir = path.resolve(args.output ?? 'output');
  const base = path.basename(input).replace(/\.ipynb$/i, '');
  const outNotebook = path.join(outDir, `${base}.ipynb`);
  const outHtml = (args.html ?? true) ? path.join(outDir, `${base}.html`) : undefined;
  if (outNotebook === input) {
    throw new NotebookFileError(`Expected an output folder other than the notebook's own folder but received ${outDir}; the run would overwrite ${input}.`, input);
  }
  prepared.cells.forEach((cell, i) => {
    const t = cell.metadata?.timeout;
    if (cell.cell_type === 'code' && t !== undefined && !(typeof t === 'number' && t > 0 && Number.isFinite(t))) {
      const src = sourceIndex[i];
      throw new NotebookFileError(
        `Expected metadata.timeout of cell ${src === null ? '(injected)' : src + 1} in ${notebookPath} to be a positive number of seconds but received ${JSON.stringify(t)}.`,
        input,
      );
    }
  });
  const python = findPython(args.python);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'transferlab-run-'));
  try {
    // TRANSFERLAB_OUTPUT tells the notebook (tl.runFolder) where this run's files belong; the
    // executed notebook keeps one copy of plotly.js so that its HTML is interactive offline.
    const env: NodeJS.ProcessEnv = {
      ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1', PYTHONUNBUFFERED: '1', TRANSFERLAB_OUTPUT: outDir,
      TRANSFERLAB_PLOTLY: process.env.TRANSFERLAB_PLOTLY ?? 'once',
    };
    let kernelName = args.kernel;
    if (kernelName === undefined) {
      const ks = kernelSpecModule();
      const jupyterDir = path.join(tmp, 'jupyter');
      ks.writeKernelSpec(path.join(jupyterDir, 'kernels'), ks.buildKernelJson(ks.resolveProjectKernel(packageRoot())));
      kernelName = ks.KERNEL_NAME;
      env.JUPYTER_PATH = [jupyterDir, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
    }
    const preparedPath = path.join(tmp, 'prepared.ipynb');
    const executedPath = path.join(tmp, 'executed.ipynb');
    fs.writeFileSync(preparedPath, JSON.stringify(prepared));

    const codeCells = countRunnableCells(prepared);
    const runnable = prepared.cells.map((_, i) => i).filter((i) => isRunnable(prepared.cells[i]));
    const describe = (i: number): string => {
      const src = sourceIndex[i];
      const line = firstSourceLine(prepared.cells[i]);
      return src === null ? `injected parameters cell "${line}"` : `cell ${src + 1} "${line}"`;
    };
    log(`Running ${path.relative(process.cwd(), input) || input}: ${codeCells} code cell${codeCells === 1 ? '' : 's'} on kernel ${kernelName}`);

    const child = spawn(python, [driverPath()], { cwd: path.dirname(input), env, stdio: ['pipe', 'pipe', 'pipe'] });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    const stderrTail: string[] = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail.push(chunk);
      if (stderrTail.length > 50) stderrTail.shift();
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    args.signal?.addEventListener('abort', onAbort, { once: true });
    if (args.signal?.aborted === true) onAbort();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.on('error', () => {
      // The driver exited early; its stderr explains why.
    });
    child.stdin.write(
      JSON.stringify({
        notebook: preparedPath,
        executed_path: executedPath,
        kernel_name: kernelName,
        cwd: path.dirname(input),
        timeout,
        interrupt_grace: interruptGrace,
        late_wait: lateWait,
        startup_timeout: 60,
        // Removed by the driver if this process dies mid-run (it then also shuts the kernel down).
        cleanup_dir: tmp,
      }) + '\n',
    );

    let failure: RunFailure | undefined;
    let failedAt: number | undefined; // index in the prepared notebook
    let cellsExecuted = 0;
    let kernelPid: number | undefined;
    let executed = false;
    const cellStart = new Map<number, number>();
    const ordinal = (i: number): string => `[${runnable.indexOf(i) + 1}/${runnable.length}]`;
    const lines = readline.createInterface({ input: child.stdout });
    try {
      for await (const line of lines) {
        let ev: DriverEvent;
        try {
          ev = JSON.parse(line) as DriverEvent;
        } catch {
          stderrTail.push(line + '\n');
          continue;
        }
        const index = ev.index ?? undefined;
        if (ev.event === 'kernel_started') {
          kernelPid = ev.pid ?? undefined;
          log(`Kernel started in ${(ev.seconds ?? 0).toFixed(1)}s (pid ${kernelPid ?? 'unknown'})`);
        } else if (ev.event === 'cell_start' && index !== undefined) {
          cellStart.set(index, Date.now());
        } else if (ev.event === 'cell_running' && index !== undefined) {
          log(`${ordinal(index)} ${describe(index)} still running, ${(ev.seconds ?? 0).toFixed(0)}s`);
        } else if (ev.event === 'cell_done' && index !== undefined) {
          cellsExecuted++;
          log(`${ordinal(index)} ${describe(index)} ${(ev.seconds ?? 0).toFixed(1)}s`);
        } else if (ev.event === 'failure') {
          const at = index ?? undefined;
          const seconds = at !== undefined && cellStart.has(at) ? ` after ${((Date.now() - cellStart.get(at)!) / 1000).toFixed(1)}s` : '';
          if (at !== undefined) log(`${ordinal(at)} ${describe(at)} failed${seconds}`);
          failure = {
            kind: ev.kind ?? 'error',
            cellIndex: at === undefined ? null : sourceIndex[at],
            firstLine: at === undefined ? '' : firstSourceLine(prepared.cells[at], 200),
            message: ev.message ?? '',
            where: at === undefined ? '' : describe(at),
          };
          failedAt = at;
        } else if (ev.event === 'executed') {
          executed = true;
          let nb = readNotebook(executedPath);
          if (failure !== undefined) {
            nb = insertErrorBanners(nb, failedAt, `${capitalize(failureHeadline(failure))}.`, failure.message);
          }
          fs.mkdirSync(outDir, { recursive: true });
          writeNotebook(outNotebook, nb);
          const render = outHtml === undefined ? [] : [{ ipynb: outNotebook, html: outHtml }];
          child.stdin.end(JSON.stringify({ render }) + '\n');
        }
      }
    } catch (e) {
      child.kill('SIGTERM');
      await exited;
      throw e;
    }
    const code = await exited;
    args.signal?.removeEventListener('abort', onAbort);
    if (spawnError !== undefined) {
      throw new JupyterUnavailableError(
        `Expected to start the notebook driver with Python ${python} but could not: ${spawnError.message}. ` +
          'Set TRANSFERLAB_PYTHON to a Python with Jupyter, or run `npm run setup`.',
        python,
      );
    }
    if (!executed || code !== 0) {
      const detail = stderrTail.join('').trim().split('\n').slice(-15).join('\n');
      throw new JupyterUnavailableError(
        `Expected the notebook driver (${python} ${driverPath()}) to finish but it exited with code ${code}:\n${detail}\n` +
          'Run `npm run setup` to check the Jupyter installation.',
        python,
      );
    }
    const result: RunNotebookResult = {
      notebook: input,
      ok: failure === undefined,
      cellsExecuted,
      codeCells,
      outputs: { notebook: outNotebook, ...(outHtml !== undefined ? { html: outHtml } : {}) },
      durationMs: Date.now() - started,
      ...(failure !== undefined ? { failure } : {}),
      ...(kernelPid !== undefined ? { kernelPid } : {}),
    };
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * One line for a failure, e.g. 'cell 5 "const x: number = 'a'" raised an error' or
 * 'the kernel did not start'.
 */
export function failureHeadline(failure: RunFailure): string {
  return failure.where === '' ? failureSummary(failure.kind) : `${failure.where} ${failureSummary(failure.kind)}`;
}

/** A short phrase for each failure kind, used in messages and banners. */
export function failureSummary(kind: RunFailure['kind']): string {
  switch (kind) {
    case 'error':
      return 'raised an error';
    case 'timeout':
      return 'timed out';
    case 'dead_kernel':
      return 'the kernel died';
    case 'unhandled':
      return 'let an unhandled promise rejection or uncaught exception escape (from its own asynchronous code, or from work an earlier cell left running)';
    case 'kernel_start':
      return 'the kernel did not start';
    case 'aborted':
      return 'the run was aborted';
  }
}

function writeNotebook(file: string, nb: Notebook): void {
  try {
    fs.writeFileSync(file, JSON.stringify(nb, null, 1) + '\n');
  } catch (e) {
    throw new NotebookFileError(`Expected to write the executed notebook to ${file} but could not: ${(e as Error).message}`, file);
  }
}
