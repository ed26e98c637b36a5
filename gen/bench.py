"""``dstc bench`` (``make bench``): generation time and simulation speed, side by side.

Everything is measured in one run on this machine, so the ratios between the rows are
meaningful even when the absolute times drift with the machine's load. Results go to
``bench.json`` and ``bench.md`` in the output folder.
"""

import json
import logging
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..hw.core import DstcCore
from ..sim.config import PRESETS, preset
from .codec import codec, random_value
from .gemm_sim import GemmRequest, run_gemm
from .markdown import table
from .options import add_output_option, check_output_folder
from .sweep import DEFAULT_SHAPE, bench_sweep
from .verilog import to_verilog, write_atomic, write_if_changed

__all__ = ["BenchResults", "run_bench", "SPEED_WORKLOAD", "measure_sim_speed", "HELP",
           "DESCRIPTION", "add_arguments", "command"]

log = logging.getLogger("dstc")

#: The simulation workload: a 64 x 64 x 256 SpGEMM at density 0.5 on both sides of the
#: default preset: 64 SpWMMA tiles (16 per output tile) and 4 drains.
WORKLOAD = {"m": 64, "n": 64, "k": 256, "density_a": 0.5, "density_b": 0.5, "seed": 2021}
TILE_GOAL_MS = 50.0
#: The workload of the simulation-speed table (``dstc bench --speed-table``), which
#: ``dstc.gen.estimate`` predicts run times from: a 64 x 64 x 128 SpGEMM at density 0.5.
SPEED_WORKLOAD = {"m": 64, "n": 64, "k": 128, "density_a": 0.5, "density_b": 0.5, "seed": 2021}
#: Goals of the exact density sweep (issue 11): the default 8-point grid at 4096^3, end to end
#: with its tables and figures, in under this many seconds and MiB of peak memory.
SWEEP_GOAL = {"seconds": 10.0, "peak_mib": 4096.0}


@dataclass(frozen=True)
class BenchResults:
    """What :func:`run_bench` measured: ``document`` (the content of ``bench.json``:
    ``machine``, ``workload``, ``tile_goal_ms``, ``generation`` and ``simulation`` rows) and
    the two report files."""
    document: dict
    json_path: Path
    md_path: Path

    @property
    def ok(self):
        """Whether every simulation passed its checks."""
        return all(row["ok"] for row in self.document["simulation"])


def _generation(name):
    config = preset(name)
    started = time.monotonic()
    text = to_verilog(DstcCore(config), "dstc_core")
    return {"preset": name, "seconds": time.monotonic() - started,
            "lines": text.count("\n"), "bytes": len(text.encode())}


def codec_speed(beats=300, repeats=3, seed=2021):
    """Beats per second that the one codec (:mod:`dstc.gen.codec`) and Amaranth's
    ``Layout.const(...).as_bits()`` pack, side by side, on ``beats`` random beats of the
    default preset's command layout (every body kind), best of ``repeats``; returns
    ``{"beats": ..., "codec_beats_per_second": ..., "layout_const_beats_per_second": ...}``."""
    import numpy as np

    from ..hw.isa import command_layout

    layout = command_layout(preset("default"))
    coder, rng = codec(layout), np.random.default_rng(seed)
    values = [random_value(rng, layout) for _ in range(beats)]

    def rate(pack):
        best = 0.0
        for _ in range(repeats):
            started = time.perf_counter()
            for value in values:
                pack(value)
            best = max(best, beats / (time.perf_counter() - started))
        return best

    return {"beats": beats, "codec_beats_per_second": rate(coder.pack),
            "layout_const_beats_per_second": rate(lambda value: layout.const(value).as_bits())}


