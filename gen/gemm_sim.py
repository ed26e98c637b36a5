"""``dstc sim``: a whole SpGEMM through the generated RTL, checked and measured.

A :class:`GemmRequest` names the run; :func:`plan_gemm` draws the operands and builds the
command program (a :class:`GemmPlan`, whose :meth:`GemmPlan.describe` lines the command prints
before simulating); :meth:`GemmPlan.execute` generates the core, runs the program in cocotb
and checks the result against the golden and cycle models (a :class:`GemmResult`).
:func:`run_gemm` does both. :func:`add_arguments` and :func:`command` are ``dstc sim``.
"""

import os
import pickle
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
from .cocotb_run import run_cocotb
from .options import add_config_options, config_from, config_name, density, positive_int
from .verilog import cached_verilog

__all__ = ["GemmRequest", "GemmPlan", "GemmResult", "plan_gemm", "run_gemm", "core_verilog",
           "run_with_progress", "HELP", "DESCRIPTION", "add_arguments", "command"]


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
    finally:
        bar.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@dataclass(frozen=True)
class GemmRequest:
    """A ``dstc sim`` run: ``D = A @ B`` with ``A`` of shape ``(m, k)`` and ``B`` of shape
    ``(k, n)``, random operands with fractions ``density_a`` and ``density_b`` of nonzeros,
    on ``config`` (titled ``preset_name``; its files under ``out_dir/<preset_name>``).

    ``simulator`` is ``verilator`` or ``icarus``; ``seed`` the operands' seed (``None``: drawn
    from the operating system, and reported); ``waves`` writes an FST waveform; ``cxx_opt``
    is the Verilator model's C++ optimisation; ``verilog`` the core's Verilog (module
    ``dstc_core``), generated when ``None``; ``progress`` shows a progress bar on standard
    error while simulating.
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


@dataclass(frozen=True, eq=False)
class GemmPlan:
    """A request's operands and program, ready to run: the ``seed`` used, ``a`` and ``b``
    (the operand arrays), the command ``program`` and the ``build_dir`` and cocotb ``log``
    of the simulation."""
    request: GemmRequest
    seed: int
    a: np.ndarray
    b: np.ndarray
    program: GemmProgram
    build_dir: Path
    log: Path

    def describe(self):
        """The lines ``dstc sim`` prints before simulating: configuration, seed, workload."""
        request, program = self.request, self.program
        return [
            f"DSTC sim: {request.preset_name} preset ({request.config.describe()}), "
            f"{request.simulator}, seed {self.seed}",
            f"GEMM {request.m} x {request.n} x {request.k} (M x N x K), density A "
            f"{request.density_a:g}, density B {request.density_b:g}: {program.tiles_issued} "
            f"SpWMMA tiles, {program.tiles_skipped} skipped by the coarse bitmaps, "
            f"{len(program.drained_tiles)} output tiles drained, {len(program.commands)} "
            f"commands",
            f"  building and running on {request.simulator} (log: {self.log})",
        ]

    def execute(self):
        """Generate the core (unless the request names its Verilog), build and run the
        program on the simulator, and check the result. Returns a :class:`GemmResult`.
        Raises :class:`~dstc.gen.cocotb_run.SimulationError` when the simulator or the
        testbench fails."""
        request, program, config = self.request, self.program, self.request.config
        design_dir = self.build_dir.parent
        if request.verilog is None:
            verilog, top, generate_seconds = core_verilog(config, design_dir)
        else:
            verilog, top, generate_seconds = request.verilog, "dstc_core", 0.0
        self.build_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            job, result_path = Path(scratch) / "job.pkl", Path(scratch) / "result.pkl"
            progress = Path(scratch) / "progress"
            with open(job, "wb") as job_file:
                pickle.dump({"config": config, "commands": program.commands}, job_file)
            started = time.monotonic()

            def simulate():
                return run_cocotb(verilog_path=verilog, toplevel=top,
                                  test_module="dstc.gen.cocotb_gemm", test_dir=None,
                                  simulator=request.simulator, build_dir=self.build_dir,
                                  waves=request.waves, cxx_opt=request.cxx_opt, log=self.log,
                                  extra_env={"DSTC_JOB": str(job),
                                             "DSTC_RESULT": str(result_path),
                                             "DSTC_PROGRESS": str(progress)})

            if request.progress:
                run_with_progress(simulate, progress,
                                  f"{request.m}x{request.n}x{request.k}")
            else:
                simulate()
            total_seconds = time.monotonic() - started
            with open(result_path, "rb") as result_file:
                result = pickle.load(result_file)
        run = result["run"]

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
            dense_cycles=dense_cycles, speedup=dense_cycles / max(run.cycles, 1),
            ideal_speedup=1 / product if product else float("inf"),
            utilisation=useful / max(run.cycles * config.macs, 1),
            slot_utilisation=useful / max(run.counters["mac_slots"], 1),
            tiles_issued=program.tiles_issued, tiles_skipped=program.tiles_skipped,
            errors=run.errors, counters=run.counters, sim_seconds=result["seconds"],
            build_and_run_seconds=total_seconds, generate_seconds=generate_seconds,
            waves=waves)


@dataclass(frozen=True)
class GemmResult:
    """The figures of a ``dstc sim`` run.

    ``ok``: the values match the golden model bit for bit (``values_match``), the measured
    ``cycles`` equal the cycle model's (``model_cycles``) and the core flagged no ``errors``
    (its sticky error bits). ``dense_cycles``: the cycle model's count for the same GEMM in
    dense mode; ``speedup`` = dense / measured cycles, ``ideal_speedup`` = 1 / (density_a x
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
            f"  speedup       {self.speedup:.2f}x over dense; ideal 1/(dA*dB) = "
            f"{self.ideal_speedup:.2f}x",
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


def plan_gemm(request):
    """Draw the operands of ``request`` (a :class:`GemmRequest`) and build the command
    program; returns a :class:`GemmPlan`. Nothing is written or run."""
    seed = int.from_bytes(os.urandom(4), "little") if request.seed is None else request.seed
    rng = np.random.default_rng(seed)
    a = random_operands(rng, request.config, (request.m, request.k), request.density_a)
    b = random_operands(rng, request.config, (request.k, request.n), request.density_b)
    program = gemm_program(a, b, request.config)
    design_dir = Path(request.out_dir) / request.preset_name
    build_dir = design_dir / (request.simulator + ("-waves" if request.waves else "")
                              + (request.cxx_opt if request.simulator == "verilator" else ""))
    return GemmPlan(request, seed, a, b, program, build_dir, build_dir / "cocotb.log")


def run_gemm(request):
    """Simulate and check the SpGEMM of ``request`` (a :class:`GemmRequest`); returns a
    :class:`GemmResult`. Raises :class:`~dstc.gen.cocotb_run.SimulationError` when the
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
    parser.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    parser.add_argument("--waves", action="store_true", help="write an FST waveform")
    parser.add_argument("-o", "--output", default="build/sim-cli", metavar="DIR",
                        help="folder for the generated core and simulator builds")


def command(args):
    """Run ``dstc sim`` from parsed arguments; returns the exit code (0: checked, 1: a
    check failed)."""
    request = GemmRequest(
        config_from(args), config_name(args), args.m, args.n, args.k, args.density_a,
        args.density_b, simulator=args.simulator, seed=args.seed, waves=args.waves,
        out_dir=Path(args.output), progress=True)
    return 0 if print_run(plan_gemm(request)).ok else 1
