"""``dstc bench`` (``make bench``): generation time and simulation speed, side by side.

Everything is measured in one run on this machine, so the ratios between the rows are
meaningful even when the absolute times drift with the machine's load. Results go to
``bench.json`` and ``bench.md`` in the output folder.
"""

import json
import platform
import time
from pathlib import Path

from ..hw.core import DstcCore
from ..sim.config import PRESETS, preset
from .gemm_sim import run_gemm
from .verilog import to_verilog

__all__ = ["run_bench"]

#: The simulation workload: a 64 x 64 x 256 SpGEMM at density 0.5 on both sides of the
#: default preset: 64 SpWMMA tiles (16 per output tile) and 4 drains.
WORKLOAD = {"m": 64, "n": 64, "k": 256, "density_a": 0.5, "density_b": 0.5, "seed": 2021}
TILE_GOAL_MS = 50.0


def _generation(name):
    config = preset(name)
    started = time.monotonic()
    text = to_verilog(DstcCore(config), "dstc_core")
    return {"preset": name, "seconds": time.monotonic() - started,
            "lines": text.count("\n"), "bytes": len(text.encode())}


def run_bench(out_dir=Path("build/bench"), simulators=("verilator", "icarus"), say=print):
    """Measure and write the report; returns the results dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    say("Verilog generation of dstc_core (no cache)")
    generation = []
    for name in PRESETS:
        row = _generation(name)
        generation.append(row)
        say(f"  {name:<11} {row['seconds']:6.1f} s  {row['lines']:>7} lines")

    say(f"Simulation of the default preset: {WORKLOAD['m']}x{WORKLOAD['n']}x{WORKLOAD['k']} "
        f"SpGEMM at density {WORKLOAD['density_a']} x {WORKLOAD['density_b']}")
    config = preset("default")
    verilog = out_dir / "default" / "dstc_core.v"
    verilog.parent.mkdir(parents=True, exist_ok=True)
    verilog.write_text(to_verilog(DstcCore(config), "dstc_core"))
    runs = []
    variants = [("verilator", "-O2"), ("verilator", "-O1"), ("icarus", None)]
    for simulator, cxx_opt in variants:
        if simulator not in simulators:
            continue
        figures = run_gemm(config, "default", WORKLOAD["m"], WORKLOAD["n"], WORKLOAD["k"],
                           WORKLOAD["density_a"], WORKLOAD["density_b"], simulator=simulator,
                           seed=WORKLOAD["seed"], out_dir=out_dir / "sim", quiet=True,
                           cxx_opt=cxx_opt or "-O1", verilog=verilog)
        tiles = figures["tiles_issued"]
        row = {"simulator": simulator, "cxx_opt": cxx_opt, "ok": figures["ok"],
               "cycles": figures["cycles"], "tiles": tiles,
               "sim_seconds": figures["sim_seconds"],
               "cycles_per_second": figures["cycles"] / figures["sim_seconds"],
               "tiles_per_second": tiles / figures["sim_seconds"],
               "ms_per_tile": 1000 * figures["sim_seconds"] / tiles,
               "build_and_run_seconds": figures["build_and_run_seconds"]}
        runs.append(row)
        label = simulator + (f" {cxx_opt}" if cxx_opt else "")
        say(f"  {label:<14} {row['cycles_per_second']:8.0f} cycles/s "
            f"{row['tiles_per_second']:7.2f} tiles/s {row['ms_per_tile']:8.1f} ms/tile "
            f"(build + run {row['build_and_run_seconds']:.0f} s){'' if row['ok'] else ' FAILED'}")
    results = {"machine": {"python": platform.python_version(), "cpu": platform.processor(),
                           "system": platform.platform()},
               "workload": WORKLOAD, "tile_goal_ms": TILE_GOAL_MS,
               "generation": generation, "simulation": runs}
    (out_dir / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "bench.md").write_text(_markdown(results))
    say(f"wrote {out_dir / 'bench.json'} and {out_dir / 'bench.md'}")
    return results


def _markdown(results):
    lines = ["# dstc bench", "",
             f"Machine: {results['machine']['system']}, Python {results['machine']['python']}.",
             "", "## Verilog generation of `dstc_core`", "",
             "| preset | seconds | lines | bytes |", "|---|---|---|---|"]
    lines += [f"| {r['preset']} | {r['seconds']:.1f} | {r['lines']} | {r['bytes']} |"
              for r in results["generation"]]
    w = results["workload"]
    lines += ["", f"## Simulation: default preset, {w['m']}x{w['n']}x{w['k']} SpGEMM at density "
              f"{w['density_a']} x {w['density_b']} (seed {w['seed']})", "",
              "| simulator | C++ opt | cycles | tiles | cycles/s | tiles/s | ms/tile | "
              "build + run (s) | checked |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results["simulation"]:
        lines.append(f"| {r['simulator']} | {r['cxx_opt'] or '-'} | {r['cycles']} | {r['tiles']} "
                     f"| {r['cycles_per_second']:.0f} | {r['tiles_per_second']:.2f} "
                     f"| {r['ms_per_tile']:.1f} | {r['build_and_run_seconds']:.0f} "
                     f"| {'yes' if r['ok'] else 'FAILED'} |")
    lines += ["", f"Goal: a default-preset tile in under {results['tile_goal_ms']:.0f} ms of "
              "wall time on Verilator. A tile's time includes its share of the drains "
              "(32 rows per output tile) and of cocotb's per-cycle handshaking.", ""]
    return "\n".join(lines)
