"""The dense baseline on its generated Verilog, in cocotb, on Icarus and Verilator:
bit-exact and cycle-exact against its model (tb/cocotb_tests/dense_core.py)."""

import json

import pytest
from conftest import BUILD, TB_DIR
from designs import dense_design

from dstc.gen.cocotb_run import SIMULATORS, run_cocotb
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb

# (random tiles, random tiles with stalls) per preset and simulator in `make test`.
TILES = {
    ("small", "verilator"): (100, 20), ("small", "icarus"): (100, 20),
    ("small-fp16", "verilator"): (100, 20), ("small-fp16", "icarus"): (100, 20),
    ("int8", "verilator"): (100, 16), ("int8", "icarus"): (24, 4),
    ("default", "verilator"): (100, 16), ("default", "icarus"): (12, 4),
}
SOAK_TILES = 1000


def run_dense_tests(preset_name, simulator, seed, tiles, stall_tiles, testcase=None):
    """Run tb/cocotb_tests/dense_core.py on the preset's baseline; returns the summaries."""
    design = dense_design(preset_name)
    build = BUILD / "sim" / design.name / simulator
    report = build / "report.jsonl"
    report.unlink(missing_ok=True)
    run_cocotb(verilog_path=design.path, toplevel=design.name, test_module="dense_core",
               test_dir=TB_DIR / "cocotb_tests", simulator=simulator, build_dir=build,
               testcase=testcase,
               extra_env={"DSTC_PRESET": preset_name, "DSTC_SEED": str(seed),
                          "DSTC_TILES": str(tiles), "DSTC_STALL_TILES": str(stall_tiles),
                          "DSTC_REPORT": str(report)})
    return [json.loads(line) for line in report.read_text().splitlines()]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "int8", "default"])
def test_dense_core(preset_name, simulator, seed):
    tiles, stall_tiles = TILES[(preset_name, simulator)]
    results = run_dense_tests(preset_name, simulator, seed, tiles, stall_tiles)
    summary = {entry["test"]: entry for entry in results}
    assert set(summary) == {"drain_after_reset", "random_tiles", "random_tiles_with_stalls",
                            "special_values", "unsupported_commands"}
    assert summary["random_tiles"]["tiles"] == tiles
    assert summary["random_tiles"]["dense_tile_cycles"] == preset(preset_name).dense_tile_issues
    print(json.dumps(results, indent=1))


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "int8", "default"])
def test_dense_core_soak(preset_name, seed):
    """`make soak`: 1,000 random dense tiles per preset (and 100 with stalls)."""
    results = run_dense_tests(preset_name, "verilator", seed, SOAK_TILES, SOAK_TILES // 10,
                              testcase=["random_tiles", "random_tiles_with_stalls"])
    summary = {entry["test"]: entry for entry in results}
    assert summary["random_tiles"]["tiles"] == SOAK_TILES
    assert summary["random_tiles"]["mismatches"] == 0
    print(json.dumps(results, indent=1))
