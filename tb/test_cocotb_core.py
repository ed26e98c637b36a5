"""The whole core on its generated Verilog, in cocotb, on Icarus and Verilator: bit-exact
and cycle-exact against the golden model (tb/cocotb_tests/core.py)."""

import numpy as np
import pytest
from command_runs import run_command_tests, run_soak
from core_scenarios import random_tile_program
from designs import core_design
from presets import PRESETS, SMALL_PRESETS

from dstc.gen.cocotb_run import SIMULATORS
from dstc.gen.core_driver import simulate_commands
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


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", PRESETS)
def test_core(preset_name, simulator, seed):
    tiles, stall_tiles = TILES[(preset_name, simulator)]
    summary = run_command_tests(core_design(preset_name), "core", preset_name, simulator,
                                seed, tiles, stall_tiles)
    assert summary["random_tiles"]["tiles"] == tiles
    assert summary["random_tiles_with_stalls"]["tiles"] == stall_tiles
    assert summary["dense_mode"]["dense_tile_cycles"] == preset(preset_name).dense_tile_issues
    assert summary["malformed_commands"]["programs"] == 7
    for test in ("drain_after_reset", "random_tiles", "random_tiles_with_stalls",
                 "structured_tiles", "dense_mode"):
        assert summary[test]["responses"] > 0, summary[test]
        assert summary[test]["commands"] > 0 and summary[test]["cycles"] > 0, summary[test]
    assert summary["random_tiles"]["occupancy_checked"] > 0
    if preset_name in SMALL_PRESETS and simulator == "verilator":
        check_twin(preset(preset_name), stall_tiles, summary["random_tiles_with_stalls"])


def check_twin(config, stall_tiles, stalled):
    """The Amaranth-simulator twin of the driver runs cocotb's ``random_tiles_with_stalls``
    (the same program, gaps and stalls: the seed it reports, salted as in
    tb/cocotb_tests/core.py) in as many cycles, accepting as many commands and taking as
    many responses."""
    seed = stalled["seed"]
    commands = random_tile_program(np.random.default_rng([seed, 2]), config, stall_tiles)
    run = simulate_commands(config, commands, rng=np.random.default_rng([seed, 3]),
                            gap_probability=0.3, stall_probability=0.4)
    assert (run.cycles, len(run.accept_cycles), len(run.responses)) == \
        (stalled["cycles"], stalled["commands"], stalled["responses"]), stalled


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", PRESETS)
def test_core_soak(preset_name, seed):
    """`make soak`: 2,000 random tiles per preset (and 200 with stalls), zero mismatches."""
    run_soak(core_design(preset_name), "core", preset_name, seed, SOAK_TILES)
