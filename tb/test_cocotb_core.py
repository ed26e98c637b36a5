"""The whole core on its generated Verilog, in cocotb, on Icarus and Verilator: bit-exact
and cycle-exact against the golden model (tb/cocotb_tests/core.py)."""

import json

import pytest
from conftest import BUILD, TB_DIR
from designs import generated_verilog

from dstc.gen.cocotb_run import SIMULATORS, run_cocotb
from dstc.hw.core import DstcCore
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb

# Random tiles per preset and simulator in `make test` (stall tiles in parentheses). Icarus
# re-evaluates the whole tile network every cycle, so it runs fewer of the 32x32 tiles.
TILES = {
    ("small", "verilator"): (200, 50), ("small", "icarus"): (100, 25),
    ("small-fp16", "verilator"): (200, 50), ("small-fp16", "icarus"): (100, 25),
    ("int8", "verilator"): (100, 16), ("int8", "icarus"): (16, 4),
    ("default", "verilator"): (100, 16), ("default", "icarus"): (16, 4),
}


def core_design(preset_name):
    config = preset(preset_name)
    name = f"dstc_core_{preset_name.replace('-', '_')}"
    return generated_verilog(name, lambda: DstcCore(config), params=config.to_json())


def run_core_tests(preset_name, simulator, seed, tiles, stall_tiles, report=None, slow=False):
    design = core_design(preset_name)
    build = BUILD / "sim" / design.name / simulator
    report = report or build / "report.jsonl"
    report.unlink(missing_ok=True)
    run_cocotb(verilog_path=design.path, toplevel=design.name, test_module="core",
               test_dir=TB_DIR / "cocotb_tests", simulator=simulator, build_dir=build,
               extra_env={"DSTC_PRESET": preset_name, "DSTC_SEED": str(seed),
                          "DSTC_TILES": str(tiles), "DSTC_STALL_TILES": str(stall_tiles),
                          "DSTC_REPORT": str(report)},
               cxx_opt="-O1" if slow else "-O0")
    return [json.loads(line) for line in report.read_text().splitlines()]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "int8", "default"])
def test_core(preset_name, simulator, seed):
    tiles, stall_tiles = TILES[(preset_name, simulator)]
    results = run_core_tests(preset_name, simulator, seed, tiles, stall_tiles)
    summary = {entry["test"]: entry for entry in results}
    assert summary["random_tiles"]["tiles"] == tiles
    assert summary["dense_mode"]["dense_tile_cycles"] == preset(preset_name).dense_tile_issues
    print(json.dumps(results, indent=1))
