"""The dense baseline on the Amaranth simulator: a random program, bit-exact and
cycle-exact against its model (the cocotb tests repeat this on the generated Verilog)."""

import pytest
from dense_scenarios import random_dense_program
from presets import SMALL_BUFFER_PRESETS, SMALL_PRESETS

from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import DENSE_CORE
from dstc.sim.config import preset


@pytest.mark.parametrize("preset_name", SMALL_PRESETS + SMALL_BUFFER_PRESETS)
def test_dense_core_random_program(preset_name, rng):
    config = preset(preset_name)
    commands = random_dense_program(rng, config, tiles=6, specials=0.05)
    run = simulate_commands(config, commands, design=DENSE_CORE)
    DENSE_CORE.check(config, commands, run, timing=True)
    assert len(run.accept_cycles) == len(commands) and run.responses
