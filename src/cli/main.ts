// The `transferlab` command line: `transferlab run <notebook.ipynb>...`, `transferlab strip`, `transferlab pretrain`,
// `transferlab version`, `transferlab --help`. bin/transferlab.js calls main(); everything here is
// thin over runNotebook and stripFile.
import fs from 'node:fs';
import path from 'node:path';
import { JupyterUnavailableError, NotebookFileError, ParameterError } from './errors';
import { parseParamArg, type ParamValue } from './params';
import { packageRoot, kernelSpecModule } from './paths';
import { failureHeadline, runNotebook, type RunNotebookResult } from './runNotebook';
import { formatNotebook, parseNotebook, stripFile, stripNotebook } from './strip';
import { TransferlabError } from '../util/errors';
import { pretrainCommand, PRETRAIN_USAGE } from './pretrain';

import { defaultIO, type CliIO } from './io';

export type { CliIO } from './io';

/** Usage text of `transferlab --help`. */
export const USAGE = `Usage:
  transferlab run <notebook.ipynb>... [options]   execute notebooks headlessly on Jupyter + tslab
  transferlab strip <notebook.ipynb>... [--check] remove outputs, execution counts and the runner's
                                                  cells in place (--check: only list, exit 1 if any)
  transferlab strip --stdin                       the same from stdin to stdout (the git filter)
  transferlab pretrain [options]                  train the 'phantom-source' weights (PhantomNet on the
                                                  phantom's source task; see below)
  transferlab version                             print versions
  transferlab --help                              print this help

Options of run:
  -p, --param name=value   set a variable of the cell tagged 'parameters' (repeatable);
                           value: 3, 0.5, true, "text" or bare text, [1,2], ['a','b']
                           (stock nbconvert/jupyter execute: TRANSFERLAB_PARAM_<name>=value,
                           or TRANSFERLAB_PARAMS=params.json, read by tl.parameters())
  --timeout seconds        per-cell timeout (default 1800); cell metadata "timeout" overrides it
  -o, --output dir         folder for the executed notebook and its HTML (default output/)
  --kernel name            use this registered Jupyter kernelspec instead of the project's
                           own kernel (e.g. 'transferlab-<folder>' from npm run setup)
  --no-html                skip the HTML rendering

${PRETRAIN_USAGE}
Exit status: 0 when every notebook ran, 1 when one failed, 2 for usage errors.
`;

/** Unknown options or missing values on the command line (exit status 2). */
class UsageError extends TransferlabError {}

/** Parsed arguments of `transferlab run`. */
export interface RunCommand {
  notebooks: string[];
  params: Record<string, ParamValue>;
  timeout?: number;
  output?: string;
  kernel?: string;
  html: boolean;
}

/**
 * Parses the arguments after `run`. Pure.
 * @throws {UsageError} for unknown options or missing values; {ParameterError} for bad --param.
 */
export function parseRunArgs(argv: string[]): RunCommand {
  const cmd: RunCommand = { notebooks: [], params: {}, html: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`Expected a value after ${flag} but the arguments ended.`);
      return next;
    };
    switch (flag) {
      case '-p':
      case '--param': {
        const [name, parsed] = parseParamArg(value());
        cmd.params[name] = parsed;
        break;
      }
      case '--timeout': {
        const text = value();
        const seconds = Number(text);
        if (!(seconds > 0) || !Number.isFinite(seconds)) throw new UsageError(`Expected a positive number of seconds for --timeout but received ${text}.`);
        cmd.timeout = seconds;
        break;
      }
      case '-o':
      case '--output':
        cmd.output = value();
        break;
      case '--kernel':
        cmd.kernel = value();
        break;
      case '--no-html':
        cmd.html = false;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`Unknown option ${arg} for transferlab run.`);
        cmd.notebooks.push(arg);
    }
  }
  if (cmd.notebooks.length === 0) throw new UsageError('Expected at least one notebook (.ipynb) to run but received none.');
  const byName = new Map<string, string>();
  for (const nb of cmd.notebooks) {
    const name = path.basename(nb);
    const other = byName.get(name);
    if (other !== undefined && path.resolve(other) !== path.resolve(nb)) {
      throw new UsageError(`Expected notebooks with distinct file names (outputs share one folder) but ${other} and ${nb} are both ${name}. Run them separately with different --output folders.`);
    }
    byName.set(name, nb);
  }
  return cmd;
}

/** `transferlab version`: this package, tslab, tslab's TypeScript and node. */
export function versionText(): string {
  const root = packageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  let kernel = 'tslab not installed';
  try {
    const k = kernelSpecModule().resolveProjectKernel(root);
    kernel = `tslab ${k.tslabVersion}, TypeScript ${k.typescriptVersion} in notebooks`;
  } catch {
    // Reported as not installed.
  }
  return `transferlab ${pkg.version} (${kernel}, node ${process.version})\n`;
}

