"""``dstc area``: standard-cell area, transistor estimate and static timing of the designs.

For each design of ``dstc.gen.generate.DESIGNS`` asked for, the flow is: Verilog (cached on
the configuration), identical modules merged (``dstc.gen.dedup``), yosys synthesis with the
hierarchy kept (``dstc.gen.synth``: a buffered, delay-targeted mapping to the Liberty cells,
which the area and the timing both use, and a ``cmos2`` mapping for the transistor estimate),
then OpenSTA on the mapped netlist (``dstc.gen.timing``). Every cell is classified by the
instance path it sits in (:data:`RULES`) and the figures are rolled up the instance tree, so
that each category's total is exact and the categories add up to the design's total.

:func:`run_area` returns the results and writes ``area.json``, ``area.csv``, ``area.md`` and
``area.png`` (stacked bars of the breakdown); :func:`add_arguments` and :func:`command` are
``dstc area``.
"""

import csv
import io
import json
import logging
import math
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .dedup import dedup_verilog
from .estimate import warn_slow_generation
from .generate import DESIGNS, design_component
from .markdown import table
from .options import (
    add_config_options,
    add_output_option,
    check_output_folder,
    config_from,
    config_name,
    folder_lock,
    output_folder,
    positive_float,
    positive_int,
)
from .synth import (
    ABC_CONSTRAINTS,
    CMOS_TRANSISTORS,
    LibertyError,
    LibertyMissing,
    check_liberty,
    liberty_path,
    read_liberty,
    run_stage,
)
from .timing import StaMissing, find_sta, run_sta
from .verilog import cached_verilog, write_atomic, write_if_changed

__all__ = ["CATEGORIES", "RULES", "FALLBACK", "classify", "breakdown", "overheads",
           "AreaResults", "run_area", "write_reports", "HELP", "DESCRIPTION", "add_arguments",
           "command"]

log = logging.getLogger("dstc")

#: ``{category: label}`` in report order.
CATEGORIES = {
    "multipliers": "multipliers",
    "adders": "adders",
    "accumulator_storage": "accumulator storage",
    "scatter_gather": "scatter/gather network",
    "popcount_select": "popcount/prefix/select",
    "encoder": "bitmap encoder and ReLU",
    "control": "sequencer and control",
}

#: How a cell is classified by its instance path below the top module (a tuple of instance
#: names, ``()`` for the top module's own cells): the first rule that matches, else
#: :data:`FALLBACK`. A rule is ``(category, test, argument)``, the tests being
#: ``"prefix"`` (some path component starts with the argument), ``"name"`` (some path
#: component is in the argument), ``"local_flops"`` and ``"local_logic"`` (the flip-flops,
#: resp. the other cells, of the module at exactly the argument's path, not of its submodules).
RULES = (
    ("multipliers", "prefix", "mul_"),
    ("adders", "prefix", "adder_"),
    ("popcount_select", "name", frozenset({"a_decoder", "b_decoder", "a_count", "b_count",
                                           "a_pop", "b_pop", "a_useful", "b_useful"})),
    ("encoder", "name", frozenset({"encoder", "relu"})),
    ("encoder", "prefix", "narrow"),     # fp32 -> fp16 of the DRAIN fp16 option
    ("encoder", "prefix", "widen"),      # and back to fp32 in the response slot
    ("accumulator_storage", "local_flops", ("accumulator",)),
    ("scatter_gather", "local_logic", ("accumulator",)),
)
#: Category of the cells that no rule claims: top-level glue, the sequencer's own logic,
#: pipeline registers, counters, conflict checkers.
FALLBACK = "control"

assert {rule[0] for rule in RULES} | {FALLBACK} == set(CATEGORIES)


def classify(path, flip_flop):
    """``(category, unit)`` of a cell at instance ``path`` (a tuple of instance names below
    the top), ``flip_flop`` telling whether it is one. ``unit`` is the path of the instance
    that matched (one multiplier, one adder, ...), ``None`` for the local rules and the
    fallback."""
    for category, test, argument in RULES:
        if test in ("prefix", "name"):
            for depth, component in enumerate(path):
                if (component.startswith(argument) if test == "prefix"
                        else component in argument):
                    return category, path[:depth + 1]
        elif tuple(path) == argument and flip_flop == (test == "local_flops"):
            return category, None
    return FALLBACK, None


