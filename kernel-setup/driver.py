"""Headless notebook driver for `transferlab run` (src/cli/runNotebook.ts starts it).

Executes one notebook cell by cell on a Jupyter kernel through jupyter_client, the way nbclient
does, but with the checks tslab needs:
  * tslab reports compile errors only as stderr text plus an execute_reply with status 'error'
    (no `error` iopub message), so the reply status decides and the cell's stderr is the message;
  * unhandled promise rejections and uncaught exceptions from fire-and-forget code are printed
    by tslab ("UnhandledPromiseRejection:" / "UncaughtException:") to the stream of the cell that
    last ran, or to the kernel's own stderr before the first cell; both are watched;
  * a per-cell timeout interrupts the kernel, then kills it; a dead kernel is reported;
  * after the last cell it waits while the kernel still has timers or requests pending (up to
    `late_wait` seconds), so a rejection that fires a second after the last cell is still reported;
  * when the runner that started it dies (even by SIGKILL) it shuts the kernel down and exits:
    PR_SET_PDEATHSIG on Linux, and a poll of the parent pid everywhere.

Protocol: one JSON job on stdin's first line; JSON events on stdout, one per line. After the
'executed' event the driver reads one more stdin line, {"render": [{"ipynb": p, "html": p}]},
renders those notebooks to HTML with nbconvert and ends with a 'rendered' event. Kept in
kernel-setup/ (not src/) because the TypeScript build copies no non-TS files to dist/.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from queue import Empty

UNHANDLED_RE = re.compile(r'(?:^|\n)((?:UnhandledPromiseRejection|UncaughtException):[\s\S]*)')
# tslab's own ZeroMQ parser rejecting a stray message (for instance a heartbeat ping from another
# run's client whose kernel died and whose port this kernel now uses): not an error of the cell.
STRAY_PROTOCOL_RE = re.compile(r'(?:UnhandledPromiseRejection|UncaughtException): Error: message missing delimiter')


REPORT_START_RE = re.compile(r'(?:^|\n)(?=(?:UnhandledPromiseRejection|UncaughtException):)')


class _Report:
    def __init__(self, text):
        self.text = text

    def group(self, _index):
        return self.text


def unhandled_in(text):
    """The first unhandled rejection/exception report in `text` (from its first line to the end),
    ignoring tslab's stray-message ones; None when there is none."""
    for start in REPORT_START_RE.finditer(text):
        rest = text[start.end():]
        if not STRAY_PROTOCOL_RE.match(rest):
            return _Report(rest)
    return None
ANSI_RE = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
ASYNC_ERROR_RE = re.compile(r'(?:UnhandledPromiseRejection|UncaughtException)\b')
HEARTBEAT_SECONDS = 30.0


# Set when the runner that started this driver is gone: nothing reads our events any more.
ORPHANED = threading.Event()
_TERMINATING = []
PARENT = [None]


def emit(event, **fields):
    fields['event'] = event
    try:
        sys.stdout.write(json.dumps(fields) + '\n')
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        ORPHANED.set()


def on_sigterm(*_):
    """SIGTERM (the runner aborting, or its death): stop once; a second signal must not interrupt the shutdown."""
    if PARENT[0] is not None and os.getppid() != PARENT[0]:
        ORPHANED.set()
    if _TERMINATING:
        return
    _TERMINATING.append(True)
    raise KeyboardInterrupt()


def watch_parent():
    """Ends the run when the process that started this driver dies, even by SIGKILL: the kernel
    is shut down (see main) instead of living on. PR_SET_PDEATHSIG delivers SIGTERM at once on
    Linux; a poll of the parent pid covers other systems and a parent that died before prctl."""
    parent = os.getppid()
    PARENT[0] = parent
    if sys.platform.startswith('linux'):
        try:
            import ctypes
            ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:
            pass

    def poll():
        while True:
            if os.getppid() != parent:
                ORPHANED.set()
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.2)

    threading.Thread(target=poll, daemon=True).start()


