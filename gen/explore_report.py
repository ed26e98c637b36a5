"""The results of ``dstc explore``: the rows, the Pareto marking, the table and the plot.

:func:`build_rows` turns the jobs' results into :class:`ExploreRow` records (one per design,
operand kind and density point) and marks the Pareto-optimal designs (:func:`pareto_flags`);
:func:`write_table` writes ``explore.csv`` and ``explore.md``, :func:`write_plot`
``explore.png``.
"""

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np

from .explore_spec import OPERAND_KINDS
from .markdown import table
from .verilog import write_atomic

__all__ = ["ExploreRow", "COLUMNS", "pareto_flags", "build_rows", "write_table",
           "write_plot"]

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


def build_rows(spec, designs, synth_keys, sweep_keys, results, errors):
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


COLUMNS = [field.name for field in dataclasses.fields(ExploreRow)]


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
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if getattr(row, name) is None else getattr(row, name)
                         for name in COLUMNS])
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