def _local(modules, cost, sequential):
    """``{module: (figures of its flip-flops, of its other cells)}`` with ``cost(cell type)``
    giving a cell's area or transistors; figures are ``[cost, cells]``."""
    local = {}
    for name, module in modules.items():
        flops, logic = [0, 0], [0, 0]
        for kind, count in module["cells"].items():
            target = flops if kind in sequential else logic
            target[0] += count * cost(kind)
            target[1] += count
        local[name] = (flops, logic)
    return local


def _walk(modules, top):
    """Every instance path below ``top`` with its module: ``[(path, module), ...]``, the top
    first."""
    paths, stack = [], [((), top)]
    while stack:
        path, module = stack.pop()
        paths.append((path, module))
        for instance, child in reversed(modules[module]["instances"]):
            stack.append((path + (instance,), child))
    return paths


def _empty():
    return {"area_um2": 0.0, "cells": 0, "flip_flops": 0, "flip_flop_area_um2": 0.0,
            "transistors": 0, "units": 0}


def breakdown(top, cells, liberty, cmos=None):
    """Figures of the design ``top`` per category, per top-level block and in total.

    ``cells`` and ``cmos`` are the ``modules`` of the synthesis stages ``cells`` and ``cmos``
    (``cmos`` optional: no transistor counts without it); ``liberty`` a
    :class:`dstc.gen.synth.Liberty`. Each figure is ``area_um2``, ``cells``, ``flip_flops``,
    ``flip_flop_area_um2``, ``transistors`` and, per category, ``units`` (instances that a
    path rule matched: multipliers, adders, ...).
    """
    missing = {kind for module in cells.values() for kind in module["cells"]
               if kind not in liberty.areas}
    if missing:
        raise ValueError(f"cells missing from the Liberty file: {', '.join(sorted(missing))}")
    area = _local(cells, liberty.areas.__getitem__, liberty.sequential)
    transistors = None
    if cmos is not None:
        unknown = {kind for module in cmos.values() for kind in module["cells"]
                   if kind not in CMOS_TRANSISTORS}
        if unknown:
            raise ValueError(f"no transistor count for {', '.join(sorted(unknown))}")
        transistors = _local(cmos, CMOS_TRANSISTORS.__getitem__, {"$_DFF_P_", "$_DFF_N_"})
    categories = {category: _empty() for category in CATEGORIES}
    blocks, units = {}, {category: set() for category in CATEGORIES}
    total = _empty()
    cmos_paths = dict(_walk(cmos, top)) if cmos is not None else {}
    for path, module in _walk(cells, top):
        block = path[0] if path else "(top)"
        for flip_flop, (cost, count) in zip((True, False), area[module], strict=True):
            category, unit = classify(path, flip_flop)
            transistor_count = 0
            if transistors is not None:
                transistor_count = transistors[cmos_paths[path]][0 if flip_flop else 1][0]
            for figures in (categories[category], total,
                            blocks.setdefault(block, _empty())):
                figures["area_um2"] += cost
                figures["cells"] += count
                figures["transistors"] += transistor_count
                if flip_flop:
                    figures["flip_flops"] += count
                    figures["flip_flop_area_um2"] += cost
            if unit is not None and count:
                units[category].add(unit)
    for category, figures in categories.items():
        figures["units"] = len(units[category])
    for figures in blocks.values():
        del figures["units"]
    del total["units"]
    if transistors is None:
        for figures in (*categories.values(), *blocks.values(), total):
            figures["transistors"] = None
    return {"total": total, "categories": categories,
            "blocks": dict(sorted(blocks.items(), key=lambda item: -item[1]["area_um2"]))}


def _percent(new, base):
    return 100.0 * (new / base - 1.0) if base else None


