"""The DSTC core on the Amaranth simulator, with the same source, sink and accept monitor as
the cocotb tests (:mod:`dstc.gen.core_driver`): random tiles, malformed commands and
backpressure on the small preset, bit-exact and cycle-exact against the model (the cocotb
tests repeat these on the generated Verilog, at larger counts)."""

import pytest
from core_scenarios import malformed_programs, random_tile_program, spwmma_starts, tile_occupancies
from presets import SMALL_BUFFER_PRESETS, SMALL_PRESETS

from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import SPARSE_CORE
from dstc.sim.config import preset
from dstc.sim.isa import Spwmma


@pytest.mark.parametrize("preset_name", SMALL_PRESETS + ("small8-inline",) + SMALL_BUFFER_PRESETS)
def test_random_tiles(preset_name, rng):
    config = preset(preset_name)
    commands = random_tile_program(rng, config, tiles=6)
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    pairs = tile_occupancies(config, commands, run.accept_cycles)
    assert all(measured == predicted for measured, predicted in pairs), pairs
    if config.inline_kstep:
        # No headers: a SpWMMA starts where a run of increasing k-steps does, and two in a
        # row may read as one, so some programs have no pair of SpWMMAs to time apart (every
        # accept cycle was checked against the model above all the same).
        assert 0 < len(spwmma_starts(config, commands)) <= 6
    else:
        assert pairs
        assert sum(isinstance(command, Spwmma) for command in commands) == 6
    assert len(run.responses) == 2 * config.tile_m        # two drained output tiles


def test_random_tiles_with_stalls(rng):
    config = preset("small")
    commands = random_tile_program(rng, config, tiles=4)
    run = simulate_commands(config, commands, rng=rng, gap_probability=0.3,
                            stall_probability=0.4)
    SPARSE_CORE.check(config, commands, run, timing=False)
    unstalled = simulate_commands(config, commands)
    assert run.cycles > unstalled.cycles                    # the gaps and stalls took effect


def test_malformed_commands(rng):
    config = preset("small")
    programs = malformed_programs(rng, config)
    for name, (commands, flags, _) in programs.items():
        run = simulate_commands(config, commands)
        model = SPARSE_CORE.check(config, commands, run, timing=True)
        assert run.errors == int(flags) == model.errors, name
