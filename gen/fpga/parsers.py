"""Parsers of the tool reports of ``dstc fpga``: yosys ``stat -json`` and nextpnr's log."""

import json
import re

__all__ = ["parse_yosys_stat", "parse_register_bits", "parse_nextpnr_log"]


def _design_section(text):
    """The whole-design section of ``stat -json`` text (the first module when there is no
    ``design`` entry, as for a single module)."""
    stat = json.loads(text)
    return stat.get("design") or next(iter(stat["modules"].values()))


def parse_yosys_stat(text):
    """Mapped ECP5 cells from ``stat -json`` text: ``{"cells": {type: count}, "lut": LUT4s
    plus two per CCU2C carry cell and per TRELLIS_DPR16X4 RAM (the logic cells they take),
    "ff", "dsp", "bram"}`` (counts of cells). Raises :class:`json.JSONDecodeError` or
    :class:`KeyError` for text that is not yosys' statistics."""
    cells = dict(_design_section(text)["num_cells_by_type"])
    return {"cells": cells,
            "lut": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0)
            + 2 * cells.get("TRELLIS_DPR16X4", 0),
            "ff": cells.get("TRELLIS_FF", 0),
            "dsp": cells.get("MULT18X18D", 0),
            "bram": cells.get("DP16KD", 0)}


_REGISTER = re.compile(r"\$[a-z]*dff[a-z]*_(\d+)")


def parse_register_bits(text):
    """Register bits from ``stat -json -width`` text after ``proc`` (cells such as
    ``$dff_32``, ``$sdffe_4``: width times count)."""
    bits = 0
    for cell, count in _design_section(text)["num_cells_by_type"].items():
        match = _REGISTER.fullmatch(cell)
        if match:
            bits += int(match.group(1)) * count
    return bits


_UTIL = re.compile(r"^Info:\s+([A-Z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%", re.M)
_FMAX = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([0-9.]+) MHz\s+\((PASS|FAIL) at "
                   r"([0-9.]+) MHz\)")


def parse_nextpnr_log(text):
    """Placed utilisation and post-route Fmax from a nextpnr-ecp5 log.

    Returns ``{"utilisation": {cell: (used, available)}, "fmax": {clock: MHz}, "target":
    {clock: MHz}}``. Utilisation is the last "Device utilisation" table; nextpnr prints the
    Fmax of every clock after placement and again after routing: the last one counts.
    """
    utilisation = {}
    blocks = text.split("Device utilisation:")
    if len(blocks) > 1:
        table = blocks[-1].split("\n\n")[0]
        for line in table.splitlines()[1:]:
            match = _UTIL.match(line)
            if not match:
                if utilisation:
                    break
                continue
            utilisation[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    fmax, target = {}, {}
    for match in _FMAX.finditer(text):
        fmax[match.group(1)] = float(match.group(2))
        target[match.group(1)] = float(match.group(4))
    return {"utilisation": utilisation, "fmax": fmax, "target": target}