def overheads(sparse, dense):
    """Overhead in percent of the ``sparse`` design's figures over the ``dense`` one's (each a
    design entry of the results): area, cells and transistors, in total and without the
    accumulator storage; with timing, also the area-delay product (area x critical period:
    the area overhead at equal frequency when the slower design is replicated to match)."""
    result = {}
    for key in ("area_um2", "cells", "transistors"):
        s, d = sparse["total"][key], dense["total"][key]
        if s is None or d is None:
            continue
        s_store = sparse["categories"]["accumulator_storage"][key]
        d_store = dense["categories"]["accumulator_storage"][key]
        result[key] = {"total_pct": _percent(s, d),
                       "without_storage_pct": _percent(s - s_store, d - d_store)}
    timing_s, timing_d = sparse.get("timing"), dense.get("timing")
    if timing_s and timing_d:
        period_s, period_d = timing_s["required_period_ns"], timing_d["required_period_ns"]
        area_s, area_d = sparse["total"]["area_um2"], dense["total"]["area_um2"]
        store_s = sparse["categories"]["accumulator_storage"]["area_um2"]
        store_d = dense["categories"]["accumulator_storage"]["area_um2"]
        result["equal_frequency"] = {
            "slower": "sparse" if period_s > period_d else "dense",
            "period_ratio": period_s / period_d,
            "area_delay_total_pct": _percent(area_s * period_s, area_d * period_d),
            "area_delay_without_storage_pct": _percent((area_s - store_s) * period_s,
                                                       (area_d - store_d) * period_d),
        }
    return result


# ---- the flow ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AreaResults:
    """What :func:`run_area` measured: ``document`` (the content of ``area.json``: ``name``,
    ``config``, ``macs``, ``liberty``, ``method``, ``designs`` with each design's ``total``,
    ``categories``, ``blocks``, ``timing`` and ``stages``, ``overhead`` when both designs ran,
    ``wall_seconds``) and the folder of the reports."""
    document: dict
    out_dir: Path

    @property
    def paths(self):
        """The four report files: ``area.md``, ``area.json``, ``area.csv``, ``area.png``."""
        return tuple(self.out_dir / f"area.{ext}" for ext in ("md", "json", "csv", "png"))


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _design_flow(design, work, liberty, options, gate):
    """Synthesis, breakdown and timing of one design whose merged Verilog is in ``work``."""
    module = DESIGNS[design][0]
    stages = []

    def stage(name, function, *args, **kwargs):
        with gate:
            result = function(*args, **kwargs)
        row = {"design": design, "stage": name, "seconds": result["seconds"],
               "peak_rss_mb": result.get("peak_rss_mb")}
        stages.append(row)
        rss = f"{row['peak_rss_mb']:7.0f} MB" if row["peak_rss_mb"] else ""
        log.info(f"  {design:<6} {name:<8} {row['seconds']:7.1f} s {rss}")
        return result

    stage("generic", run_stage, "generic", work, verilog=work / "dedup.v", top=module)

    def mapping(name, **request):
        mapped = {name: stage(name, run_stage, name, work, **request)}
        if name == "cells" and options["timing"]:
            mapped["sta"] = stage("sta", run_sta, mapped[name]["netlist"], module,
                                  liberty.path, work, period_ns=options["clock_ns"])
        return mapped

    requests = {"cells": {"liberty": liberty.path, "delay_ps": options["clock_ns"] * 1000}}
    if options["cmos"]:
        requests["cmos"] = {}
    mapped = {}
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        for future in [pool.submit(mapping, name, **request)
                       for name, request in requests.items()]:
            mapped.update(future.result())
    figures = breakdown(module, mapped["cells"]["modules"], liberty,
                        mapped["cmos"]["modules"] if "cmos" in mapped else None)
    _check_totals(design, figures["total"], mapped)
    entry = {"module": module, **figures, "stages": stages,
             "yosys": {name: mapped[name]["yosys_stat"] for name in ("cells", "cmos")
                       if name in mapped}}
    if "sta" in mapped:
        entry["timing"] = {key: value for key, value in mapped["sta"].items()
                           if key not in ("seconds", "peak_rss_mb")}
    return entry