# After the last cell: wait while the kernel has more pending timers or short-lived requests
# (libuv request types) than it had before the first cell, checked every 25 ms, for at most
# LATE_MS ms. Persistent handles (sockets, workers) are not counted: they may live on by design.
PENDING_TS = (
    "(globalThis as any).__transferlabPending = (): number => process.getActiveResourcesInfo()"
    ".filter((r: string) => r === 'Timeout' || r === 'Immediate' || /Req|Promise/.test(r)).length;\n"
    "(globalThis as any).__transferlabIdle = (globalThis as any).__transferlabPending();"
)
DRAIN_TS = (
    "{ const end = Date.now() + LATE_MS;\n"
    "  while ((globalThis as any).__transferlabPending() > (globalThis as any).__transferlabIdle && Date.now() < end)\n"
    "    await new Promise((r) => setTimeout(r, 25)); }"
)
# Seconds to keep reading after the wait, for a report printed at its very end to arrive.
LATE_SETTLE = 0.3


def die_with_parent():
    """Popen preexec_fn: on Linux, the kernel gets SIGKILL if this driver dies (no orphans)."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Failure(Exception):
    def __init__(self, kind, index, message):
        super().__init__(message)
        self.kind = kind
        self.index = index
        self.message = message


class Run:
    def __init__(self, job, nb):
        self.job = job
        self.nb = nb
        self.km = None
        self.kc = None
        self.cell_of_msg = {}      # execute msg_id -> cell index
        self.display_refs = {}     # display_id -> [(cell index, output index)]
        self.clear_pending = set()
        self.idle = set()
        self.stderr_text = {}      # cell index -> stderr stream text
        self.unhandled = None      # (cell index or None, text, time first seen)
        self.kernel_stderr = deque(maxlen=200)
        self.lock = threading.Lock()
        self.current = None        # index of the running cell
        self.last = None           # index of the last cell sent
        self.hidden = set()        # msg_ids of the runner's own silent requests (not cells)
        self.idle_baseline = False # whether PENDING_TS ran, so DRAIN_TS can compare

    # -- kernel lifecycle ---------------------------------------------------------------------
    def start(self):
        from jupyter_client.manager import KernelManager
        t0 = time.monotonic()
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
        name = self.job['kernel_name']
        self.km = KernelManager(kernel_name=name)
        kwargs = dict(cwd=self.job['cwd'], stderr=subprocess.PIPE)
        if sys.platform.startswith('linux'):
            kwargs['preexec_fn'] = die_with_parent
        try:
            self.km.start_kernel(**kwargs)
        except NoSuchKernel:
            available = ', '.join(sorted(KernelSpecManager().find_kernel_specs())) or 'none'
            raise Failure('kernel_start', None, "No Jupyter kernelspec named '%s' is registered (available: %s). "
                          "Run `npm run setup` to register 'transferlab', or leave out --kernel to use this "
                          "project's tslab directly." % (name, available))
        except OSError as e:
            raise Failure('kernel_start', None, "Kernel '%s' could not be launched: %s" % (name, e))
        proc = self.process()
        if proc is not None and proc.stderr is not None:
            threading.Thread(target=self.read_kernel_stderr, args=(proc.stderr,), daemon=True).start()
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.job['startup_timeout'])
        except RuntimeError as e:
            raise Failure('kernel_start', None, 'The kernel did not start: %s%s' % (e, self.stderr_tail()))
        emit('kernel_started', pid=proc.pid if proc is not None else None,
             seconds=round(time.monotonic() - t0, 3))
        self.idle_baseline = self.run_hidden(PENDING_TS, 10.0) == 'ok'

    def process(self):
        prov = getattr(self.km, 'provisioner', None)
        proc = getattr(prov, 'process', None) if prov is not None else None
        return proc if proc is not None else getattr(self.km, 'kernel', None)

    def alive(self):
        proc = self.process()
        return proc.poll() is None if proc is not None else self.km.is_alive()

    def shutdown(self):
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                proc = self.process()
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait(5)

    def read_kernel_stderr(self, pipe):
        buf = ''
        for raw in iter(pipe.readline, b''):
            line = raw.decode('utf-8', 'replace')
            with self.lock:
                self.kernel_stderr.append(line)
                if self.unhandled is None and unhandled_in(line):
                    buf = line
                    self.unhandled = [self.current if self.current is not None else self.last, buf, time.monotonic()]
                elif self.unhandled is not None and buf and len(buf) < 4000:
                    buf += line
                    self.unhandled[1] = buf

    def exit_reason(self):
        proc = self.process()
        code = proc.poll() if proc is not None else None
        if code is None:
            return 'exit status unknown'
        if code < 0:
            try:
                return 'killed by %s' % signal.Signals(-code).name
            except ValueError:
                return 'killed by signal %d' % -code
        return 'exit code %d' % code

    def stderr_tail(self):
        with self.lock:
            tail = ''.join(list(self.kernel_stderr)[-20:]).strip()
        return ('\nKernel stderr:\n' + tail) if tail else ''

    # -- iopub message handling ---------------------------------------------------------------
    def handle(self, msg):
        from nbformat.v4 import output_from_msg
        parent = msg.get('parent_header', {}).get('msg_id')
        if parent in self.hidden:
            self.handle_hidden(parent, msg)
            return
        index = self.cell_of_msg.get(parent)
        if index is None:
            return
        mtype = msg['msg_type']
        content = msg['content']
        cell = self.nb.cells[index]
        if mtype == 'status':
            if content.get('execution_state') == 'idle':
                self.idle.add(parent)
            return
        if mtype == 'execute_input':
            cell.execution_count = content.get('execution_count')
            return
        if mtype == 'clear_output':
            if content.get('wait'):
                self.clear_pending.add(index)
            else:
                self.clear(index)
            return
        if mtype == 'update_display_data':
            display_id = content.get('transient', {}).get('display_id')
            for ci, oi in self.display_refs.get(display_id, []):
                out = self.nb.cells[ci].outputs[oi]
                out['data'] = content.get('data', {})
                out['metadata'] = content.get('metadata', {})
            return
        if mtype not in ('stream', 'display_data', 'execute_result', 'error'):
            return
        if index in self.clear_pending:
            self.clear(index)
        out = output_from_msg(msg)
        outputs = cell.outputs
        if mtype == 'stream':
            if out.name == 'stderr':
                self.stderr_text[index] = self.stderr_text.get(index, '') + out.text
                found = unhandled_in(self.stderr_text[index])
                if found and self.unhandled is None:
                    with self.lock:
                        self.unhandled = [index, found.group(1), time.monotonic()]
                elif found and self.unhandled is not None and self.unhandled[0] == index:
                    self.unhandled[1] = found.group(1)
            if outputs and outputs[-1].output_type == 'stream' and outputs[-1].name == out.name:
                outputs[-1].text += out.text
                return
        outputs.append(out)
        display_id = content.get('transient', {}).get('display_id')
        if display_id and mtype in ('display_data', 'execute_result'):
            self.display_refs.setdefault(display_id, []).append((index, len(outputs) - 1))

    def handle_hidden(self, parent, msg):
        """A report printed while a silent request of the runner runs belongs to the last cell."""
        mtype = msg['msg_type']
        content = msg['content']
        if mtype == 'status' and content.get('execution_state') == 'idle':
            self.idle.add(parent)
        elif mtype == 'stream' and content.get('name') == 'stderr':
            text = self.stderr_text.get(('hidden', parent), '') + content.get('text', '')
            self.stderr_text[('hidden', parent)] = text
            found = unhandled_in(text)
            if found:
                with self.lock:
                    if self.unhandled is None:
                        self.unhandled = [self.last, found.group(1), time.monotonic()]

    def run_hidden(self, code, timeout):
        """Runs runner code silently (no outputs, no execution count); returns the reply status,
        'timeout', or the report text of a rejection that failed it (then self.unhandled is set)."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
        self.hidden.add(msg_id)
        end = time.monotonic() + timeout
        reply = None
        while time.monotonic() < end:
            if ORPHANED.is_set():
                raise KeyboardInterrupt()
            self.pump(0.02)
            if reply is None:
                reply = self.shell_reply(msg_id)
            if reply is not None and msg_id in self.idle:
                break
            if not self.alive():
                return 'dead'
        if reply is None:
            return 'timeout'
        content = reply['content']
        status = content.get('status')
        if status != 'ok':
            text = ANSI_RE.sub('', '\n'.join(content.get('traceback') or []) or '%s: %s' % (content.get('ename'), content.get('evalue'))).strip()
            # The project's kernel fails a request during which a rejection or uncaught exception happens.
            if ASYNC_ERROR_RE.match(text):
                with self.lock:
                    if self.unhandled is None:
                        self.unhandled = [self.last, text, time.monotonic()]
        return status

    def clear(self, index):
        self.nb.cells[index].outputs = []
        self.clear_pending.discard(index)
        for refs in self.display_refs.values():
            refs[:] = [r for r in refs if r[0] != index]

    def pump(self, timeout):
        """Handles iopub messages for up to `timeout` seconds (returns early after the first)."""
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except Empty:
            return
        self.handle(msg)
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0)
            except Empty:
                return
            self.handle(msg)

    def check_unhandled(self):
        with self.lock:
            found = self.unhandled
        if found is None:
            return
        # Let the rest of the stack trace arrive before reporting.
        while time.monotonic() - found[2] < 0.15:
            self.pump(0.05)
        index = found[0] if found[0] is not None else self.last
        text = ANSI_RE.sub('', found[1]).strip()
        raise Failure('unhandled', index, text)

    # -- execution ----------------------------------------------------------------------------
    def run_cell(self, index, timeout):
        cell = self.nb.cells[index]
        cell.outputs = []
        cell.execution_count = None
        msg_id = self.kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=False)
        self.cell_of_msg[msg_id] = index
        self.current = index
        self.last = index
        start = time.monotonic()
        next_beat = start + HEARTBEAT_SECONDS
        reply = None
        while True:
            if ORPHANED.is_set():
                raise KeyboardInterrupt()
            self.pump(0.05)
            if reply is None:
                reply = self.shell_reply(msg_id)
            self.check_unhandled()
            if reply is not None and msg_id in self.idle:
                break
            if not self.alive():
                self.pump(0.1)
                raise Failure('dead_kernel', index, 'The kernel died while the cell was running (%s).%s'
                              % (self.exit_reason(), self.stderr_tail()))
            now = time.monotonic()
            if now - start > timeout:
                self.on_timeout(index, msg_id, timeout)
            if now >= next_beat:
                emit('cell_running', index=index, seconds=round(now - start, 3))
                next_beat += HEARTBEAT_SECONDS
        self.current = None
        # tslab reports an unhandled rejection of the cell's own code just after the reply.
        settle = time.monotonic() + 0.02
        while time.monotonic() < settle:
            self.pump(0.01)
        self.check_unhandled()
        content = reply['content']
        if cell.execution_count is None:
            cell.execution_count = content.get('execution_count')
        seconds = round(time.monotonic() - start, 3)
        if content.get('status') != 'ok':
            text = self.error_text(index, content)
            # The project's kernel (kernel-setup/kernel.js) fails the cell itself for a rejection or
            # uncaught exception while it runs; its traceback starts with the kind.
            raise Failure('unhandled' if ASYNC_ERROR_RE.match(text) else 'error', index, text)
        emit('cell_done', index=index, seconds=seconds, execution_count=cell.execution_count)

    def shell_reply(self, msg_id):
        while True:
            try:
                msg = self.kc.get_shell_msg(timeout=0)
            except Empty:
                return None
            if msg.get('parent_header', {}).get('msg_id') == msg_id and msg['msg_type'] == 'execute_reply':
                return msg

    def error_text(self, index, content):
        errors = [o for o in self.nb.cells[index].outputs if o.output_type == 'error']
        if errors:
            e = errors[-1]
            tb = '\n'.join(e.get('traceback', []))
            text = tb if tb.strip() else '%s: %s' % (e.get('ename'), e.get('evalue'))
        elif content.get('ename'):
            text = '%s: %s' % (content.get('ename'), content.get('evalue'))
        else:
            text = self.stderr_text.get(index, '')
        text = ANSI_RE.sub('', text).strip()
        if content.get('status') == 'abort':
            return text or 'The kernel aborted the cell.'
        return text or 'The kernel reported an error but printed no message.'

    def on_timeout(self, index, msg_id, timeout):
        self.km.interrupt_kernel()
        grace_end = time.monotonic() + self.job['interrupt_grace']
        stopped = False
        reply = None
        while time.monotonic() < grace_end and self.alive():
            self.pump(0.05)
            if reply is None:
                reply = self.shell_reply(msg_id)
            if reply is not None and msg_id in self.idle:
                stopped = True
                break
        how = 'the runner interrupted the kernel'
        if not stopped:
            self.shutdown()
            how = 'the kernel ignored the interrupt for %g s and was killed' % self.job['interrupt_grace']
        raise Failure('timeout', index, 'The cell ran longer than its timeout of %g s; %s.' % (timeout, how))

    def execute(self):
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != 'code' or not cell.source.strip():
                continue
            timeout = cell.metadata.get('timeout', self.job['timeout'])
            emit('cell_start', index=index)
            self.run_cell(index, float(timeout))
        # Late rejections from fire-and-forget code of the last cells: wait while the kernel has
        # timers or requests pending (up to late_wait), then a moment for a report to arrive.
        late = float(self.job['late_wait'])
        if late > 0 and self.last is not None:
            drained = False
            if self.idle_baseline:
                status = self.run_hidden(DRAIN_TS.replace('LATE_MS', str(int(late * 1000))), late + 10.0)
                drained = status in ('ok', 'error')
            if not drained:
                # Not the project's kernel (or it did not answer): a fixed wait instead.
                end = time.monotonic() + late
                while time.monotonic() < end:
                    self.pump(0.02)
                    self.check_unhandled()
            end = time.monotonic() + min(late, LATE_SETTLE)
            while time.monotonic() < end:
                self.pump(0.02)
                self.check_unhandled()
        self.check_unhandled()


