"""Synthesis of generated Verilog to standard cells with yosys (pyosys), hierarchy kept.

Three stages, each run in a child process of its own (``python -m dstc.gen.synth STAGE
REQUEST``) so that yosys' log goes to a file, its memory is returned when it ends, stages of
different designs run side by side, and every stage has its own time and peak memory:

- ``generic``: ``read_verilog``, ``synth -noabc`` without flattening, saved as RTLIL;
- ``cells``: the generic netlist mapped to the Liberty cells (``dfflibmap``, then ``abc``
  with a delay target and the driving cell and load of :data:`ABC_CONSTRAINTS`, so that abc
  buffers and sizes high-fanout nets), flip-flops renamed after the register bit they hold
  (``count_reg[3]``), written as a Verilog netlist for static timing;
- ``cmos``: the generic netlist with every flip-flop legalised to ``$_DFF_P_`` and the logic
  mapped by ``abc -g cmos2``, for yosys' CMOS transistor estimate (:data:`CMOS_TRANSISTORS`).

The ``cells`` and ``cmos`` stages report every module of the hierarchy alone: ``{module:
{"cells": {cell type: count}, "instances": [[instance name, module], ...]}}`` (names without
yosys' leading backslash); ``dstc.gen.area`` rolls them up the instance tree. Each stage also
returns yosys' own design total (``stat -json``) for a cross-check.
"""

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .tools import ToolError, ToolRun

__all__ = ["LIBERTY_ENV", "LibertyMissing", "LibertyError", "SynthError", "Liberty",
           "ABC_CONSTRAINTS", "CMOS_TRANSISTORS", "STAGES", "liberty_path", "check_liberty",
           "read_liberty", "run_stage"]

#: Environment variable naming another Liberty file than the one ``make tech`` fetches.
LIBERTY_ENV = "DSTC_LIBERTY"
_LIBERTY_DEFAULT = Path(sys.prefix) / "share" / "osu018" / "osu018_stdcells.lib"

#: Driving cell of every module input and load on every module output, for abc's buffering
#: and sizing (``-constr``) and for the static timing of the top level. The load is in the
#: Liberty file's unit for OpenSTA (pF for OSU018); yosys documents abc's unit as fF, but on
#: the small core no value from 0.02 to 20 changed abc's mapping.
ABC_CONSTRAINTS = {"driving_cell": "INVX1", "load_pf": 0.02}

#: Transistors of yosys' ``abc -g cmos2`` gates and of a plain flip-flop: yosys'
#: ``CellCosts::cmos_gate_cost`` and the 16 that ``stat -tech cmos`` counts per ``$_DFF_P_``.
CMOS_TRANSISTORS = {
    "$_BUF_": 1, "$_NOT_": 2, "$_AND_": 6, "$_NAND_": 4, "$_OR_": 6, "$_NOR_": 4,
    "$_ANDNOT_": 6, "$_ORNOT_": 6, "$_XOR_": 12, "$_XNOR_": 12, "$_AOI3_": 6, "$_OAI3_": 6,
    "$_AOI4_": 8, "$_OAI4_": 8, "$_MUX_": 12, "$_NMUX_": 10, "$_DFF_P_": 16, "$_DFF_N_": 16,
}

STAGES = ("generic", "cells", "cmos")


class LibertyMissing(FileNotFoundError):
    """The standard-cell Liberty file is not where it should be."""


class LibertyError(ValueError):
    """A file given as the Liberty library that is not one (or not a usable one); the message
    names the file and what is wrong."""


class SynthError(ToolError):
    """A synthesis stage failed; the message ends with the last lines of its log."""


@dataclass(frozen=True)
class Liberty:
    """A Liberty file's cells: ``areas`` (``{cell: area in um^2}``) and the ``sequential``
    ones (those with an ``ff`` or ``latch`` group)."""
    path: Path
    areas: dict
    sequential: frozenset


def liberty_path():
    """The Liberty file: ``$DSTC_LIBERTY`` if set, else ``<venv>/share/osu018/
    osu018_stdcells.lib`` (OSU 0.18 um, fetched by ``make tech``). Raises
    :class:`LibertyMissing` naming the make target when the file is absent."""
    path = Path(os.environ.get(LIBERTY_ENV) or _LIBERTY_DEFAULT)
    if not path.is_file():
        raise LibertyMissing(
            f"standard-cell Liberty file {path} not found: run `make tech` to fetch the OSU "
            f"0.18 um library (Debian package qflow-tech-osu018), or set {LIBERTY_ENV}")
    return path