def _check_totals(design, total, mapped):
    """The roll-up must give yosys' own hierarchical totals."""
    area = mapped["cells"]["yosys_stat"]["area"]
    if abs(total["area_um2"] - area) > 1e-6 * max(1.0, area):
        raise RuntimeError(f"{design}: area roll-up {total['area_um2']} != yosys {area}")
    if "cmos" in mapped:
        transistors = int(str(mapped["cmos"]["yosys_stat"]["estimated_num_transistors"])
                          .rstrip("+"))
        if total["transistors"] != transistors:
            raise RuntimeError(f"{design}: transistor roll-up {total['transistors']} != "
                               f"yosys {transistors}")


def run_area(config, designs, out_dir, *, name=None, timing=True, cmos=True, clock_ns=5.0,
             jobs=2, liberty=None):
    """Synthesize ``designs`` (keys of ``DESIGNS``) of ``config``, time them and write the
    reports into ``out_dir`` (one working folder per design beside them).

    ``clock_ns`` is abc's delay target and the clock of the timing report; ``jobs`` the yosys
    and OpenSTA processes run at once; ``liberty`` a Liberty path (default: ``liberty_path()``).
    Returns :class:`AreaResults` (with the content of ``area.json``). Raises
    :class:`ValueError` for an unknown design, a ``clock_ns`` that is not a finite positive
    number, ``jobs`` below 1 or an ``out_dir`` that cannot be made a writable folder,
    :class:`~dstc.gen.synth.LibertyMissing` or :class:`~dstc.gen.synth.LibertyError` for a
    missing or invalid Liberty file, :class:`~dstc.gen.timing.StaMissing` when OpenSTA is
    missing, and
    :class:`~dstc.gen.synth.SynthError`, :class:`~dstc.gen.timing.StaError` or
    :class:`RuntimeError` (a roll-up that disagrees with yosys' totals) when a stage fails.
    """
    started = time.monotonic()
    for design in designs:
        if design not in DESIGNS:
            raise ValueError(f"design {design!r}: must be one of {', '.join(DESIGNS)}")
    if not (isinstance(clock_ns, (int, float)) and math.isfinite(clock_ns) and clock_ns > 0):
        raise ValueError(f"clock_ns={clock_ns!r}: must be a finite number of ns greater than 0")
    if type(jobs) is not int or jobs < 1:
        raise ValueError(f"jobs={jobs!r}: must be a positive integer")
    liberty = read_liberty(liberty or liberty_path())
    if timing:
        find_sta()
    out_dir = check_output_folder(out_dir, "out_dir")
    options = {"timing": timing, "cmos": cmos, "clock_ns": clock_ns}
    prepared, rows = {}, []
    for design in designs:
        work = out_dir / design
        module = DESIGNS[design][0]
        t0 = time.monotonic()
        path, _ = cached_verilog(work / f"{module}.v", module,
                                 lambda design=design: design_component(config, design)[1],
                                 key=config.to_json())
        t1 = time.monotonic()
        text, kept = dedup_verilog(path.read_text())
        write_if_changed(work / "dedup.v", text)
        t2 = time.monotonic()
        for stage, seconds in (("verilog", t1 - t0), ("dedup", t2 - t1)):
            rows.append({"design": design, "stage": stage, "seconds": seconds,
                         "peak_rss_mb": _peak_rss_mb()})
            log.info(f"  {design:<6} {stage:<8} {seconds:7.1f} s")
        prepared[design] = (work, {"modules": len(kept), "kept": len(set(kept.values()))})
    gate = threading.Semaphore(max(1, jobs))
    with ThreadPoolExecutor(max_workers=len(designs)) as pool:
        futures = {design: pool.submit(_design_flow, design, work, liberty, options, gate)
                   for design, (work, _) in prepared.items()}
        entries = {design: future.result() for design, future in futures.items()}
    for design, entry in entries.items():
        entry["dedup"] = prepared[design][1]
        entry["stages"] = [row for row in rows if row["design"] == design] + entry["stages"]
    results = {
        "name": name,
        "config": json.loads(config.to_json()),
        "macs": config.macs,
        "liberty": str(liberty.path),
        "method": {"clock_ns": clock_ns, "abc_delay_target_ps": clock_ns * 1000,
                   **ABC_CONSTRAINTS, "cmos": cmos, "timing": timing},
        "designs": entries,
    }
    if "dstc" in entries and "dense" in entries:
        results["overhead"] = overheads(entries["dstc"], entries["dense"])
    results["wall_seconds"] = time.monotonic() - started
    write_reports(results, out_dir)
    written = AreaResults(results, out_dir)
    log.info(f"wrote {', '.join(map(str, written.paths))}")
    log.info(f"done in {results['wall_seconds']:.1f} s")
    return written