def render(targets):
    if not targets:
        return
    import nbformat
    from nbconvert import HTMLExporter
    exporter = HTMLExporter()
    for t in targets:
        nb = nbformat.read(t['ipynb'], as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        with open(t['html'], 'w', encoding='utf-8') as f:
            f.write(body)


def main():
    signal.signal(signal.SIGTERM, on_sigterm)
    watch_parent()
    job = json.loads(sys.stdin.readline())
    import nbformat
    nb = nbformat.read(job['notebook'], as_version=4)
    run = Run(job, nb)
    try:
        run.start()
        run.execute()
        emit('finished')
    except Failure as f:
        emit('failure', kind=f.kind, index=f.index, message=f.message)
    except KeyboardInterrupt:
        if not ORPHANED.is_set():
            emit('failure', kind='aborted', index=run.current, message='The run was aborted.')
    finally:
        run.shutdown()
    if ORPHANED.is_set():
        # The runner is gone (killed): nobody will read the results or clean its folder up.
        import shutil
        cleanup = job.get('cleanup_dir')
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)
        os._exit(1)
    nbformat.write(nb, job['executed_path'])
    emit('executed', path=job['executed_path'])
    line = sys.stdin.readline()
    if line.strip():
        render(json.loads(line).get('render', []))
    emit('rendered')


if __name__ == '__main__':
    main()
