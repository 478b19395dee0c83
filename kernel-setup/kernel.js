#!/usr/bin/env node
// The project's Jupyter kernel: tslab's TypeScript executor and ZeroMQ server, loaded from this
// project's node_modules and wrapped so that every Jupyter client (Notebook, nbconvert, nbclient's
// `jupyter execute`, our runner) gets what the messaging protocol promises. tslab 1.0.22 itself:
//   * sends no `error` message and no ename/evalue/traceback in a failed execute_reply (nbclient
//     shows `<Error>: `), only the text on stderr;
//   * sends no `execute_input`, so nbconvert leaves every `In [ ]` empty;
//   * only prints unhandled rejections and uncaught exceptions, so a cell whose forgotten promise
//     rejects still replies 'ok' (exit 0 under nbconvert);
//   * aborts every request that arrives within 200 ms after an error, whatever `stop_on_error`
//     says, and replies with the non-standard status 'abort' (nbclient then skips cells silently);
//   * answers comm_info_request with msg_type 'complete_reply'.
// Here: errors carry ename, evalue and traceback (TypeScript diagnostics as `line:column - message`
// of the cell; thrown values with their name, message and stack), in an `error` message and in
// the reply; `execute_input` carries the execution count; a rejection or uncaught exception while a
// cell runs (or right after its code returns) fails that cell; one that happens between cells is
// printed where tslab prints it and fails the next execute request (which then does not run);
// after an error only the requests that had already arrived are aborted, and only when
// `stop_on_error` is true, with the standard status 'aborted' and a line saying why.
// Nothing in node_modules is modified: the classes are subclassed at run time. kernel-setup/README.md
// describes the upstream issues.
//
// Usage (kernel.json argv): node kernel-setup/kernel.js --config-path {connection_file}
'use strict';
const path = require('node:path');
const util = require('node:util');

const PROJECT_ROOT = path.resolve(__dirname, '..');
/** Milliseconds a cell's code gets after it returns for its own rejections to surface. */
const SETTLE_MS = 10;
/** Milliseconds after an error during which already-sent requests are read off the socket to be aborted. */
const FLUSH_MS = 50;
/** The format string tslab's executor prints diagnostics with. */
const DIAGNOSTIC_FORMAT = '%s%d:%d - %s';
const ASYNC_KINDS = { rejection: 'UnhandledPromiseRejection', exception: 'UncaughtException' };

/**
 * Loads tslab's modules from a project's node_modules.
 * @param {string} [root] project root; default this package.
 */
function loadTslab(root = PROJECT_ROOT) {
  const pkg = require.resolve('tslab/package.json', { paths: [root] });
  const dir = path.dirname(pkg);
  const dist = (name) => require(path.join(dir, 'dist', name));
  return {
    dir,
    version: require(pkg).version,
    jupyter: dist('jupyter.js'),
    executor: dist('executor.js'),
    converter: dist('converter.js'),
  };
}