# ---- reports -----------------------------------------------------------------------------

def _fmt(value, digits=0):
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}"


def _pct(value):
    return "-" if value is None else f"{value:+.1f}%"


def markdown(results):
    """The Markdown report of :func:`run_area`'s ``results``."""
    designs = results["designs"]
    method = results["method"]
    out = [f"# Area and timing: {results['name'] or 'configuration'}\n\n"
           f"Configuration: `{json.dumps(results['config'], sort_keys=True)}` "
           f"({results['macs']} multipliers).\n\n"
           f"Standard cells: `{Path(results['liberty']).name}`. Synthesis: yosys (pyosys), "
           f"hierarchy kept, identical modules merged; cells mapped by abc with a "
           f"{method['abc_delay_target_ps']:.0f} ps delay target, every module input driven "
           f"by {method['driving_cell']} and every output loaded with {method['load_pf']} pF "
           f"(buffered and sized). Transistors: yosys' estimate on an `abc -g cmos2` mapping. "
           f"Timing: OpenSTA on the mapped netlist, ideal clock, no wire load.\n\n"]
    out.append("## Totals\n\n")
    out.append(table(
        ["design", "module", "area (um^2)", "area (mm^2)", "cells", "flip-flops",
         "transistors", "critical path (ns)", "fmax (MHz)"],
        [[design, f"`{entry['module']}`", _fmt(entry["total"]["area_um2"]),
          f"{entry['total']['area_um2'] / 1e6:.3f}", _fmt(entry["total"]["cells"]),
          _fmt(entry["total"]["flip_flops"]), _fmt(entry["total"]["transistors"]),
          _fmt(entry["timing"]["required_period_ns"], 2) if "timing" in entry else "-",
          _fmt(entry["timing"]["fmax_mhz"], 1) if "timing" in entry else "-"]
         for design, entry in designs.items()]))
    for design, entry in designs.items():
        total = entry["total"]["area_um2"]
        out.append(f"\n## Breakdown: {design}\n\n")
        out.append(table(
            ["category", "area (um^2)", "share", "cells", "flip-flops", "transistors",
             "units"],
            [[CATEGORIES[category], _fmt(figures["area_um2"]),
              f"{100 * figures['area_um2'] / total:.1f}%" if total else "-",
              _fmt(figures["cells"]), _fmt(figures["flip_flops"]),
              _fmt(figures["transistors"]), figures["units"] or ""]
             for category, figures in entry["categories"].items()]
            + [["**total**", _fmt(total), "100.0%", _fmt(entry["total"]["cells"]),
                _fmt(entry["total"]["flip_flops"]), _fmt(entry["total"]["transistors"]),
                ""]]))
    if "overhead" in results:
        overhead = results["overhead"]
        labels = {"area_um2": "area", "cells": "cells", "transistors": "transistors"}
        rows = [[labels[key], _pct(value["total_pct"]), _pct(value["without_storage_pct"])]
                for key, value in overhead.items() if key in labels]
        equal = overhead.get("equal_frequency")
        if equal:
            rows.append(["area x critical period", _pct(equal["area_delay_total_pct"]),
                         _pct(equal["area_delay_without_storage_pct"])])
        out.append("\n## Overhead of the sparse core over the dense one\n\n")
        out.append(table(["measure", "total", "without accumulator storage"], rows))
        if equal:
            slower = "sparse (dstc)" if equal["slower"] == "sparse" else "dense"
            out.append(
                f"\nThe {slower} core is the slower one: its critical path is "
                f"{max(equal['period_ratio'], 1 / equal['period_ratio']):.2f}x the other's. "
                f"Areas are those of the netlists that were timed, each at its own maximum "
                f"clock; \"area x critical period\" is the overhead at equal frequency when "
                f"the slower core is replicated to match the faster one's throughput.\n")
    timed = {design: entry["timing"] for design, entry in designs.items() if "timing" in entry}
    if timed:
        out.append("\n## Critical paths\n\n")
        out.append(table(
            ["design", "start", "end", "arrival (ns)", "setup (ns)", "period (ns)",
             "fmax (MHz)", "cells on path"],
            [[design, f"`{t['startpoint']}`", f"`{t['endpoint']}`", f"{t['arrival_ns']:.2f}",
              f"{t['setup_ns']:.2f}", f"{t['required_period_ns']:.2f}",
              f"{t['fmax_mhz']:.1f}", t["cells"]] for design, t in timed.items()]))
        out.append("\nSlowest endpoint of each top-level instance, register or output of the "
                   "top module (at most ten):\n\n")
        out.append(table(
            ["design", "part", "endpoint", "period (ns)", "fmax (MHz)"],
            [[design, group, f"`{pin}`", f"{period:.2f}", f"{1000 / period:.1f}"]
             for design, t in timed.items() for group, pin, period in t["worst_by_group"][:10]]))
    for design, entry in designs.items():
        total = entry["total"]["area_um2"]
        out.append(f"\n## Top-level blocks: {design}\n\n")
        out.append(table(
            ["instance", "area (um^2)", "share", "cells", "flip-flops"],
            [[block, _fmt(figures["area_um2"]),
              f"{100 * figures['area_um2'] / total:.1f}%" if total else "-",
              _fmt(figures["cells"]), _fmt(figures["flip_flops"])]
             for block, figures in entry["blocks"].items()]))
    out.append("\n## Run time\n\n")
    out.append(table(
        ["design", "stage", "seconds", "peak memory (MB)"],
        [[row["design"], row["stage"], f"{row['seconds']:.1f}",
          _fmt(row["peak_rss_mb"])] for entry in designs.values() for row in entry["stages"]]))
    out.append(f"\nWall time {results['wall_seconds']:.1f} s (stages of different designs "
               f"overlap). Memory: the largest sum of the resident sizes of the stage's "
               f"processes (yosys and the abc it starts), sampled every 0.2 s; for `verilog` and "
               f"`dedup`, the peak of the `dstc area` process itself so far.\n")
    return "".join(out)


