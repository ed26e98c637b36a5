"""The whole core on its generated Verilog, in cocotb, on Icarus and Verilator: bit-exact
and cycle-exact against the golden model (tb/cocotb_tests/core.py)."""

import json

import pytest
from conftest import BUILD, TB_DIR
from designs import core_design

from dstc.gen.cocotb_run import SIMULATORS, run_cocotb
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb

# (random tiles, random tiles with stalls) per preset and simulator in `make test`. Icarus
# simulates the 32x32 fp16 core at about 40 cycles/s, so it runs fewer of those tiles;
# Verilator runs 100 random tiles of every preset.
TILES = {
    ("small", "verilator"): (200, 50), ("small", "icarus"): (200, 50),
    ("small-fp16", "verilator"): (200, 50), ("small-fp16", "icarus"): (200, 50),
    ("int8", "verilator"): (100, 16), ("int8", "icarus"): (100, 16),
    ("default", "verilator"): (100, 16), ("default", "icarus"): (32, 8),
}
SOAK_TILES = 2000


def run_core_tests(preset_name, simulator, seed, tiles, stall_tiles, testcase=None):
    """Run tb/cocotb_tests/core.py on the preset's core; returns the tests' summaries."""
    design = core_design(preset_name)
    build = BUILD / "sim" / design.name / simulator
    report = build / "report.jsonl"
    report.unlink(missing_ok=True)
    run_cocotb(verilog_path=design.path, toplevel=design.name, test_module="core",
               test_dir=TB_DIR / "cocotb_tests", simulator=simulator, build_dir=build,
               testcase=testcase,
               extra_env={"DSTC_PRESET": preset_name, "DSTC_SEED": str(seed),
                          "DSTC_TILES": str(tiles), "DSTC_STALL_TILES": str(stall_tiles),
                          "DSTC_REPORT": str(report)})
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


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "int8", "default"])
def test_core_soak(preset_name, seed):
    """`make soak`: 2,000 random tiles per preset (and 200 with stalls), zero mismatches."""
    results = run_core_tests(preset_name, "verilator", seed, SOAK_TILES, SOAK_TILES // 10,
                             testcase=["random_tiles", "random_tiles_with_stalls"])
    summary = {entry["test"]: entry for entry in results}
    assert summary["random_tiles"]["tiles"] == SOAK_TILES
    assert summary["random_tiles"]["mismatches"] == 0
    print(json.dumps(results, indent=1))
