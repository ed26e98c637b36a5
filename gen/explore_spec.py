"""The grid of ``dstc explore``: the spec (what to explore), its checks, and its designs.

A grid is every preset, crossed with every listed design (a set of configuration fields),
crossed with every combination of the axes (a configuration field and its values), plus per
preset the banked references of the cycle model. :func:`load_spec` reads a spec from TOML or
JSON, :func:`expand` turns it into :class:`Design` records. docs/explore.md describes the keys.
"""

import dataclasses
import itertools
import json
import math
import tomllib
from pathlib import Path

from ..sim.banked import BankedStallCost
from ..sim.config import ConfigError, DstcConfig, preset
from .options import UsageError

__all__ = ["DEFAULT_POINTS", "DEFAULT_SHAPE", "OPERAND_KINDS", "ACCUMULATOR_FIELDS",
           "SPARSE_ONLY_FIELDS", "REFERENCE_FIELDS",
           "ExploreSpec", "Design", "check_spec", "load_spec", "expand", "dense_config",
           "tiling"]

#: The density grid of every exploration: the paper's A in {1, .9, .7, .5, .3} x B in
#: {1, .4}, plus (.1, .1) and (.05, .3).
DEFAULT_POINTS = tuple((a, b) for b in (1.0, 0.4) for a in (1.0, 0.9, 0.7, 0.5, 0.3)) + (
    (0.1, 0.1), (0.05, 0.3))
#: (M, N, K) of the default sweeps (the fast model does a point in about half a second).
DEFAULT_SHAPE = (4096, 4096, 4096)
#: Operand kinds: uniform random bitmaps, and A pruned bank-balanced from random weights.
OPERAND_KINDS = ("uniform", "balanced")
#: Configuration fields of the accumulator variants.
ACCUMULATOR_FIELDS = ("lane_placement", "row_classes", "col_classes")
#: Configuration fields the dense baseline does not depend on: designs that differ only in
#: these share one dense baseline (the preset's own values of them). The accumulator variant,
#: ``kstep_bitmaps``: the baseline (``hw/dense_core.py``) has no SPWMMA or KSTEP, its beats
#: and cycles are the same whatever the sparse core's k-step bitmaps; and
#: ``accumulate_stages``: the pipeline depth of the sparse accumulator's gather | add |
#: scatter, whereas the baseline's accumulator has its own fixed pipeline
#: (``dense_pipeline_latency``, a multiply-add per stage of its dot-product units).
SPARSE_ONLY_FIELDS = ACCUMULATOR_FIELDS + ("kstep_bitmaps", "accumulate_stages")
#: Configuration fields that the crossbar reference of the cycle ratios has at their
#: defaults (:func:`tiling`): the sparse-only fields (``accumulate_stages`` 1 included) and
#: ``tile_buffers`` (which the dense baseline does follow), so that a design's cycle ratio
#: compares it with today's core.
REFERENCE_FIELDS = SPARSE_ONLY_FIELDS + ("tile_buffers",)

_SPEC_KEYS = {"presets", "designs", "axes", "banked", "shape", "points", "operands", "seed",
              "synthesis", "timing", "cmos", "clock_ns", "jobs", "simulation", "fpga"}


# -- the spec -----------------------------------------------------------------------------------


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
    #: build each sparse core on Verilator from scratch and simulate
    #: :data:`~dstc.gen.explore_jobs.SIMULATION_WORKLOAD` on it (build time, ms per tile)
    simulation: bool = False
    #: synthesize each sparse core and its dense baseline for the ECP5-85F (LUTs; meant for
    #: the small presets: a 32 x 32-tile core takes tens of minutes and up to 19 GB)
    fpga: bool = False


def _fail(message):
    raise UsageError(message)


def check_spec(spec):
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
    for name in ("synthesis", "timing", "cmos", "simulation", "fpga"):
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
        return check_spec(ExploreSpec(**values))
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
    spec = check_spec(spec)
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
                designs.append(Design(label, preset_name, (), tiling(base), banks=banks))
            except ValueError as error:
                designs.append(Design(label, preset_name, (), None,
                                      f"invalid banked design: {error}", banks=banks))
    return tuple(designs)


def tiling(config):
    """``config`` with the fields of :data:`REFERENCE_FIELDS` at their defaults (the
    crossbar with SPWMMA headers and one tile buffer, today's core): the configuration that
    draws a point's operands and times the crossbar reference, so that designs differing
    only in those fields (``kstep_bitmaps`` and ``tile_buffers`` included) are timed on the
    same operands and compared with the same reference."""
    defaults = {field.name: field.default for field in dataclasses.fields(DstcConfig)
                if field.name in REFERENCE_FIELDS}
    return config.replace(**defaults) if defaults else config
