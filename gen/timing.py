"""Static timing of a mapped netlist with OpenSTA (the ``sta`` command of Debian's opensta).

The netlist is the hierarchical one of ``dstc.gen.synth`` (stage ``cells``); OpenSTA links
its hierarchy and times every register-to-register, input-to-register and register-to-output
path against one ideal clock on port ``clk``: inputs arrive at the clock edge from the
driving cell of :data:`dstc.gen.synth.ABC_CONSTRAINTS`, outputs see its load, and no wire
loads are modelled (cell pin capacitances only). The critical path's required period is the
clock period minus its slack (its arrival time plus the capture flip-flop's setup time), and
the estimated maximum clock is its inverse.
"""

import re
import shutil
from pathlib import Path

from .synth import ABC_CONSTRAINTS
from .tools import ToolError, ToolRun

__all__ = ["StaMissing", "StaError", "find_sta", "run_sta", "parse_report", "endpoint_group"]


class StaMissing(FileNotFoundError):
    """OpenSTA's ``sta`` is not installed."""


class StaError(ToolError):
    """OpenSTA failed or printed no timing path."""


def find_sta():
    """Path of the ``sta`` command; raises :class:`StaMissing` naming the make target."""
    path = shutil.which("sta")
    if path is None:
        raise StaMissing("OpenSTA (`sta`) not found: run `make tech` (apt-get install "
                         "opensta), or pass --no-timing")
    return path


_SCRIPT = """\
read_liberty {liberty}
read_verilog {netlist}
link_design {top}
create_clock -name clk -period {period_ns} [get_ports clk]
set inputs [delete_from_list [all_inputs] [get_ports clk]]
set_input_delay 0 -clock clk $inputs
set_driving_cell -lib_cell {driving_cell} $inputs
set_output_delay 0 -clock clk [all_outputs]
set_load {load_pf} [all_outputs]
puts "@@ critical path"
report_checks -path_delay max -digits 3 -fields {{capacitance slew}}
puts "@@ endpoints"
report_checks -path_delay max -digits 3 -group_count 1000000 -endpoint_count 1 -format end
report_wns
report_tns
exit
"""

_START = re.compile(r"^Startpoint: (\S+)", re.M)
_END = re.compile(r"^Endpoint: (\S+)", re.M)
_ARRIVAL = re.compile(r"^\s*(-?[0-9.]+)\s+data arrival time", re.M)
_SLACK = re.compile(r"^\s*(-?[0-9.]+)\s+slack \((MET|VIOLATED)\)", re.M)
_SETUP = re.compile(r"^\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s+library setup time", re.M)
_PIN = re.compile(r"^(?:\s+[-0-9.]+){2,4}\s+[v^]\s+(\S+) \((\w+)\)$", re.M)
_ENDPOINT = re.compile(r"^(\S+) \((\w+)\)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+) \(", re.M)
_REGISTER = re.compile(r"_reg(\[\d+\])?$")


def endpoint_group(pin):
    """The part of the design an endpoint ``pin`` of the report belongs to: the top-level
    instance it sits in, else (a flip-flop of the top module or an output port) the register
    or port name without bit index."""
    parts = pin.split("/")
    if len(parts) > 2:
        return parts[0]
    return _REGISTER.sub("", re.sub(r"\[\d+\]$", "", parts[0]))


def parse_report(text, period_ns):
    """The critical path of an OpenSTA report written by :func:`run_sta` for a clock of
    ``period_ns`` (ns; times below are in ns, frequencies in MHz): ``startpoint``,
    ``endpoint``, ``arrival_ns``, ``setup_ns``, ``slack_ns``, ``required_period_ns``,
    ``fmax_mhz``, ``cells`` (instances on the path) and ``worst_by_group``: the slowest
    endpoint of each :func:`endpoint_group`, slowest first, as ``[group, endpoint pin,
    required period]``. Raises :class:`StaError` when the report holds no timing path."""
    critical, _, endpoints = text.partition("@@ endpoints")
    found = [pattern.search(critical) for pattern in (_START, _END, _ARRIVAL, _SLACK)]
    if not all(found):
        raise StaError("no timing path in the OpenSTA report")
    start, end, arrival, slack = found
    setup = _SETUP.search(critical)
    slack_ns = float(slack.group(1))
    required = period_ns - slack_ns
    worst = {}
    for match in _ENDPOINT.finditer(endpoints):
        pin, period = match.group(1), period_ns - float(match.group(5))
        group = endpoint_group(pin)
        if group not in worst or period > worst[group][1]:
            worst[group] = (pin, period)
    return {
        "startpoint": start.group(1),
        "endpoint": end.group(1),
        "arrival_ns": float(arrival.group(1)),
        "setup_ns": -float(setup.group(1)) if setup else 0.0,
        "slack_ns": slack_ns,
        "required_period_ns": required,
        "fmax_mhz": 1000.0 / required if required > 0 else float("inf"),
        "cells": len({pin.rpartition("/")[0] for pin, _ in _PIN.findall(critical)}),
        "worst_by_group": sorted(([group, pin, period] for group, (pin, period) in worst.items()),
                                 key=lambda row: (-row[2], row[0])),
    }


def run_sta(netlist, top, liberty, work_dir, period_ns=10.0):
    """Time ``netlist`` (module ``top``) against ``liberty`` with a clock of ``period_ns``
    (the result does not depend on it, only the slack does). Writes ``sta.tcl`` and the report
    ``sta.log`` into ``work_dir`` and returns :func:`parse_report`'s figures plus ``seconds``
    (wall time), ``peak_rss_mb`` (MiB) and ``report`` (the log's path). Raises
    :class:`StaMissing` when OpenSTA is not installed and :class:`StaError` when it fails,
    reports an error or prints no timing path."""
    sta = find_sta()
    work_dir = Path(work_dir)
    script = work_dir / "sta.tcl"
    log = work_dir / "sta.log"
    script.write_text(_SCRIPT.format(liberty=Path(liberty).resolve(),
                                     netlist=Path(netlist).resolve(), top=top,
                                     period_ns=period_ns, **ABC_CONSTRAINTS))
    run = ToolRun((sta, "-no_splash", "-exit", str(script.resolve())), work_dir, log).execute()
    run.check("OpenSTA", StaError)
    if re.search(r"(?m)^Error", run.log_text()):
        raise run.error("OpenSTA", StaError, reason="an error in its report")
    result = parse_report(run.log_text(), period_ns)
    result.update(seconds=run.seconds, peak_rss_mb=run.peak_rss_mb, report=str(log))
    return result