function relative(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || rel === '' ? file : rel;
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

function report(result: RunNotebookResult, io: CliIO): void {
  const files = [result.outputs.notebook, result.outputs.html].filter((f): f is string => f !== undefined).map(relative);
  const seconds = (result.durationMs / 1000).toFixed(1);
  if (result.ok) {
    io.stdout(`Ran ${relative(result.notebook)}: ${result.cellsExecuted}/${result.codeCells} code cells in ${seconds}s\n`);
    io.stdout(`  output: ${files.join(', ')}\n`);
    return;
  }
  const f = result.failure!;
  io.stderr(`FAILED ${relative(result.notebook)}: ${failureHeadline(f)}:\n${indent(f.message)}\n`);
  io.stderr(`  partial output with an error banner: ${files.join(', ')}\n`);
}

/** `transferlab strip`: in place, `--check`, or `--stdin` (stdin to stdout, for a git clean filter). */
async function strip(args: string[], io: CliIO): Promise<number> {
  const unknown = args.find((a) => a.startsWith('-') && a !== '--check' && a !== '--stdin');
  if (unknown !== undefined) {
    io.stderr(`Unknown option ${unknown} for transferlab strip.\n\n${USAGE}`);
    return 2;
  }
  const files = args.filter((a) => !a.startsWith('-'));
  if (args.includes('--stdin')) {
    if (files.length > 0) {
      io.stderr(`Expected either --stdin or notebook files but received both.\n\n${USAGE}`);
      return 2;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    try {
      io.stdout(formatNotebook(stripNotebook(parseNotebook(Buffer.concat(chunks).toString('utf8'), 'stdin'))));
    } catch (e) {
      if (!(e instanceof NotebookFileError)) throw e;
      io.stderr(`transferlab strip: ${e.message}\n`);
      return 1;
    }
    return 0;
  }
  if (files.length === 0) {
    io.stderr(`Expected at least one notebook (.ipynb) to strip but received none.\n\n${USAGE}`);
    return 2;
  }
  const check = args.includes('--check');
  let changed = 0;
  for (const file of files) {
    try {
      const r = stripFile(file, check);
      if (!r.changed) continue;
      changed++;
      io.stdout(check ? `${relative(file)} is not stripped (run transferlab strip ${relative(file)})\n` : `Stripped ${relative(file)}: ${r.bytesBefore} -> ${r.bytesAfter} bytes\n`);
    } catch (e) {
      if (!(e instanceof NotebookFileError)) throw e;
      io.stderr(`transferlab strip: ${e.message}\n`);
      return 1;
    }
  }
  return check && changed > 0 ? 1 : 0;
}

/**
 * Runs the CLI. Returns the exit status instead of exiting, so tests can call it.
 * @param argv arguments after the program name, e.g. ['run', 'nb.ipynb', '--param', 'epochs=2'].
 */
export async function main(argv: string[], io: CliIO = defaultIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' || command === '--version' || command === '-v') {
    io.stdout(versionText());
    return 0;
  }
  if (command === 'strip') return strip(rest, io);
  if (command === 'pretrain') return pretrainCommand(rest, io);
  if (command !== 'run') {
    io.stderr(`Unknown command ${command}.\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  let cmd: RunCommand;
  try {
    cmd = parseRunArgs(rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ParameterError) {
      io.stderr(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  const failed: string[] = [];
  try {
    for (const notebook of cmd.notebooks) {
      if (controller.signal.aborted) break;
      try {
        const result = await runNotebook(notebook, {
          params: cmd.params,
          timeout: cmd.timeout,
          output: cmd.output,
          kernel: cmd.kernel,
          html: cmd.html,
          signal: controller.signal,
          log: (line) => io.stderr(`${line}\n`),
        });
        report(result, io);
        if (!result.ok) failed.push(notebook);
      } catch (e) {
        if (e instanceof ParameterError || e instanceof NotebookFileError || e instanceof JupyterUnavailableError) {
          io.stderr(`FAILED ${notebook}: ${e.message}\n`);
          failed.push(notebook);
        } else {
          throw e;
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const n = cmd.notebooks.length;
  if (failed.length === 0) {
    io.stdout(`transferlab run: ${n} notebook${n === 1 ? '' : 's'} ran successfully in ${seconds}s.\n`);
    return 0;
  }
  io.stderr(`transferlab run: ${failed.length} of ${n} notebook${n === 1 ? '' : 's'} failed (${failed.join(', ')}) in ${seconds}s.\n`);
  return 1;
}