def run_bench(out_dir=Path("build/bench"), simulators=("verilator", "icarus")):
    """Measure the Verilog generation of every preset and the simulation speed of
    :data:`WORKLOAD` on each of ``simulators``, and write ``bench.json`` and ``bench.md`` into
    ``out_dir``; returns :class:`BenchResults`. Raises
    :class:`~dstc.gen.cocotb_run.SimulationError` when a simulator fails."""
    out_dir = check_output_folder(out_dir, "out_dir")
    log.info("Verilog generation of dstc_core (no cache)")
    generation = []
    for name in PRESETS:
        row = _generation(name)
        generation.append(row)
        log.info(f"  {name:<11} {row['seconds']:6.1f} s  {row['lines']:>7} lines")

    codec_rates = codec_speed()
    log.info(f"Command codec: {codec_rates['codec_beats_per_second']:.0f} beats/s, "
             f"Layout.const {codec_rates['layout_const_beats_per_second']:.0f} beats/s")
    log.info("Exact density sweep (dstc sweep), default preset, 8 points at %dx%dx%d",
             *DEFAULT_SHAPE)
    sweep = bench_sweep(out_dir=out_dir / "sweep")
    log.info(f"  {sweep['seconds']:6.1f} s, peak {sweep['peak_mib']:.0f} MiB")

    log.info(f"Simulation of the default preset: {WORKLOAD['m']}x{WORKLOAD['n']}x{WORKLOAD['k']} "
        f"SpGEMM at density {WORKLOAD['density_a']} x {WORKLOAD['density_b']}")
    config = preset("default")
    verilog = out_dir / "default" / "dstc_core.v"
    write_if_changed(verilog, to_verilog(DstcCore(config), "dstc_core"))
    runs = []
    variants = [("verilator", "-O2"), ("verilator", "-O1"), ("icarus", None)]
    for simulator, cxx_opt in variants:
        if simulator not in simulators:
            continue
        figures = run_gemm(GemmRequest(config, "default", **WORKLOAD, simulator=simulator,
                                       out_dir=out_dir / "sim", cxx_opt=cxx_opt or "-O1",
                                       verilog=verilog))
        tiles = figures.tiles_issued
        row = {"simulator": simulator, "cxx_opt": cxx_opt, "ok": figures.ok,
               "cycles": figures.cycles, "tiles": tiles,
               "sim_seconds": figures.sim_seconds,
               "cycles_per_second": figures.cycles / figures.sim_seconds,
               "tiles_per_second": tiles / figures.sim_seconds,
               "ms_per_tile": 1000 * figures.sim_seconds / tiles,
               "build_and_run_seconds": figures.build_and_run_seconds}
        runs.append(row)
        label = simulator + (f" {cxx_opt}" if cxx_opt else "")
        log.info(f"  {label:<14} {row['cycles_per_second']:8.0f} cycles/s "
            f"{row['tiles_per_second']:7.2f} tiles/s {row['ms_per_tile']:8.1f} ms/tile "
            f"(build + run {row['build_and_run_seconds']:.0f} s){'' if row['ok'] else ' FAILED'}")
    results = {"machine": {"python": platform.python_version(), "cpu": platform.processor(),
                           "system": platform.platform()},
               "workload": WORKLOAD, "tile_goal_ms": TILE_GOAL_MS,
               "generation": generation, "sweep": {**sweep, "goal": SWEEP_GOAL},
               "codec": codec_rates,
               "simulation": runs}
    json_path, md_path = out_dir / "bench.json", out_dir / "bench.md"
    write_atomic(json_path, json.dumps(results, indent=2) + "\n")
    write_atomic(md_path, _markdown(results))
    log.info(f"wrote {json_path} and {md_path}")
    return BenchResults(results, json_path, md_path)


def measure_sim_speed(presets, simulators, out_dir):
    """Simulate :data:`SPEED_WORKLOAD` on each of ``presets`` (names) with each of
    ``simulators`` as ``dstc sim`` does (Verilator at -O2), and write ``sim_speed.json``
    (``{"command", "workload", "sim_speed": {simulator: {preset: cycles per second}}}``, the
    table of :mod:`dstc.gen.sim_speed`) into ``out_dir``. Returns ``(table, all checked)``.
    Raises :class:`~dstc.gen.cocotb_run.SimulationError` when a simulator fails."""
    out_dir = Path(out_dir)
    table, ok = {}, True
    for simulator in simulators:
        for name in presets:
            figures = run_gemm(GemmRequest(preset(name), name, **SPEED_WORKLOAD,
                                           simulator=simulator, out_dir=out_dir / "speed",
                                           force=True))
            rate = figures.cycles / figures.sim_seconds
            table.setdefault(simulator, {})[name] = round(rate, 1)
            ok = ok and figures.ok
            log.info(f"  {simulator:<10} {name:<11} {rate:8.0f} cycles/s"
                     f"{'' if figures.ok else ' FAILED'}")
    document = {"command": "dstc bench --speed-table --presets " + " ".join(presets)
                + " --simulators " + " ".join(simulators),
                "workload": SPEED_WORKLOAD, "sim_speed": table}
    path = out_dir / "sim_speed.json"
    write_atomic(path, json.dumps(document, indent=2) + "\n")
    log.info(f"wrote {path}")
    return table, ok


