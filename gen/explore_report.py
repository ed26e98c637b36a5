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

from .explore_jobs import SIMULATION_WORKLOAD
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
    #: the sparse core built on Verilator from scratch (seconds: build and cocotb start-up)
    verilator_build_seconds: float | None
    ms_per_tile: float | None         #: Verilator simulation milliseconds per SpWMMA tile
    simulation_ok: bool | None        #: that simulation bit-exact and cycle-exact
    fpga_luts: int | None             #: the sparse core's ECP5 LUT4 + carry (synthesis)
    dense_fpga_luts: int | None
    fpga_lut_ratio: float | None      #: sparse / dense LUTs
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


def build_rows(spec, designs, synth_keys, sweep_keys, results, errors, sim_keys=None,
               fpga_keys=None):
    """The rows of the table: one per design, operand kind and density point, Pareto-marked.
    ``synth_keys`` and ``fpga_keys`` map ``(label, "dstc" or "dense")``, ``sim_keys`` a
    design's label and ``sweep_keys`` ``(label, kind, point)`` to a job's digest;
    ``results`` and ``errors`` map digests to a finished job's result or a failed one's
    message."""
    sim_keys, fpga_keys = sim_keys or {}, fpga_keys or {}
    rows = []

    def outcome(key, what, problems):
        if key is None:
            return None
        if key in errors:
            problems.append(f"{what}: {errors[key]}")
        return results.get(key)

    for design in designs:
        problems = [design.error] if design.error else []
        sparse = outcome(synth_keys.get((design.label, "dstc")), "dstc synthesis", problems)
        dense = outcome(synth_keys.get((design.label, "dense")), "dense synthesis", problems)
        extras = {"simulation": outcome(sim_keys.get(design.label), "simulation", problems),
                  "fpga": outcome(fpga_keys.get((design.label, "dstc")), "dstc FPGA",
                                  problems),
                  "dense_fpga": outcome(fpga_keys.get((design.label, "dense")), "dense FPGA",
                                        problems)}
        if extras["simulation"] and not extras["simulation"]["ok"]:
            problems.append("simulation: the RTL differs from the golden or the cycle model "
                            "(see its log)")
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
                rows.append(_row(design, kind, point, sweep, mine, sparse, dense, extras,
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


def _row(design, kind, point, sweep, mine, sparse, dense, extras, error):
    cycles = mine["cycles"] if mine else None
    dense_mode = mine["dense_mode"] if mine else None
    simulation, fpga, dense_fpga = extras["simulation"], extras["fpga"], extras["dense_fpga"]
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
        verilator_build_seconds=simulation["build_seconds"] if simulation else None,
        ms_per_tile=simulation["ms_per_tile"] if simulation else None,
        simulation_ok=simulation["ok"] if simulation else None,
        fpga_luts=fpga["luts"] if fpga else None,
        dense_fpga_luts=dense_fpga["luts"] if dense_fpga else None,
        fpga_lut_ratio=_ratio(fpga["luts"], dense_fpga["luts"]) if fpga and dense_fpga
        else None,
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


def write_table(rows, out_dir, simulation_workload=SIMULATION_WORKLOAD):
    """Write ``explore.csv`` (every column) and ``explore.md`` (a summary per design, then
    the rows; its notes name ``simulation_workload``, the simulations' SpGEMM) into
    ``out_dir``, atomically; returns their paths."""
    csv_path, md_path = out_dir / "explore.csv", out_dir / "explore.md"
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if getattr(row, name) is None else getattr(row, name)
                         for name in COLUMNS])
    write_atomic(csv_path, text.getvalue())
    # The simulation and FPGA columns only when some design has them.
    simulated = any(row.verilator_build_seconds is not None for row in rows)
    fpga = any(row.fpga_luts is not None or row.dense_fpga_luts is not None for row in rows)
    summary = []
    for design in dict.fromkeys(row.design for row in rows):
        mine = [row for row in rows if row.design == design]
        first = mine[0]
        cells = [design, _cell(first.area_ratio), _cell(first.area_ratio_without_storage),
                 _cell(first.fmax_mhz, 1), _cell(first.network_share)]
        for kind in OPERAND_KINDS:
            ratios = [row.cycle_ratio for row in mine
                      if row.operands == kind and row.cycle_ratio is not None]
            cells.append(f"{np.mean(ratios):.3f} / {max(ratios):.3f}" if ratios else "-")
        if simulated:
            cells += [_cell(first.verilator_build_seconds, 1), _cell(first.ms_per_tile, 2),
                      "**no**" if first.simulation_ok is False else _cell(first.simulation_ok)]
        if fpga:
            cells += [_cell(first.fpga_luts), _cell(first.dense_fpga_luts),
                      _cell(first.fpga_lut_ratio)]
        pareto = [row.pareto for row in mine if row.pareto is not None]
        cells.append(f"{sum(pareto)}/{len(pareto)}" if pareto else "-")
        cells.append(_cell(first.error))
        summary.append(cells)
    headers = ["design", "area ratio", "without storage", "fmax (MHz)", "network share",
               "cycle ratio, uniform", "cycle ratio, balanced"]
    if simulated:
        headers += ["Verilator build (s)", "ms / tile", "RTL checked"]
    if fpga:
        headers += ["FPGA LUTs", "dense FPGA LUTs", "LUT ratio"]
    headers += ["Pareto", "error"]
    out = ["# dstc explore\n\n",
           "Per design: area ratio = sparse / dense core area; cycle ratio = cycles / the "
           "crossbar's cycles on the same operands (mean / worst over the density points); "
           "Pareto = density points (and operand kinds) where the design is Pareto-optimal "
           "in (area ratio, normalised latency)."
           + (" Verilator build: the sparse core built from scratch (no ccache), wall time "
              "with cocotb's start-up; ms / tile: simulation time per SpWMMA tile of a "
              "{m} x {n} x {k} SpGEMM at density {density_a} x {density_b}; RTL checked: "
              "that run bit-exact and cycle-exact.".format(**simulation_workload)
              if simulated else "")
           + (" FPGA LUTs: the core's ECP5 LUT4 + carry after synthesis (harness "
              "subtracted), no place-and-route." if fpga else "")
           + "\n\n",
           table(headers, summary, align="l" + "r" * (len(headers) - 2) + "l"),
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
