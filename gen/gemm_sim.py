"""``dstc sim``: a whole SpGEMM through the generated RTL, checked and measured."""

import os
import pickle
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ..hw.core import DstcCore
from ..sim.arith import Arithmetic
from ..sim.golden import spgemm
from ..sim.program import dense_gemm_cycles, gemm_program, random_operands, sparse_gemm_cycles
from .cocotb_run import run_cocotb
from .verilog import cached_verilog

__all__ = ["run_gemm", "core_verilog", "run_with_progress"]


def core_verilog(config, out_dir):
    """The core's Verilog for ``config`` in ``out_dir`` (regenerated only when needed);
    returns ``(path, module name, seconds spent generating)``."""
    started = time.monotonic()
    path, _ = cached_verilog(Path(out_dir) / "dstc_core.v", "dstc_core",
                             lambda: DstcCore(config), key=config.to_json())
    return path, "dstc_core", time.monotonic() - started


def run_with_progress(run, progress_path, label, stream=sys.stderr):
    """Call ``run()`` in a thread while drawing a progress bar from ``progress_path`` (a file
    holding ``done total``) on ``stream``; returns ``run()``'s result or raises its error."""
    outcome = {}

    def target():
        try:
            outcome["value"] = run()
        except BaseException as error:   # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    drawn = False
    while thread.is_alive():
        thread.join(0.2)
        try:
            done, total = map(int, Path(progress_path).read_text().split())
        except (OSError, ValueError):
            continue
        filled = int(30 * done / max(total, 1))
        stream.write(f"\r  {label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
                     f"commands, {time.monotonic() - started:.0f} s ")
        stream.flush()
        drawn = True
    if drawn:
        stream.write("\n")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_gemm(config, preset_name, m, n, k, density_a, density_b, simulator="verilator",
             seed=None, waves=False, out_dir=Path("build/sim-cli"), quiet=False, cxx_opt="-O2",
             verilog=None):
    """Simulate ``D = A @ B`` with random operands of the given densities; check it against
    the golden model and the cycle model. Returns a dict of the figures (``ok`` tells whether
    both checks passed).

    ``verilog`` is the core's Verilog (module ``dstc_core``), generated into ``out_dir`` when
    not given. ``cxx_opt`` is the Verilator model's C++ optimisation.
    """
    say = (lambda *args: None) if quiet else print
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    rng = np.random.default_rng(seed)
    arith = Arithmetic(config)
    a = random_operands(rng, config, (m, k), density_a)
    b = random_operands(rng, config, (k, n), density_b)
    program = gemm_program(a, b, config)
    say(f"DSTC sim: {preset_name} preset ({config.describe()}), {simulator}, seed {seed}")
    say(f"GEMM {m} x {n} x {k} (M x N x K), density A {density_a:g}, density B {density_b:g}: "
        f"{program.tiles_issued} SpWMMA tiles, {program.tiles_skipped} skipped by the coarse "
        f"bitmaps, {len(program.drained_tiles)} output tiles drained, "
        f"{len(program.commands)} commands")

    design_dir = Path(out_dir) / preset_name
    if verilog is None:
        verilog, top, generate_seconds = core_verilog(config, design_dir)
    else:
        top, generate_seconds = "dstc_core", 0.0
    build_dir = design_dir / (simulator + ("-waves" if waves else "") +
                              (cxx_opt if simulator == "verilator" else ""))
    build_dir.mkdir(parents=True, exist_ok=True)
    log = build_dir / "cocotb.log"
    with tempfile.TemporaryDirectory() as scratch:
        job, result_path = Path(scratch) / "job.pkl", Path(scratch) / "result.pkl"
        progress = Path(scratch) / "progress"
        with open(job, "wb") as job_file:
            pickle.dump({"config": config, "commands": program.commands}, job_file)
        started = time.monotonic()
        say(f"  building and running on {simulator} (log: {log})")

        def simulate():
            return run_cocotb(verilog_path=verilog, toplevel=top,
                              test_module="dstc.gen.cocotb_gemm", test_dir=None,
                              simulator=simulator, build_dir=build_dir, waves=waves,
                              cxx_opt=cxx_opt, log=log,
                              extra_env={"DSTC_JOB": str(job), "DSTC_RESULT": str(result_path),
                                         "DSTC_PROGRESS": str(progress)})

        if quiet:
            simulate()
        else:
            run_with_progress(simulate, progress, f"{m}x{n}x{k}")
        total_seconds = time.monotonic() - started
        with open(result_path, "rb") as result_file:
            result = pickle.load(result_file)
    run = result["run"]

    d = program.assemble(run.responses)
    expected = spgemm(a, b, config).d
    matches = np.array_equal(arith.to_bits(d, config.accum), arith.to_bits(expected, config.accum))
    model_cycles = sparse_gemm_cycles(program)
    dense_cycles = dense_gemm_cycles((m, n, k), config)
    useful = run.counters["useful_macs"]
    figures = {
        "preset": preset_name, "simulator": simulator, "seed": seed, "m": m, "n": n, "k": k,
        "density_a": density_a, "density_b": density_b, "ok": matches and
        run.cycles == model_cycles and run.errors == 0,
        "values_match": matches, "cycles": run.cycles, "model_cycles": model_cycles,
        "dense_cycles": dense_cycles, "speedup": dense_cycles / max(run.cycles, 1),
        "ideal_speedup": 1 / (density_a * density_b) if density_a * density_b else float("inf"),
        "utilisation": useful / max(run.cycles * config.macs, 1),
        "slot_utilisation": useful / max(run.counters["mac_slots"], 1),
        "tiles_issued": program.tiles_issued, "tiles_skipped": program.tiles_skipped,
        "errors": run.errors, "counters": run.counters, "sim_seconds": result["seconds"],
        "build_and_run_seconds": total_seconds, "generate_seconds": generate_seconds,
        "waves": str(build_dir / ("dump.fst" if simulator == "verilator" else f"{top}.fst"))
        if waves else None,
    }
    say()
    say(f"  result        {m * n} values {'match' if matches else 'DO NOT match'} the golden "
        f"model (bit-exact)")
    say(f"  cycles        {run.cycles} measured; cycle model {model_cycles} "
        f"({'equal' if run.cycles == model_cycles else 'DIFFERENT'})")
    say(f"  dense mode    {dense_cycles} cycles for the same GEMM (cycle model, every tile at "
        f"{config.macs} MACs/cycle)")
    say(f"  speedup       {figures['speedup']:.2f}x over dense; ideal 1/(dA*dB) = "
        f"{figures['ideal_speedup']:.2f}x")
    say(f"  utilisation   {100 * figures['utilisation']:.1f}% of multiplier-cycles did useful "
        f"MACs ({useful} useful MACs; {100 * figures['slot_utilisation']:.1f}% of issued "
        f"slots)")
    if run.errors:
        say(f"  errors        {run.errors:#x} (see docs/isa.md)")
    say(f"  time          {result['seconds']:.2f} s simulating "
        f"({run.cycles / max(result['seconds'], 1e-9):.0f} cycles/s), "
        f"{total_seconds:.1f} s with the build, {generate_seconds:.1f} s generating")
    if waves:
        say(f"  waves         {figures['waves']}")
    return figures
