"""The dense baseline on its generated Verilog, in cocotb, on Icarus and Verilator:
bit-exact and cycle-exact against its model (tb/cocotb_tests/dense_core.py)."""

import pytest
from command_runs import run_command_tests, run_soak
from designs import dense_design
from presets import BUFFER_PRESETS, PRESETS, SMALL_BUFFER_PRESETS

from dstc.gen.cocotb_run import SIMULATORS
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb

# (random tiles, random tiles with stalls) per preset and simulator in `make test`.
TILES = {
    ("small", "verilator"): (100, 20), ("small", "icarus"): (100, 20),
    ("small-fp16", "verilator"): (100, 20), ("small-fp16", "icarus"): (100, 20),
    ("small8", "verilator"): (24, 6), ("small8", "icarus"): (24, 6),
    ("small8-tb2", "verilator"): (24, 6), ("small8-tb2", "icarus"): (24, 6),
    ("int8", "verilator"): (100, 16), ("int8", "icarus"): (24, 4),
    ("default", "verilator"): (100, 16), ("default", "icarus"): (12, 4),
}
SOAK_TILES = 1000


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", PRESETS + SMALL_BUFFER_PRESETS)
def test_dense_core(preset_name, simulator, seed):
    tiles, stall_tiles = TILES[(preset_name, simulator)]
    summary = run_command_tests(dense_design(preset_name), "dense_core", preset_name, simulator,
                                seed, tiles, stall_tiles)
    assert set(summary) == {"drain_after_reset", "random_tiles", "random_tiles_with_stalls",
                            "special_values", "unsupported_commands"}
    assert summary["random_tiles"]["tiles"] == tiles
    assert summary["random_tiles_with_stalls"]["tiles"] == stall_tiles
    assert summary["random_tiles"]["dense_tile_cycles"] == preset(preset_name).dense_tile_issues
    for entry in summary.values():
        assert entry["responses"] > 0 and entry["commands"] > 0 and entry["cycles"] > 0, entry
    assert summary["unsupported_commands"]["errors"] == 1           # UNKNOWN_OPCODE


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", PRESETS + BUFFER_PRESETS)
def test_dense_core_soak(preset_name, seed):
    """`make soak`: 1,000 random dense tiles per preset (and 100 with stalls)."""
    run_soak(dense_design(preset_name), "dense_core", preset_name, seed, SOAK_TILES)
