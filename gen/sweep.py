"""``dstc sweep``: exact cycles of a GEMM over a grid of operand densities, in seconds.

Each point draws uniform random bitmaps for A (``M x K``) and B (``K x N``) at its densities
from a seeded generator and computes, from the bitmaps alone (``dstc.sim.gemm_cycles``):
the sparse core's cycles (equal to the command-level model), the same GEMM in dense mode and
on the iso-MAC dense baseline, and on an NVIDIA-style 2:4 structured-sparse core. It writes
``sweep.csv``, ``sweep.json`` and two figures (``sweep_latency.png``, ``sweep_speedup.png``)
into the output folder. docs/workloads.md describes the columns and the models.

Python use: :func:`run_sweep` (pure: no printing, returns a :class:`SweepResult`); command
line: ``dstc sweep`` (:func:`add_arguments` and :func:`command`).
"""

import argparse
import dataclasses
import logging
import math
import numbers
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..sim.config import DstcConfig
from ..sim.gemm_cycles import (
    dense_baseline_cycles,
    dense_mode_cycles,
    gemm_cycles,
    speedup,
    structured_24_cycles,
    utilisation,
)
from .estimate import TooExpensive, check_memory, sweep_memory_bytes
from .options import (
    UsageError,
    add_config_options,
    add_figures_option,
    add_output_option,
    check_output_folder,
    config_from,
    config_name,
    density_list,
    positive_int,
    seed_type,
)
from .tables import json_record, write_csv_json
from .tools import measure_dstc

__all__ = ["DEFAULT_DENSITIES_A", "DEFAULT_DENSITIES_B", "DEFAULT_SHAPE", "SweepRow",
           "SweepResult", "grid_points", "random_bitmap", "operand_bytes", "run_sweep",
           "write_tables", "write_figures", "format_table", "HELP", "DESCRIPTION",
           "add_arguments", "command", "bench_sweep"]

log = logging.getLogger("dstc")

#: The paper's density grid (Fig. 21): A (weights) x B (activations).
DEFAULT_DENSITIES_A = (0.9, 0.7, 0.5, 0.3)
DEFAULT_DENSITIES_B = (1.0, 0.4)
#: (M, N, K) of the default sweep.
DEFAULT_SHAPE = (4096, 4096, 4096)

# Random numbers drawn per block while making a bitmap (float32: 4 bytes each).
_RANDOM_BLOCK = 1 << 22


