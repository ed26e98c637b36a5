"""``dstc sim``: a whole SpGEMM through the generated RTL, checked and measured.

A :class:`GemmRequest` names the run; :func:`plan_gemm` draws the operands and builds the
command program (a :class:`GemmPlan`, whose :meth:`GemmPlan.describe` lines the command prints
before simulating); :meth:`GemmPlan.execute` generates the core, runs the program in cocotb
and checks the result against the golden and cycle models (a :class:`GemmResult`).
:func:`run_gemm` does both. :func:`add_arguments` and :func:`command` are ``dstc sim``.
"""

import math
import os
import pickle
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..hw.core import DstcCore
from ..sim.arith import Arithmetic
from ..sim.config import DstcConfig
from ..sim.golden import spgemm
from ..sim.program import (
    GemmProgram,
    dense_gemm_cycles,
    gemm_program,
    random_operands,
    sparse_gemm_cycles,
)
from .cocotb_run import SIMULATORS, run_cocotb
from .estimate import (
    DEFAULT_LIMIT_SECONDS,
    GemmEstimate,
    TooExpensive,
    check_gemm,
    estimate_gemm,
    warn_slow_generation,
)
from .options import (
    UsageError,
    add_config_options,
    add_output_option,
    check_output_folder,
    config_folder,
    config_from,
    config_name,
    density,
    positive_int,
    seed_type,
)
from .tools import stop_children
from .verilog import cached_verilog

__all__ = ["GemmRequest", "GemmPlan", "GemmResult", "plan_gemm", "estimate_request", "run_gemm",
           "core_verilog", "run_with_progress", "ProgramsRun", "simulate_programs", "print_run",
           "HELP", "DESCRIPTION", "add_arguments", "command"]


def core_verilog(config, out_dir):
    """The core's Verilog for ``config`` in ``out_dir`` (regenerated only when needed);
    returns ``(path, module name, seconds spent generating)``."""
    started = time.monotonic()
    path, _ = cached_verilog(Path(out_dir) / "dstc_core.v", "dstc_core",
                             lambda: DstcCore(config), key=config.to_json())
    return path, "dstc_core", time.monotonic() - started


def run_with_progress(run, progress_path, label, stream=None):
    """Call ``run()`` in a thread while showing a progress bar (tqdm, on ``stream``, default
    standard error) of the commands done, read every 0.2 s from ``progress_path`` (a file
    holding ``done total``, which the simulator process writes). The bar appears with the
    first progress read and ends on the last state read. Returns ``run()``'s result or raises
    its error."""
    outcome = {}

    def target():
        try:
            outcome["value"] = run()
        except BaseException as error:   # re-raised in the caller's thread
            outcome["error"] = error

    def read():
        try:
            done, total = map(int, Path(progress_path).read_text().split())
        except (OSError, ValueError):
            return None
        return done, total

    # tqdm formats the bar; this function decides when it is drawn (``delay`` keeps tqdm
    # from drawing it by itself), so that each state is drawn once and the last one ends
    # the line.
    stream = stream or sys.stderr
    bar = tqdm(total=0, desc=f"  {label}", unit=" commands", file=stream,
               delay=float("inf"), ascii=".#",
               bar_format="{desc} [{bar:30}] {n}/{total}{unit}, {elapsed_s:.0f} s")
    drawn = None
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
            state = read()
            if state is not None and state != drawn:
                bar.n, bar.total = drawn = state
                bar.refresh()
        if drawn is not None:
            stream.write("\n")
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): stop the simulator that ``run`` waits for, and let
        # the thread end before the caller removes the files it uses.
        stop_children()
        thread.join(10.0)
        raise
    finally:
        bar.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclass(frozen=True)
class ProgramsRun:
    """What :func:`simulate_programs` observed: ``runs``, one
    :class:`~dstc.gen.core_driver.CoreRun` per program in order (``counters`` are the core's
    counters at the end of each program: they count from the reset before the first);
    ``sim_seconds`` (simulation alone), ``build_and_run_seconds``, ``generate_seconds``
    (Verilog; 0 when given) and ``top`` (the simulated module)."""
    runs: tuple
    sim_seconds: float
    build_and_run_seconds: float
    generate_seconds: float
    top: str