def csv_text(results):
    """One row per design and category, then the design's total."""
    out = io.StringIO()
    fields = ["design", "category", "label", "area_um2", "area_share_pct", "cells",
              "flip_flops", "flip_flop_area_um2", "transistors", "units"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for design, entry in results["designs"].items():
        total = entry["total"]["area_um2"]
        rows = [(category, CATEGORIES[category], figures)
                for category, figures in entry["categories"].items()]
        rows.append(("total", "total", {**entry["total"], "units": ""}))
        for category, label, figures in rows:
            writer.writerow({"design": design, "category": category, "label": label,
                             **{key: figures[key] for key in fields[5:]},
                             "area_um2": f"{figures['area_um2']:.1f}",
                             "flip_flop_area_um2": f"{figures['flip_flop_area_um2']:.1f}",
                             "area_share_pct":
                                 f"{100 * figures['area_um2'] / total:.2f}" if total else ""})
    return out.getvalue()


def chart(results, path):
    """Stacked bars of the breakdown (mm^2), one bar per design, one colour per category."""
    from matplotlib.figure import Figure

    designs = list(results["designs"])
    figure = Figure(figsize=(3.4 + 1.4 * len(designs), 5.0), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    bottoms = [0.0] * len(designs)
    for index, (category, label) in enumerate(CATEGORIES.items()):
        values = [results["designs"][design]["categories"][category]["area_um2"] / 1e6
                  for design in designs]
        axes.bar(designs, values, bottom=bottoms, label=label, color=f"C{index}", width=0.6)
        bottoms = [bottom + value for bottom, value in zip(bottoms, values, strict=True)]
    for x, total in enumerate(bottoms):
        axes.annotate(f"{total:.3f}", (x, total), ha="center", va="bottom",
                      xytext=(0, 2), textcoords="offset points")
    axes.set_ylabel(f"area (mm$^2$, {Path(results['liberty']).stem})")
    axes.set_title(f"dstc area: {results['name'] or 'configuration'}")
    axes.set_ylim(0, max(bottoms) * 1.12 if max(bottoms) > 0 else 1)
    handles, labels = axes.get_legend_handles_labels()
    axes.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.02, 1.0),
                frameon=False)
    figure.savefig(path, metadata={"Software": None})