_LIBRARY_HEADER = re.compile(r"\s*library\s*\(\s*\"?[^)\s]*\"?\s*\)\s*\{")
_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_HEADER_BYTES = 1 << 16


def check_liberty(path):
    """Check that the file at ``path`` starts like a Liberty library: after comments, a
    ``library (NAME) {`` group, in text. Returns the path as a :class:`~pathlib.Path`;
    raises :class:`LibertyMissing` for a path that is not a file, and :class:`LibertyError`
    naming the file for an unreadable file, binary data or another header."""
    path = Path(path)
    if not path.is_file():
        raise LibertyMissing(f"Liberty file {path}: not found (or not a file)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError as error:
        raise LibertyError(f"Liberty file {path}: {error.strerror or error}") from None
    if b"\0" in head:
        raise LibertyError(f"Liberty file {path}: binary data, not a Liberty (.lib) text file")
    text = _COMMENTS.sub(" ", head.decode("latin-1"))
    if not _LIBRARY_HEADER.match(text):
        first = text.strip().splitlines()[0][:60] if text.strip() else "(empty)"
        raise LibertyError(f"Liberty file {path}: does not start with a 'library (NAME) {{' "
                           f"group (starts with {first!r}); is it a Liberty (.lib) file?")
    return path


_CELL = re.compile(r"(?m)^\s*cell\s*\(\s*\"?([\w$]+)\"?\s*\)\s*\{")
_AREA = re.compile(r"\barea\s*:\s*([0-9.eE+-]+)")
_SEQUENTIAL = re.compile(r"(?m)^\s*(ff|latch|ff_bank|latch_bank)\s*\(")


def read_liberty(path):
    """Cell areas and sequential cells of the Liberty file at ``path`` (a plain scan of its
    ``cell (NAME) { area : X; ... }`` groups, which is all that area reports need), as a
    :class:`Liberty`. Raises :class:`LibertyMissing` and :class:`LibertyError` as
    :func:`check_liberty` does, and :class:`LibertyError` for a cell without area or a file
    without cells."""
    check_liberty(path)
    text = Path(path).read_text(errors="replace")
    starts = [(match.start(), match.group(1)) for match in _CELL.finditer(text)]
    if not starts:
        raise LibertyError(f"Liberty file {path}: no cells found")
    areas, sequential = {}, set()
    for (start, name), (end, _) in zip(starts, starts[1:] + [(len(text), "")], strict=True):
        body = text[start:end]
        area = _AREA.search(body)
        if area is None:
            raise LibertyError(f"Liberty file {path}: cell {name} has no area")
        areas[name] = float(area.group(1))
        if _SEQUENTIAL.search(body):
            sequential.add(name)
    return Liberty(Path(path), areas, frozenset(sequential))


def run_stage(stage, work_dir, **request):
    """Run synthesis stage ``stage`` in a child process with its files in ``work_dir``.

    ``generic`` needs ``verilog`` and ``top``; ``cells`` needs ``liberty`` and ``delay_ps``
    (abc's delay target, ps); ``cmos`` nothing more. Returns the stage's result: ``seconds``
    (wall time), ``peak_rss_mb`` (MiB, the process tree's), ``log`` and, for ``cells`` and
    ``cmos``, ``modules``, ``yosys_stat`` and the written files. Raises :class:`ValueError`
    for an unknown stage and :class:`SynthError` if the stage fails.
    """
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r}: must be one of {', '.join(STAGES)}")
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    request = {key: str(value.resolve()) if isinstance(value, Path) else value
               for key, value in request.items()}
    request_path = work_dir / f"{stage}.request.json"
    result_path = work_dir / f"{stage}.result.json"
    log_path = work_dir / f"{stage}.log"
    request_path.write_text(json.dumps(request, indent=2) + "\n")
    result_path.unlink(missing_ok=True)
    run = ToolRun((sys.executable, "-m", __name__, stage, str(request_path), str(result_path)),
                  work_dir, log_path).execute()
    what = f"yosys stage {stage}"
    run.check(what, SynthError)
    if not result_path.is_file():
        raise run.error(what, SynthError, reason="no result written")
    result = json.loads(result_path.read_text())
    result.update(seconds=run.seconds,
                  peak_rss_mb=max(run.peak_rss_mb, result.get("vm_hwm_mb", 0.0)),
                  log=str(log_path))
    return result