def simulate_programs(config, programs, build_dir, log, *, simulator="verilator", waves=False,
                      cxx_opt="-O2", verilog=None, progress_label=None):
    """Run command ``programs`` (lists of :mod:`dstc.sim.isa` commands) one after the other on
    the core of ``config`` in one simulation (:mod:`dstc.gen.cocotb_gemm`): the core is reset
    once, each program starts when the previous one has drained and the core is idle, and its
    cycles count from its own first cycle.

    ``build_dir``: the simulator's build folder (reused when up to date; its parent holds the
    generated Verilog unless ``verilog`` names it); ``log``: where the cocotb log is copied;
    ``waves``: an FST waveform in ``build_dir``; ``progress_label``: show a progress bar of
    the commands accepted under that label. Returns a :class:`ProgramsRun`. Raises
    :class:`~dstc.gen.cocotb_run.SimulationError` when the simulator or the testbench fails.
    """
    build_dir, log_path = Path(build_dir), Path(log)
    if verilog is None:
        verilog, top, generate_seconds = core_verilog(config, build_dir.parent)
    else:
        top, generate_seconds = "dstc_core", 0.0
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dstc-sim-") as scratch:
        job, result_path = Path(scratch) / "job.pkl", Path(scratch) / "result.pkl"
        progress = Path(scratch) / "progress"
        with open(job, "wb") as job_file:
            pickle.dump({"config": config, "programs": [list(commands) for commands in programs]},
                        job_file)
        # A run with waves runs in the build folder (where its waveform is kept), taking
        # turns with other runs there; any other run in the scratch folder, beside other
        # runs of the same build, its log copied next to the build at the end.
        run_dir = build_dir if waves else Path(scratch) / "run"
        run_log = log_path if waves else Path(scratch) / "cocotb.log"
        started = time.monotonic()

        def simulate():
            return run_cocotb(verilog_path=verilog, toplevel=top,
                              test_module="dstc.gen.cocotb_gemm", test_dir=None,
                              simulator=simulator, build_dir=build_dir, waves=waves,
                              cxx_opt=cxx_opt, log=run_log, run_dir=run_dir,
                              extra_env={"DSTC_JOB": str(job), "DSTC_RESULT": str(result_path),
                                         "DSTC_PROGRESS": str(progress)})

        try:
            if progress_label is not None:
                run_with_progress(simulate, progress, progress_label)
            else:
                simulate()
        finally:
            if run_log != log_path and run_log.is_file():
                partial = log_path.with_name(f".{log_path.name}.{os.getpid()}.tmp")
                shutil.copyfile(run_log, partial)
                os.replace(partial, log_path)
        total_seconds = time.monotonic() - started
        with open(result_path, "rb") as result_file:
            result = pickle.load(result_file)
    return ProgramsRun(runs=tuple(result["runs"]), sim_seconds=result["seconds"],
                       build_and_run_seconds=total_seconds, generate_seconds=generate_seconds,
                       top=top)