def write_reports(results, out_dir):
    """Write ``area.json``, ``area.csv``, ``area.md`` and ``area.png`` into ``out_dir``
    (each file atomically: a reader never sees a part of one)."""
    out_dir = check_output_folder(out_dir, "out_dir")
    write_atomic(out_dir / "area.json", json.dumps(results, indent=1) + "\n")
    write_atomic(out_dir / "area.csv", csv_text(results))
    write_atomic(out_dir / "area.md", markdown(results))
    chart(results, out_dir / "area.png")


# ---- command line ------------------------------------------------------------------------

HELP = "standard-cell area and static timing of the sparse and dense cores"
DESCRIPTION = (
    "Synthesize the sparse core and its dense baseline with yosys to the OSU 0.18 um standard "
    "cells (hierarchy kept), time them with OpenSTA, and write the area per component, the "
    "transistor estimate, the critical paths and the overhead of the sparse core as area.md, "
    "area.json, area.csv and area.png. Needs `make tech` (Liberty file and OpenSTA).")


def add_arguments(parser):
    """Add the options of ``dstc area`` to ``parser``."""
    add_config_options(parser)
    parser.add_argument("--design", choices=(*DESIGNS, "both"), default="both",
                        help="design(s) to synthesize (default: both)")
    add_output_option(parser, help="output folder (default: build/area/<preset>)")
    parser.add_argument("--liberty", metavar="FILE",
                        help="standard-cell Liberty file (default: $DSTC_LIBERTY, else the "
                             "OSU 0.18 um library of `make tech`)")
    parser.add_argument("--clock-ns", type=positive_float, default=5.0, metavar="NS",
                        help="abc's delay target and the clock of the timing report "
                             "(default: 5.0)")
    parser.add_argument("--jobs", type=positive_int, default=2, metavar="N",
                        help="yosys and OpenSTA processes at once (default: 2)")
    parser.add_argument("--no-timing", action="store_true", help="skip static timing")
    parser.add_argument("--no-cmos", action="store_true",
                        help="skip the transistor estimate (one abc run less per design)")


def command(args):
    """Run ``dstc area`` from parsed arguments and print the totals; returns the exit code
    (0: reports written, 1: a tool failed or a roll-up disagrees with yosys' totals, 2: the
    Liberty file is missing or not one, or OpenSTA is missing).
    Every input (configuration, output folder, Liberty file) is checked before synthesis."""
    config = config_from(args)
    designs = list(DESIGNS) if args.design == "both" else [args.design]
    out_dir = output_folder(args, "area", config)
    try:
        liberty = check_liberty(args.liberty or liberty_path())
    except (LibertyMissing, LibertyError) as error:
        print(f"dstc area: {error}", file=sys.stderr)
        return 2
    warn_slow_generation(config)
    print(f"area of {', '.join(designs)}: {config.describe()} -> {out_dir}")
    try:
        with folder_lock(out_dir, "area"):
            results = run_area(config, designs, out_dir, name=config_name(args),
                               timing=not args.no_timing, cmos=not args.no_cmos,
                               clock_ns=args.clock_ns, jobs=args.jobs,
                               liberty=liberty).document
    except (LibertyMissing, LibertyError, StaMissing) as error:
        print(f"dstc area: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:   # a tool failed, or a roll-up disagrees with yosys
        print(f"dstc area: {error}", file=sys.stderr)
        return 1
    for design, entry in results["designs"].items():
        total = entry["total"]
        timing = entry.get("timing")
        print(f"  {design:<6} {total['area_um2'] / 1e6:8.3f} mm^2  {total['cells']:>9,} cells"
              + (f"  {timing['fmax_mhz']:6.1f} MHz" if timing else ""))
    if "overhead" in results:
        area = results["overhead"]["area_um2"]
        print(f"  overhead {area['total_pct']:+.1f}% (without accumulator storage "
              f"{area['without_storage_pct']:+.1f}%)")
    return 0