# ---- the child process -------------------------------------------------------------------

def _name(idstring):
    text = idstring.str()
    return text[1:] if text.startswith("\\") else text


def _modules(design):
    """Per-module local cells and submodule instances of ``design``."""
    modules = {}
    for module_id, module in design.modules_.items():
        cells, instances = {}, []
        for cell_id, cell in module.cells_.items():
            if design.module(cell.type) is not None:
                instances.append([_name(cell_id), _name(cell.type)])
            else:
                kind = _name(cell.type)
                cells[kind] = cells.get(kind, 0) + 1
        modules[_name(module_id)] = {"cells": dict(sorted(cells.items())),
                                     "instances": sorted(instances)}
    return modules


def _name_flip_flops(ys, design, sequential):
    """Rename every flip-flop after the register bit on its Q output (``count_reg[3]``), so
    that timing reports name start and end points by register. Returns how many."""
    q_port = ys.IdString("\\Q")
    renamed = 0
    for module in design.modules_.values():
        taken = {cell_id.str() for cell_id in module.cells_.keys()}
        renames = []
        for cell in module.cells_.values():
            if _name(cell.type) not in sequential or not cell.hasPort(q_port):
                continue
            bit = cell.getPort(q_port).as_bit()
            wire = bit.wire
            if wire is None or not wire.name.str().startswith("\\"):
                continue
            name = wire.name.str() + ("_reg" if wire.width == 1 else f"_reg[{bit.offset}]")
            if name not in taken:
                taken.add(name)
                renames.append((cell, name))
        for cell, name in renames:
            module.rename(cell, ys.IdString(name))
        renamed += len(renames)
    return renamed


def _child(stage, request):
    from pyosys import libyosys as ys

    design = ys.Design()
    stages = {}

    def run(command, key):
        started = time.monotonic()
        ys.run_pass(command, design)
        stages[key] = stages.get(key, 0.0) + time.monotonic() - started

    result = {"stage": stage, "passes": stages}
    if stage == "generic":
        run(f"read_verilog {request['verilog']}", "read_verilog")
        run(f"hierarchy -check -top {request['top']}", "hierarchy")
        run(f"synth -top {request['top']} -noabc", "synth")
        run("write_rtlil generic.il", "write_rtlil")
    else:
        run("read_rtlil generic.il", "read_rtlil")
        if stage == "cells":
            liberty = request["liberty"]
            sequential = read_liberty(liberty).sequential
            Path("abc.constr").write_text(
                f"set_driving_cell {ABC_CONSTRAINTS['driving_cell']}\n"
                f"set_load {ABC_CONSTRAINTS['load_pf']}\n")
            run(f"dfflibmap -liberty {liberty}", "dfflibmap")
            run(f"abc -liberty {liberty} -constr abc.constr -D {request['delay_ps']}", "abc")
            run("opt_clean", "opt_clean")
            started = time.monotonic()
            result["flip_flops_named"] = _name_flip_flops(ys, design, sequential)
            stages["name_flip_flops"] = time.monotonic() - started
            run(f"tee -q -o cells.stat.json stat -liberty {liberty} -json", "stat")
            # OpenSTA's Verilog reader takes no concatenation on the left of an assign
            run("setundef -zero", "setundef")
            run("write_verilog -noattr -noexpr -simple-lhs netlist.v", "write_verilog")
            result["netlist"] = str(Path("netlist.v").resolve())
        else:
            run("dfflegalize -cell $_DFF_P_ 01", "dfflegalize")
            run("abc -g cmos2", "abc")
            run("opt_clean", "opt_clean")
            run("tee -q -o cmos.stat.json stat -tech cmos -json", "stat")
        result["yosys_stat"] = json.loads(Path(f"{stage}.stat.json").read_text())["design"]
        result["modules"] = _modules(design)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                result["vm_hwm_mb"] = int(line.split()[1]) / 1024
    return result


if __name__ == "__main__":
    _stage, _request, _result = sys.argv[1:4]
    _output = _child(_stage, json.loads(Path(_request).read_text()))
    Path(_result).write_text(json.dumps(_output, indent=1) + "\n")