/** Stack lines worth showing: not from tslab, this file or Node's internals. */
function userFrames(stack, tslabDir) {
  return stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .filter((line) => !line.includes(`${tslabDir}${path.sep}`) && !line.includes(__filename) && !/\(node:|at node:/.test(line));
}

/**
 * ename, evalue and traceback for a thrown or rejected value. Errors keep their name (a subclass
 * that did not set `name` is named after its constructor), message and stack; other values are
 * named 'Uncaught' with their inspected form as the value. Pure.
 * @param {unknown} value
 * @param {{ tslabDir?: string, heading?: string }} [opts] heading: text put before the first line.
 * @returns {{ ename: string, evalue: string, traceback: string[] }}
 */
function describeThrown(value, opts = {}) {
  const tslabDir = opts.tslabDir ?? '\0';
  const heading = opts.heading === undefined ? '' : `${opts.heading}: `;
  const errorLike = value instanceof Error ||
    (value !== null && typeof value === 'object' && typeof value.name === 'string' && typeof value.message === 'string');
  if (!errorLike) {
    const evalue = util.inspect(value, { depth: 2, breakLength: Infinity });
    return { ename: 'Uncaught', evalue, traceback: [`${heading}Uncaught ${evalue}`] };
  }
  let ename = String(value.name);
  const ctor = value.constructor && value.constructor.name;
  if (ename === 'Error' && typeof ctor === 'string' && ctor !== '' && ctor !== 'Error' && ctor !== 'Object') ename = ctor;
  const evalue = String(value.message);
  const traceback = [`${heading}${ename}: ${evalue}`, ...userFrames(typeof value.stack === 'string' ? value.stack : '', tslabDir)];
  for (let cause = value.cause, depth = 0; cause !== undefined && depth < 5; cause = cause && cause.cause, depth++) {
    const c = describeThrown(cause, { tslabDir });
    traceback.push(`Caused by: ${c.ename}: ${c.evalue}`, ...c.traceback.slice(1));
    if (!(cause instanceof Error)) break;
  }
  return { ename, evalue, traceback };
}

/**
 * ename, evalue and traceback for TypeScript diagnostics printed by tslab (`line:column - message`,
 * positions in the cell, 1-based; a file name first when the problem is in another file). Pure.
 * @param {string[]} lines
 */
function describeDiagnostics(lines) {
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
  return { ename: 'TSError', evalue: `${lines[0]}${more}`, traceback: [...lines] };
}

/** Resolves after `ms` milliseconds, once pending I/O callbacks (and rejection events) have run. */
function settle(ms) {
  return new Promise((resolve) => setImmediate(() => setTimeout(resolve, ms)));
}

/**
 * Builds the kernel: tslab's executor behind a handler and server that speak the protocol fully.
 * @param {ReturnType<typeof loadTslab>} tslab
 * @param {{ kernelLog?: (text: string) => void, cwd?: string }} [opts]
 * @returns {{ server: any, handler: any, executor: any }}
 */
function createKernel(tslab, opts = {}) {
  const kernelLog = opts.kernelLog ?? process.stderr.write.bind(process.stderr);
  const { JupyterHandlerImpl, ZmqServer } = tslab.jupyter;

  class ConverterSet {
    get node() {
      this._node = this._node ?? tslab.converter.createConverter({ isJS: false, isBrowser: false });
      return this._node;
    }
    get browser() {
      this._browser = this._browser ?? tslab.converter.createConverter({ isJS: false, isBrowser: true });
      return this._browser;
    }
    close() {
      if (this._node) this._node.close();
      if (this._browser) this._browser.close();
    }
  }

  /** The state of the cell whose code is running. */
  let cell;
  const executorConsole = {
    log: (...args) => console.log(...args),
    error: (...args) => {
      if (cell !== undefined && args[0] === DIAGNOSTIC_FORMAT) {
        cell.diagnostics.push(util.format(...args));
      } else if (cell !== undefined && args.length === 1) {
        if (cell.thrown === undefined) cell.thrown = { value: args[0] };
      } else {
        console.error(...args);
      }
    },
  };

  class Handler extends JupyterHandlerImpl {
    constructor(executor) {
      super(executor, false);
      this.queue = Promise.resolve();
      this.received = 0;
      this.abortThrough = 0;
      this.pending = undefined;
    }

    /** Queues an execute request; resolves to the execute_reply content. */
    execute(req, io) {
      const seq = ++this.received;
      const run = this.queue.then(() => this.runRequest(req, io, seq));
      this.queue = run.catch(() => undefined);
      return run;
    }

    async runRequest(req, io, seq) {
      if (seq <= this.abortThrough) {
        io.stream('stderr', 'Not run: an earlier cell failed and its request asked to stop on error.\n');
        return { status: 'aborted' };
      }
      const silent = req.silent === true;
      if (!silent && req.store_history !== false) this.execCount++;
      const count = this.execCount;
      if (!silent) io.publish('execute_input', { code: req.code, execution_count: count });
      process.stdout.write = this.createWriteToIopub('stdout', io.stream);
      process.stderr.write = this.createWriteToIopub('stderr', io.stream);
      tslab.jupyter.lastWriteDisplayData = io.display;
      const error = this.takePending() ?? (await this.runCode(req.code));
      if (error === undefined) return { status: 'ok', execution_count: count, user_expressions: {}, payload: [] };
      if (!silent) io.publish('error', error);
      if (req.stop_on_error !== false) {
        // Requests already sent (e.g. Run All) are aborted; later ones run.
        await settle(FLUSH_MS);
        this.abortThrough = this.received;
      }
      return { status: 'error', execution_count: count, ...error };
    }

    /** Runs one cell's code; resolves to undefined or the error to report. */
    async runCode(code) {
      const state = { diagnostics: [], thrown: undefined, fail: undefined, failed: false };
      const asyncFailure = new Promise((resolve) => (state.fail = resolve));
      cell = state;
      try {
        const running = this.executor.execute(code);
        const first = await Promise.race([running.then((ok) => ({ ok })), asyncFailure.then((error) => ({ error }))]);
        if ('error' in first) {
          // Stop the cell's own top-level await (if any) so the next cell starts from a settled state.
          this.executor.interrupt();
          await Promise.race([running.catch(() => undefined), settle(1000)]);
          return first.error;
        }
        if (!first.ok) {
          if (state.diagnostics.length > 0) return describeDiagnostics(state.diagnostics);
          if (state.thrown !== undefined) return describeThrown(state.thrown.value, { tslabDir: tslab.dir });
          return { ename: 'Error', evalue: 'The cell failed without a message.', traceback: [] };
        }
        // Diagnostics of a `//@module` cell are warnings: the module is registered anyway.
        if (state.diagnostics.length > 0) process.stderr.write(state.diagnostics.join('\n') + '\n');
        return await Promise.race([settle(SETTLE_MS).then(() => undefined), asyncFailure]);
      } finally {
        state.failed = true;
        if (cell === state) cell = undefined;
      }
    }

    /** An unhandled rejection or uncaught exception. */
    onAsyncError(kind, value) {
      const heading = ASYNC_KINDS[kind];
      if (cell !== undefined && !cell.failed) {
        cell.failed = true;
        cell.fail(describeThrown(value, { tslabDir: tslab.dir, heading }));
        return;
      }
      // Between cells: shown in the last cell's output (or the kernel log), and the next cell fails.
      process.stderr.write(`${heading}: ${util.inspect(value)}\n`);
      if (this.pending === undefined) this.pending = { heading, value, after: this.execCount };
    }

    takePending() {
      const p = this.pending;
      if (p === undefined) return undefined;
      this.pending = undefined;
      const where = p.after > 0 ? `after cell [${p.after}] finished` : 'before any cell ran';
      const error = describeThrown(p.value, { tslabDir: tslab.dir, heading: `${p.heading} ${where}` });
      error.traceback.push('This cell did not run; run it again to continue.');
      return error;
    }
  }

  class Server extends ZmqServer {
    async handleShellMessage(sock, ...frames) {
      try {
        await super.handleShellMessage(sock, ...frames);
      } catch (e) {
        // A malformed or stray message (tslab's parser throws): not an error of any cell.
        kernelLog(`transferlab kernel: ignored a message it could not handle (${e && e.message})\n`);
      }
    }

    async handleExecute(sock, msg) {
      const publish = (msgType, content) => {
        const out = msg.createReply();
        out.header.msg_type = msgType;
        out.content = content;
        out.signAndSend(this.connInfo.key, this.iopub);
      };
      const io = {
        publish,
        stream: (name, text) => publish('stream', { name, text }),
        display: (data, update) => publish(update ? 'update_display_data' : 'display_data', data),
      };
      const reply = msg.createReply();
      reply.header.msg_type = 'execute_reply';
      reply.content = await this.handler.execute(msg.content, io);
      reply.signAndSend(this.connInfo.key, sock);
    }

    handleCommInfoRequest(sock, msg) {
      const reply = msg.createReply();
      reply.header.msg_type = 'comm_info_reply';
      reply.content = { status: 'ok', comms: {} };
      reply.signAndSend(this.connInfo.key, sock);
    }
  }

  const convs = new ConverterSet();
  void convs.node; // warm the TypeScript converter before the first request
  const executor = tslab.executor.createExecutor(opts.cwd ?? process.cwd(), convs, executorConsole);
  const handler = new Handler(executor);
  return { handler, executor, Server };
}

/** Parses `--config-path <file>` (or `--config-path=<file>`). */
function parseArgs(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config-path' && argv[i + 1] !== undefined) return { configPath: argv[i + 1] };
    if (argv[i].startsWith('--config-path=')) return { configPath: argv[i].slice('--config-path='.length) };
  }
  throw new Error(`Usage: node ${path.relative(process.cwd(), __filename)} --config-path <connection file> (received ${JSON.stringify(argv)})`);
}

function main(argv) {
  const { configPath } = parseArgs(argv);
  const tslab = loadTslab();
  const { handler, executor, Server } = createKernel(tslab);
  const server = new Server(handler, configPath);
  process.on('SIGINT', () => executor.interrupt());
  process.on('uncaughtException', (err) => handler.onAsyncError('exception', err));
  process.on('unhandledRejection', (reason) => handler.onAsyncError('rejection', reason));
  server.init().catch((e) => {
    process.stderr.write(`transferlab kernel: could not open the sockets of ${configPath}: ${e && e.stack}\n`);
    process.exit(1);
  });
}

module.exports = { describeThrown, describeDiagnostics, parseArgs, loadTslab, createKernel };

if (require.main === module) main(process.argv.slice(2));