@dataclasses.dataclass(frozen=True)
class SweepRow:
    """One density point. Cycles are whole-GEMM cycles; ratios are plain floats."""

    density_a: float               #: requested density of A
    density_b: float               #: requested density of B
    actual_density_a: float        #: nonzeros / size of the A drawn
    actual_density_b: float
    cycles: int                    #: the sparse core (exact cycle model)
    dense_mode_cycles: int         #: the same core in dense mode (every tile, every k)
    dense_baseline_cycles: int     #: the iso-MAC Volta-style dense core
    structured_24_cycles: int      #: an NVIDIA-style 2:4 sparse core (A 2:4, B dense)
    normalised_latency: float      #: cycles / dense_mode_cycles
    speedup: float                 #: dense_mode_cycles / cycles
    speedup_vs_baseline: float     #: dense_baseline_cycles / cycles
    ideal_speedup: float           #: 1 / (density_a * density_b) (inf at 0)
    speedup_24: float              #: dense_baseline_cycles / structured_24_cycles
    utilisation: float             #: useful MACs / (cycles * macs)
    useful_macs: int               #: products of two nonzeros
    ohmma: int                     #: OHMMA issued
    tiles_issued: int              #: SpWMMA tiles issued
    tiles_skipped: int             #: tile pairs skipped by the coarse bitmaps
    seconds: float                 #: time to draw the bitmaps and compute the point
    bitmap_bytes: int | None = None        #: A and B in the bitmap format (with --bandwidth)
    dense_bytes: int | None = None         #: A and B dense
    memory_cycles: float | None = None     #: bitmap_bytes / bandwidth
    dense_memory_cycles: float | None = None  #: dense_bytes / bandwidth
    memory_bound: bool | None = None       #: memory_cycles > cycles


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` computed and wrote."""

    config: DstcConfig
    label: str                     #: preset name or configuration file stem
    shape: tuple                   #: (M, N, K)
    seed: int
    bandwidth: float | None        #: bytes per cycle of the operand roofline, if asked
    rows: tuple                    #: :class:`SweepRow` per point, in the order given
    paths: tuple                   #: files written (CSV, JSON, figures)
    seconds: float                 #: wall time of the whole sweep


def random_bitmap(rng, shape, density):
    """A bool ``shape`` array with each element set with probability ``density``, drawn in
    blocks of float32 so that memory stays near the bitmap's own size (1 byte/element)."""
    rows, cols = shape
    out = np.empty(shape, dtype=bool)
    step = max(1, _RANDOM_BLOCK // max(1, cols))
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        out[start:stop] = rng.random((stop - start, cols), dtype=np.float32) < density
    return out


def operand_bytes(bitmap, role, config):
    """Bytes of an operand moved in the two-level bitmap format and dense.

    Bitmap format (docs/format.md): one coarse bit per tile, the element bitmaps of every
    non-empty tile (``k_chunk x tile_m`` bits for A, ``k_chunk x tile_n`` for B) and the
    nonzero values at the operand width. Dense: every element at the operand width. Returns
    ``(bitmap_bytes, dense_bytes)``, each rounded up to whole bytes.
    """
    rows, cols = (config.tile_m, config.k_chunk) if role == "A" else (config.k_chunk,
                                                                       config.tile_n)
    height, width = bitmap.shape
    grid = (-(-height // rows), -(-width // cols))
    padded = np.zeros((grid[0] * rows, grid[1] * cols), dtype=bool)
    padded[:height, :width] = bitmap
    stored = int(padded.reshape(grid[0], rows, grid[1], cols).any(axis=(1, 3)).sum())
    value_bits = config.operand.width
    bits = grid[0] * grid[1] + stored * rows * cols + int(bitmap.sum()) * value_bits
    return -(-bits // 8), -(-height * width * value_bits // 8)


def _check_density(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value!r}: a density must be a number between 0 and 1")
    return float(value)


def _point(config, shape, density_a, density_b, rng, bandwidth, dense_mode, baseline, s24):
    started = time.monotonic()
    m, n, k = shape
    a_bits = random_bitmap(rng, (m, k), density_a)
    b_bits = random_bitmap(rng, (k, n), density_b)
    fast = gemm_cycles(a_bits, b_bits, config)
    extra = {}
    if bandwidth is not None:
        a_bytes, a_dense = operand_bytes(a_bits, "A", config)
        b_bytes, b_dense = operand_bytes(b_bits, "B", config)
        memory = (a_bytes + b_bytes) / bandwidth
        extra = {"bitmap_bytes": a_bytes + b_bytes, "dense_bytes": a_dense + b_dense,
                 "memory_cycles": memory, "dense_memory_cycles": (a_dense + b_dense) / bandwidth,
                 "memory_bound": memory > fast.cycles}
    product = density_a * density_b
    # A program that issues nothing may take 0 cycles (see tb/test_gemm_cycles.py).
    return SweepRow(
        density_a=density_a, density_b=density_b,
        actual_density_a=float(a_bits.mean()), actual_density_b=float(b_bits.mean()),
        cycles=fast.cycles, dense_mode_cycles=dense_mode, dense_baseline_cycles=baseline,
        structured_24_cycles=s24, normalised_latency=fast.cycles / dense_mode,
        speedup=speedup(dense_mode, fast.cycles),
        speedup_vs_baseline=speedup(baseline, fast.cycles),
        ideal_speedup=1 / product if product else math.inf, speedup_24=baseline / s24,
        utilisation=utilisation(fast.useful_macs, fast.cycles, config.macs),
        useful_macs=fast.useful_macs, ohmma=fast.ohmma, tiles_issued=fast.tiles_issued,
        tiles_skipped=fast.tiles_skipped, seconds=time.monotonic() - started, **extra)


def grid_points(densities_a=DEFAULT_DENSITIES_A, densities_b=DEFAULT_DENSITIES_B):
    """The points of a density grid, A in the outer loop."""
    return tuple((a, b) for a in densities_a for b in densities_b)


def run_sweep(config, shape=DEFAULT_SHAPE, points=None, seed=0, out_dir=None, label="custom",
              bandwidth=None, figures=True, progress=False):
    """Compute the sweep and write its table (and figures) into ``out_dir`` (nothing is
    written when ``out_dir`` is None).

    ``shape``: (M, N, K) positive integers; ``points``: (density_a, density_b) pairs in
    [0, 1] (default: :func:`grid_points` of the paper's grid); ``seed``: a non-negative
    integer, point ``p`` draws from ``SeedSequence(seed).spawn`` child ``p`` (A first, then
    B), so a point's operands do not depend on the other points; ``bandwidth``: bytes per
    cycle for the operand-traffic roofline columns (None: no roofline); ``progress``: show a
    tqdm bar on stderr. Returns a :class:`SweepResult`. Raises ``ValueError`` naming the
    argument for bad sizes, densities, seed or bandwidth or an ``out_dir`` that cannot be made
    a writable folder (before computing anything), and
    :class:`~dstc.sim.config.ConfigError` for a configuration the dense baseline cannot be
    built for.
    """
    started = time.monotonic()
    if len(shape) != 3:
        raise ValueError(f"shape={shape!r}: must be (M, N, K)")
    for name, value in zip("mnk", shape, strict=True):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r}: must be a positive integer")
    shape = tuple(int(value) for value in shape)
    points = grid_points() if points is None else tuple(points)
    if not points:
        raise ValueError("points: at least one (density_a, density_b) point is needed")
    points = tuple((_check_density(a, "density_a"), _check_density(b, "density_b"))
                   for a, b in points)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: must be a non-negative integer")
    if bandwidth is not None and not (isinstance(bandwidth, numbers.Real)
                                      and math.isfinite(bandwidth) and bandwidth > 0):
        raise ValueError(f"bandwidth={bandwidth!r}: must be a positive number of bytes per "
                         f"cycle")
    if out_dir is not None:
        out_dir = check_output_folder(out_dir, "out_dir")
    dense_mode = dense_mode_cycles(shape, config)
    baseline = dense_baseline_cycles(shape, config)
    s24 = structured_24_cycles(shape, config)
    children = np.random.SeedSequence(int(seed)).spawn(len(points))
    iterator = zip(points, children, strict=True)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(points), unit="point", desc=f"sweep {shape[0]}x{shape[1]}x{shape[2]}",
                   file=sys.stderr, leave=False)
    rows = []
    try:
        for (density_a, density_b), child in iterator:
            rows.append(_point(config, shape, density_a, density_b,
                               np.random.default_rng(child), bandwidth, dense_mode, baseline,
                               s24))
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    paths = ()
    result = SweepResult(config=config, label=label, shape=shape, seed=int(seed),
                         bandwidth=bandwidth, rows=tuple(rows), paths=(), seconds=0.0)
    if out_dir is not None:
        paths = write_tables(result, Path(out_dir))
        if figures:
            paths += write_figures(result, Path(out_dir))
    return dataclasses.replace(result, paths=paths, seconds=time.monotonic() - started)


# Columns of the written tables: every field but the run time, so that the same seed writes
# byte-identical files.
_COLUMNS = [field.name for field in dataclasses.fields(SweepRow) if field.name != "seconds"]


def write_tables(result, out_dir):
    """Write ``sweep.csv`` and ``sweep.json`` (each atomically); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = [name for name in _COLUMNS
               if result.bandwidth is not None or name not in _ROOFLINE_COLUMNS]
    document = {
        "label": result.label, "config": result.config.to_dict(),
        "shape": {"m": result.shape[0], "n": result.shape[1], "k": result.shape[2]},
        "seed": result.seed, "bandwidth_bytes_per_cycle": result.bandwidth,
        "rows": [json_record(row, columns) for row in result.rows],
    }
    return write_csv_json(out_dir / "sweep.csv", out_dir / "sweep.json", columns,
                          ([getattr(row, name) for name in columns] for row in result.rows),
                          document)


_ROOFLINE_COLUMNS = ("bitmap_bytes", "dense_bytes", "memory_cycles", "dense_memory_cycles",
                     "memory_bound")


def _point_label(row):
    return f"A {row.density_a:g}\nB {row.density_b:g}"


def write_figures(result, out_dir):
    """Write ``sweep_latency.png`` (normalised latency per point, with the ideal and the 2:4
    core) and ``sweep_speedup.png`` (speedup over dense mode as a heat map of the two
    densities); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = result.rows
    shape = "x".join(str(v) for v in result.shape)
    latency_path, speedup_path = out_dir / "sweep_latency.png", out_dir / "sweep_speedup.png"

    figure, axes = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) + 2), 4.2))
    x = np.arange(len(rows))
    width = 0.27
    dstc = [row.normalised_latency for row in rows]
    ideal = [row.density_a * row.density_b for row in rows]
    s24 = [row.structured_24_cycles / row.dense_mode_cycles for row in rows]
    axes.bar(x - width, dstc, width, label="DSTC (exact cycle model)", color="tab:blue")
    axes.bar(x, ideal, width, label="ideal dA x dB", color="tab:gray")
    axes.bar(x + width, s24, width, label="2:4 sparse core (A 2:4, B dense)", color="tab:orange")
    for xi, value in zip(x, dstc, strict=True):
        axes.text(xi - width, value + 0.01, f"{value:.2f}", ha="center", va="bottom", fontsize=7)
    axes.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    axes.set_xticks(x, [_point_label(row) for row in rows], fontsize=8)
    axes.set_ylabel("cycles / dense-mode cycles")
    axes.set_title(f"Normalised latency, {shape} GEMM, {result.label} "
                   f"({result.config.array_rows}x{result.config.array_cols} MACs)", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(latency_path, dpi=120)
    plt.close(figure)

    densities_a = sorted({row.density_a for row in rows}, reverse=True)
    densities_b = sorted({row.density_b for row in rows}, reverse=True)
    grid = np.full((len(densities_a), len(densities_b)), np.nan)
    for row in rows:
        grid[densities_a.index(row.density_a), densities_b.index(row.density_b)] = row.speedup
    figure, axes = plt.subplots(figsize=(2.2 + 1.3 * len(densities_b),
                                         1.5 + 0.6 * len(densities_a)))
    image = axes.imshow(grid, cmap="viridis", aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ideal_value = 1 / (densities_a[i] * densities_b[j]) if densities_a[i] * \
                densities_b[j] else math.inf
            axes.text(j, i, f"{value:.2f}x\n(ideal {ideal_value:.2f}x)", ha="center",
                      va="center", fontsize=8,
                      color="white" if value < np.nanmax(grid) * 0.6 else "black")
    axes.set_xticks(range(len(densities_b)), [f"{d:g}" for d in densities_b])
    axes.set_yticks(range(len(densities_a)), [f"{d:g}" for d in densities_a])
    axes.set_xlabel("density of B")
    axes.set_ylabel("density of A")
    axes.set_title(f"Speedup over dense mode, {shape}", fontsize=10)
    figure.colorbar(image, ax=axes, label="speedup")
    figure.tight_layout()
    figure.savefig(speedup_path, dpi=120)
    plt.close(figure)
    return (latency_path, speedup_path)


def format_table(result):
    """The sweep as a Markdown table (the one docs/workloads.md shows)."""
    lines = ["| A | B | cycles | dense mode | norm. latency | speedup | ideal | utilisation "
             "| 2:4 cycles | 2:4 speedup | DSTC vs 2:4 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in result.rows:
        lines.append(
            f"| {row.density_a:g} | {row.density_b:g} | {row.cycles:,} | "
            f"{row.dense_mode_cycles:,} | {row.normalised_latency:.3f} | {row.speedup:.2f}x | "
            f"{row.ideal_speedup:.2f}x | {100 * row.utilisation:.1f}% | "
            f"{row.structured_24_cycles:,} | {row.speedup_24:.2f}x | "
            f"{speedup(row.structured_24_cycles, row.cycles):.2f}x |")
    if result.bandwidth is not None:
        lines += ["", f"Operand traffic at {result.bandwidth:g} bytes/cycle:", "",
                  "| A | B | bitmap bytes | dense bytes | memory cycles (bitmap) | "
                  "memory cycles (dense) | memory-bound |", "|---|---|---|---|---|---|---|"]
        for row in result.rows:
            lines.append(f"| {row.density_a:g} | {row.density_b:g} | {row.bitmap_bytes:,} | "
                         f"{row.dense_bytes:,} | {row.memory_cycles:,.0f} | "
                         f"{row.dense_memory_cycles:,.0f} | "
                         f"{'yes' if row.memory_bound else 'no'} |")
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------------------



def _point_list(text):
    points = []
    for part in text.replace(",", " ").split():
        pieces = part.split(":")
        if len(pieces) != 2:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not DENSITY_A:DENSITY_B (e.g. 0.5:0.4)")
        pair = density_list(" ".join(pieces))
        points.append(pair)
    if not points:
        raise argparse.ArgumentTypeError("give at least one DENSITY_A:DENSITY_B")
    return tuple(points)



def _bandwidth(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive number of bytes per cycle")
    return value


HELP = "exact cycles of a GEMM over a grid of densities, in seconds"
DESCRIPTION = ("Compute, from random bitmaps alone, the exact cycles of an M x N x K SpGEMM "
               "at each point of a density grid (the same number the command-level model "
               "and the RTL give), beside dense mode, the iso-MAC dense baseline and a 2:4 "
               "structured-sparse core; write sweep.csv, sweep.json and two figures.")


def add_arguments(parser):
    """Add ``dstc sweep``'s options to ``parser`` (an argparse (sub)parser)."""
    add_config_options(parser)
    parser.add_argument("--m", type=positive_int, default=DEFAULT_SHAPE[0],
                        help="rows of A and D (default: %(default)s)")
    parser.add_argument("--n", type=positive_int, default=DEFAULT_SHAPE[1],
                        help="columns of B and D (default: %(default)s)")
    parser.add_argument("--k", type=positive_int, default=DEFAULT_SHAPE[2],
                        help="inner dimension (default: %(default)s)")
    parser.add_argument("--density-a", type=density_list,
                        default=DEFAULT_DENSITIES_A, metavar="D[,D...]",
                        help="densities of A for the grid (default: 0.9,0.7,0.5,0.3)")
    parser.add_argument("--density-b", type=density_list,
                        default=DEFAULT_DENSITIES_B, metavar="D[,D...]",
                        help="densities of B for the grid (default: 1,0.4)")
    parser.add_argument("--points", type=_point_list, metavar="DA:DB[,DA:DB...]",
                        help="a list of (A, B) density points instead of the grid")
    parser.add_argument("--seed", type=seed_type, default=None,
                        help="seed of the random bitmaps (default: random, printed)")
    parser.add_argument("--bandwidth", type=_bandwidth, default=None, metavar="BYTES",
                        help="add an operand-traffic roofline at BYTES per cycle")
    add_figures_option(parser)
    parser.add_argument("--force", action="store_true",
                        help="run even when the bitmaps would not fit in the machine's memory")
    add_output_option(parser, "build/sweep")
    return parser


def command(args):
    """Run the sweep the parsed ``args`` ask for, log it; returns the exit status. Raises
    :class:`~dstc.gen.options.UsageError` for an output path that is not a writable folder."""
    config, label = config_from(args), config_name(args)
    output = check_output_folder(args.output)   # before any work
    shape = (args.m, args.n, args.k)
    try:
        check_memory(sweep_memory_bytes(shape), f"a {args.m} x {args.n} x {args.k} sweep",
                     args.force)
    except TooExpensive as error:
        raise UsageError(str(error)) from None
    seed = int.from_bytes(os.urandom(4), "little") if args.seed is None else args.seed
    points = args.points or grid_points(args.density_a, args.density_b)
    log.info("dstc sweep: %s (%s), GEMM %dx%dx%d (M x N x K), %d points, seed %d", label,
             config.describe(), *shape, len(points), seed)
    result = run_sweep(config, shape=shape, points=points, seed=seed, out_dir=output,
                       label=label, bandwidth=args.bandwidth, figures=not args.no_figures,
                       progress=True)
    log.info("%s", format_table(result))
    for path in result.paths:
        log.info("wrote %s", path)
    log.info("done in %.2f s (seed %d)", result.seconds, seed)
    return 0



def bench_sweep(out_dir=None, shape=DEFAULT_SHAPE, preset_name="default"):
    """Time the default 8-point sweep end to end (tables and figures) in a fresh Python
    process, as a user runs it; returns ``{"seconds": wall time, "peak_mib": peak resident
    memory of that process}``. ``out_dir`` defaults to a temporary folder."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(out_dir) if out_dir is not None else Path(scratch)
        return measure_dstc(["sweep", "--preset", preset_name, "--m", shape[0], "--n",
                             shape[1], "--k", shape[2], "--seed", 2021, "-o", output])