def _markdown(results):
    """The Markdown report (``bench.md``) of the ``bench.json`` document ``results``."""
    w = results["workload"]
    generation = table(["preset", "seconds", "lines", "bytes"],
                       [[r["preset"], f"{r['seconds']:.1f}", r["lines"], r["bytes"]]
                        for r in results["generation"]], align="llll")
    simulation = table(
        ["simulator", "C++ opt", "cycles", "tiles", "cycles/s", "tiles/s", "ms/tile",
         "build + run (s)", "checked"],
        [[r["simulator"], r["cxx_opt"] or "-", r["cycles"], r["tiles"],
          f"{r['cycles_per_second']:.0f}", f"{r['tiles_per_second']:.2f}",
          f"{r['ms_per_tile']:.1f}", f"{r['build_and_run_seconds']:.0f}",
          "yes" if r["ok"] else "FAILED"] for r in results["simulation"]], align="l" * 9)
    sweep = results["sweep"]
    sweep_table = table(["seconds", "peak memory (MiB)", "goal"],
                        [[f"{sweep['seconds']:.1f}", f"{sweep['peak_mib']:.0f}",
                          f"< {sweep['goal']['seconds']:.0f} s, < {sweep['goal']['peak_mib']:.0f}"
                          f" MiB"]], align="lll")
    rates = results["codec"]
    ours, amaranth = rates["codec_beats_per_second"], rates["layout_const_beats_per_second"]
    codec_table = table(["packer", "beats/s", "ratio"],
                        [["dstc.gen.codec", f"{ours:.0f}", f"{ours / amaranth:.1f}x"],
                         ["Layout.const().as_bits()",
                          f"{rates['layout_const_beats_per_second']:.0f}", "1.0x"]],
                        align="lll")
    return (f"# dstc bench\n\nMachine: {results['machine']['system']}, Python "
            f"{results['machine']['python']}.\n\n## Verilog generation of `dstc_core`\n\n"
            f"{generation}\n## Exact density sweep: `dstc sweep --preset default` (8 points, "
            f"{'x'.join(map(str, DEFAULT_SHAPE))}, tables and figures, a fresh process)\n\n"
            f"{sweep_table}\n## Command codec: beats packed per second, default preset\n\n"
            f"{codec_table}\n## Simulation: default preset, {w['m']}x{w['n']}x{w['k']} SpGEMM "
            f"at density {w['density_a']} x {w['density_b']} (seed {w['seed']})\n\n"
            f"{simulation}\nGoal: a default-preset tile in under "
            f"{results['tile_goal_ms']:.0f} ms of wall time on Verilator. A tile's time "
            f"includes its share of the drains (32 rows per output tile) and of cocotb's "
            f"per-cycle handshaking.\n")


HELP = "measure generation time and simulation speed"
DESCRIPTION = ("Measure the Verilog generation time of every preset, the time and memory of "
               "the exact 4096^3 density sweep, and the simulation speed of the default preset "
               "(cycles/s, tiles/s, ms per tile) on each simulator, in one run; write "
               "bench.json and bench.md.")


def add_arguments(parser):
    """Add the options of ``dstc bench`` to ``parser``."""
    parser.add_argument("--simulators", nargs="+", choices=("verilator", "icarus"),
                        default=["verilator", "icarus"], help="simulators to measure")
    parser.add_argument("--speed-table", action="store_true",
                        help="only measure the simulation speed of --presets (the table that "
                             "dstc sim's run-time estimate uses), into sim_speed.json")
    parser.add_argument("--presets", nargs="+", choices=list(PRESETS),
                        default=["small", "small-fp16"],
                        help="presets of --speed-table (default: small small-fp16)")
    add_output_option(parser, "build/bench")


def command(args):
    """Run ``dstc bench`` from parsed arguments; returns the exit code (0: every simulation
    checked, 1: one failed). Raises :class:`~dstc.gen.options.UsageError` for an output
    folder that cannot be written (before measuring anything)."""
    out_dir = check_output_folder(args.output)
    if args.speed_table:
        return 0 if measure_sim_speed(args.presets, args.simulators, out_dir)[1] else 1
    try:
        return 0 if run_bench(out_dir=out_dir, simulators=args.simulators).ok else 1
    except RuntimeError as error:   # the sweep's process or a simulator failed
        print(f"dstc bench: {error}", file=sys.stderr)
        return 1