@dataclass(frozen=True)
class GemmRequest:
    """A ``dstc sim`` run: ``D = A @ B`` with ``A`` of shape ``(m, k)`` and ``B`` of shape
    ``(k, n)``, random operands with fractions ``density_a`` and ``density_b`` of nonzeros,
    on ``config`` (titled ``preset_name``; its files under ``out_dir/<preset_name>``).

    ``simulator`` is ``verilator`` or ``icarus``; ``seed`` the operands' seed, an integer of
    at least 0 (``None``: drawn from the operating system, and reported); ``waves`` writes an
    FST waveform; ``cxx_opt`` is the Verilator model's C++ optimisation; ``verilog`` the
    core's Verilog (module ``dstc_core``), generated when ``None``; ``progress`` shows a
    progress bar on standard error while simulating. ``folder`` names the design's folder
    under ``out_dir`` (default: ``preset_name``). :func:`plan_gemm` refuses a run expected to
    take more than ``limit_seconds`` or more memory than the machine has, unless ``force``.

    Raises :class:`ValueError` naming the field for a size that is not a positive integer, a
    density outside [0, 1], a negative or non-integer seed, an unknown simulator, an empty
    ``out_dir`` string, a ``limit_seconds`` that is not a finite positive number, or a
    ``config`` that is not a :class:`~dstc.sim.config.DstcConfig`.
    """
    config: DstcConfig
    preset_name: str
    m: int
    n: int
    k: int
    density_a: float = 0.5
    density_b: float = 0.5
    simulator: str = "verilator"
    seed: int | None = None
    waves: bool = False
    out_dir: Path = Path("build/sim-cli")
    cxx_opt: str = "-O2"
    verilog: Path | None = None
    progress: bool = False
    folder: str | None = None
    force: bool = False
    limit_seconds: float = DEFAULT_LIMIT_SECONDS

    def __post_init__(self):
        if not isinstance(self.config, DstcConfig):
            raise ValueError(f"config={self.config!r}: must be a DstcConfig")
        for name in ("m", "n", "k"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise ValueError(f"{name}={value!r}: must be a positive integer")
        for name in ("density_a", "density_b"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and 0.0 <= value <= 1.0):
                raise ValueError(f"{name}={value!r}: a density must be a number from 0 to 1")
        if isinstance(self.out_dir, str) and not self.out_dir.strip():
            raise ValueError("out_dir='': empty; give a folder (Path('.') for the current one)")
        if self.simulator not in SIMULATORS:
            raise ValueError(f"simulator={self.simulator!r}: must be one of {SIMULATORS}")
        if self.seed is not None and (type(self.seed) is not int or self.seed < 0):
            raise ValueError(f"seed={self.seed!r}: must be a non-negative integer or None")
        if not (isinstance(self.limit_seconds, (int, float))
                and math.isfinite(self.limit_seconds) and self.limit_seconds > 0):
            raise ValueError(f"limit_seconds={self.limit_seconds!r}: must be a finite number "
                             f"greater than 0")


@dataclass(frozen=True, eq=False)
class GemmPlan:
    """A request's operands and program, ready to run: the ``seed`` used, ``a`` and ``b``
    (the operand arrays), the command ``program``, the ``build_dir`` and cocotb ``log`` of
    the simulation, and the ``estimate`` (:class:`~dstc.gen.estimate.GemmEstimate`) it was
    admitted with."""
    request: GemmRequest
    seed: int
    a: np.ndarray
    b: np.ndarray
    program: GemmProgram
    build_dir: Path
    log: Path
    estimate: GemmEstimate | None = None

    def describe(self):
        """The lines ``dstc sim`` prints before simulating: configuration, seed, workload."""
        request, program = self.request, self.program
        return [
            f"DSTC sim: {_title(request.preset_name)} ({request.config.describe()}), "
            f"{request.simulator}, seed {self.seed}",
            f"GEMM {request.m} x {request.n} x {request.k} (M x N x K), density A "
            f"{request.density_a:g}, density B {request.density_b:g}: {program.tiles_issued} "
            f"SpWMMA tiles, {program.tiles_skipped} skipped by the coarse bitmaps, "
            f"{len(program.drained_tiles)} output tiles drained, {len(program.commands)} "
            f"commands",
            *([f"  expected: {self.estimate.describe()}"] if self.estimate else []),
            f"  building and running on {request.simulator} (log: {self.log})",
        ]

    def execute(self):
        """Generate the core (unless the request names its Verilog), build and run the
        program on the simulator, and check the result. Returns a :class:`GemmResult`.
        Raises :class:`~dstc.gen.cocotb_run.SimulationError` when the simulator or the
        testbench fails."""
        request, program, config = self.request, self.program, self.request.config
        label = f"{request.m}x{request.n}x{request.k}" if request.progress else None
        simulation = simulate_programs(
            config, [program.commands], self.build_dir, self.log, simulator=request.simulator,
            waves=request.waves, cxx_opt=request.cxx_opt, verilog=request.verilog,
            progress_label=label)
        run, top = simulation.runs[0], simulation.top
        total_seconds, generate_seconds = (simulation.build_and_run_seconds,
                                           simulation.generate_seconds)

        arith = Arithmetic(config)
        d = program.assemble(run.responses)
        expected = spgemm(self.a, self.b, config).d
        matches = np.array_equal(arith.to_bits(d, config.accum),
                                 arith.to_bits(expected, config.accum))
        model_cycles = sparse_gemm_cycles(program)
        dense_cycles = dense_gemm_cycles((request.m, request.n, request.k), config)
        useful = run.counters["useful_macs"]
        product = request.density_a * request.density_b
        waves = None
        if request.waves:
            waves = str(self.build_dir / ("dump.fst" if request.simulator == "verilator"
                                          else f"{top}.fst"))
        return GemmResult(
            preset=request.preset_name, simulator=request.simulator, seed=self.seed,
            m=request.m, n=request.n, k=request.k, density_a=request.density_a,
            density_b=request.density_b,
            ok=matches and run.cycles == model_cycles and run.errors == 0,
            values_match=matches, cycles=run.cycles, model_cycles=model_cycles,
            dense_cycles=dense_cycles,
            speedup=dense_cycles / run.cycles if run.cycles else math.inf,
            ideal_speedup=1 / product if product else float("inf"),
            utilisation=useful / max(run.cycles * config.macs, 1),
            slot_utilisation=useful / max(run.counters["mac_slots"], 1),
            tiles_issued=program.tiles_issued, tiles_skipped=program.tiles_skipped,
            errors=run.errors, counters=run.counters, sim_seconds=simulation.sim_seconds,
            build_and_run_seconds=total_seconds, generate_seconds=generate_seconds,
            waves=waves)


@dataclass(frozen=True)
class GemmResult:
    """The figures of a ``dstc sim`` run.

    ``ok``: the values match the golden model bit for bit (``values_match``), the measured
    ``cycles`` equal the cycle model's (``model_cycles``) and the core flagged no ``errors``
    (its sticky error bits). ``dense_cycles``: the cycle model's count for the same GEMM in
    dense mode; ``speedup`` = dense / measured cycles (``inf`` when nothing was issued: every
    tile skipped), ``ideal_speedup`` = 1 / (density_a x
    density_b). ``utilisation``: useful MACs per multiplier-cycle; ``slot_utilisation``:
    useful MACs per issued MAC slot. ``counters``: the core's performance counters.
    Times in seconds: ``sim_seconds`` (simulation alone), ``build_and_run_seconds``,
    ``generate_seconds`` (Verilog). ``waves``: the FST file, or ``None``.
    """
    preset: str
    simulator: str
    seed: int
    m: int
    n: int
    k: int
    density_a: float
    density_b: float
    ok: bool
    values_match: bool
    cycles: int
    model_cycles: int
    dense_cycles: int
    speedup: float
    ideal_speedup: float
    utilisation: float
    slot_utilisation: float
    tiles_issued: int
    tiles_skipped: int
    errors: int
    counters: dict
    sim_seconds: float
    build_and_run_seconds: float
    generate_seconds: float
    waves: str | None

    def summary(self, macs):
        """The lines ``dstc sim`` prints after the run; ``macs`` is the configuration's
        multiplier count (dense mode issues that many MACs per cycle)."""
        useful = self.counters["useful_macs"]
        lines = [
            f"  result        {self.m * self.n} values "
            f"{'match' if self.values_match else 'DO NOT match'} the golden model (bit-exact)",
            f"  cycles        {self.cycles} measured; cycle model {self.model_cycles} "
            f"({'equal' if self.cycles == self.model_cycles else 'DIFFERENT'})",
            f"  dense mode    {self.dense_cycles} cycles for the same GEMM (cycle model, every "
            f"tile at {macs} MACs/cycle)",
            f"  speedup       {_ratio(self.speedup)} over dense; ideal 1/(dA*dB) = "
            f"{_ratio(self.ideal_speedup)}",
            f"  utilisation   {100 * self.utilisation:.1f}% of multiplier-cycles did useful "
            f"MACs ({useful} useful MACs; {100 * self.slot_utilisation:.1f}% of issued slots)",
        ]
        if self.errors:
            lines.append(f"  errors        {self.errors:#x} (see docs/isa.md)")
        lines.append(f"  time          {self.sim_seconds:.2f} s simulating "
                     f"({self.cycles / max(self.sim_seconds, 1e-9):.0f} cycles/s), "
                     f"{self.build_and_run_seconds:.1f} s with the build, "
                     f"{self.generate_seconds:.1f} s generating")
        if self.waves:
            lines.append(f"  waves         {self.waves}")
        return lines


def _title(name):
    """``small preset``, or a configuration file's label (``config:mine``) as it is."""
    return name if name.startswith("config:") else f"{name} preset"


def _ratio(value):
    """A speedup for the summary: ``2.09x``, or ``unbounded`` when there is nothing to
    compute."""
    return f"{value:.2f}x" if math.isfinite(value) else "unbounded (nothing to compute)"


def estimate_request(request):
    """The :class:`~dstc.gen.estimate.GemmEstimate` of ``request`` (a :class:`GemmRequest`),
    from its shape and densities alone."""
    return estimate_gemm((request.m, request.n, request.k), request.config,
                         request.density_a, request.density_b, request.simulator)


def plan_gemm(request):
    """Estimate the cost of ``request`` (a :class:`GemmRequest`), then draw its operands and
    build the command program; returns a :class:`GemmPlan`. Nothing is written or run.
    Raises :class:`~dstc.gen.estimate.TooExpensive` (with the estimate) before drawing
    anything when the run is expected to take more than ``request.limit_seconds`` or more
    memory than the machine has, unless ``request.force``."""
    estimate = check_gemm(estimate_request(request), request.limit_seconds, request.force)
    seed = int.from_bytes(os.urandom(4), "little") if request.seed is None else request.seed
    rng = np.random.default_rng(seed)
    a = random_operands(rng, request.config, (request.m, request.k), request.density_a)
    b = random_operands(rng, request.config, (request.k, request.n), request.density_b)
    program = gemm_program(a, b, request.config)
    design_dir = Path(request.out_dir) / (request.folder or request.preset_name)
    build_dir = design_dir / (request.simulator + ("-waves" if request.waves else "")
                              + (request.cxx_opt if request.simulator == "verilator" else ""))
    return GemmPlan(request, seed, a, b, program, build_dir,
                    build_dir.with_name(build_dir.name + ".log"), estimate)


def run_gemm(request):
    """Simulate and check the SpGEMM of ``request`` (a :class:`GemmRequest`); returns a
    :class:`GemmResult`. Raises :class:`~dstc.gen.estimate.TooExpensive` as
    :func:`plan_gemm` does, and :class:`~dstc.gen.cocotb_run.SimulationError` when the
    simulator or the testbench fails."""
    return plan_gemm(request).execute()


def print_run(plan):
    """Print ``plan``'s description, execute it with a progress bar and print the summary;
    returns the :class:`GemmResult` (``dstc sim`` and ``dstc demo``)."""
    for line in plan.describe():
        print(line)
    result = plan.execute()
    print()
    for line in result.summary(plan.request.config.macs):
        print(line)
    return result


# ---- command line ------------------------------------------------------------------------

HELP = "run a random SpGEMM through the RTL, checked and measured"
DESCRIPTION = (
    "Generate the core, run D = A @ B with random operands of the given densities through it "
    "(cocotb), check the result against the golden model and the cycles against the cycle "
    "model, and print the measured cycles, the dense-mode cycles, the speedup and the "
    "multiplier utilisation.")


def add_arguments(parser):
    """Add the options of ``dstc sim`` to ``parser``."""
    add_config_options(parser)
    parser.add_argument("--m", type=positive_int, default=64,
                        help="rows of A and D (default 64)")
    parser.add_argument("--n", type=positive_int, default=64,
                        help="columns of B and D (default 64)")
    parser.add_argument("--k", type=positive_int, default=64,
                        help="inner dimension (default 64)")
    parser.add_argument("--density-a", type=density, default=0.5, metavar="X",
                        help="fraction of nonzeros in A (default 0.5)")
    parser.add_argument("--density-b", type=density, default=0.5, metavar="Y",
                        help="fraction of nonzeros in B (default 0.5)")
    parser.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                        help="simulator (default: verilator)")
    parser.add_argument("--seed", type=seed_type,
                        help="random seed, an integer >= 0 (default: random, printed)")
    parser.add_argument("--waves", action="store_true", help="write an FST waveform")
    parser.add_argument("--force", action="store_true",
                        help="run even when the estimate exceeds 10 minutes of simulation or "
                             "the machine's memory")
    add_output_option(parser, "build/sim-cli",
                      help="folder for the generated core and simulator builds")


def command(args):
    """Run ``dstc sim`` from parsed arguments; returns the exit code (0: checked, 1: a
    check failed). Raises :class:`~dstc.gen.options.UsageError` for an output folder that
    cannot be written and for a run refused by the estimate."""
    config = config_from(args)
    out_dir = check_output_folder(args.output)
    request = GemmRequest(
        config, config_name(args), args.m, args.n, args.k, args.density_a,
        args.density_b, simulator=args.simulator, seed=args.seed, waves=args.waves,
        out_dir=out_dir, progress=True, folder=config_folder(args, config), force=args.force)
    try:
        plan = plan_gemm(request)
    except TooExpensive as error:
        raise UsageError(f"{args.m} x {args.n} x {args.k} at densities {args.density_a:g} x "
                         f"{args.density_b:g} {error}") from None
    warn_slow_generation(config)
    return 0 if print_run(plan).ok else 1
