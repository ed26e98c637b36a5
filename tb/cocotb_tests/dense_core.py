"""cocotb tests of the dense baseline (preset DSTC_PRESET) on its generated Verilog.

Environment: DSTC_PRESET, DSTC_SEED, DSTC_TILES (random dense tiles without stalls),
DSTC_STALL_TILES (with random command gaps and response backpressure) and DSTC_REPORT (a
JSON-lines file that receives one summary per test). Every test raises on a difference from
the model; the summaries hold only what was measured.
"""

import os

import cocotb
from command_bench import CONFIG, SEED, checked_run, report, seeded_rng
from dense_scenarios import (
    dense_tile_operands,
    random_dense_program,
    special_dense_program,
    unsupported_program,
)

from dstc.gen.design import DENSE_CORE
from dstc.sim.isa import DOT_LENGTH, Clear, DenseGeometry, DenseGroup, Drain, dense_group_commands

GROUPS_PER_TILE = DenseGeometry.of(CONFIG).groups_per_tile


def _rng(salt):
    """A generator for ``salt``, its stream apart from those of the core's tests."""
    return seeded_rng(salt, 0xDE)


def _tiles(commands):
    """Dense tiles in ``commands`` (their DENSE groups over the groups of one tile)."""
    groups = sum(isinstance(command, DenseGroup) for command in commands)
    assert groups % GROUPS_PER_TILE == 0, groups
    return groups // GROUPS_PER_TILE


@cocotb.test()
async def drain_after_reset(dut):
    """First test of the simulation: draining a tile nothing wrote since time 0 gives zeros
    (not X: Icarus leaves `always @*` logic X until an input changes)."""
    commands = [Drain(), Clear(), *dense_group_commands(
        *dense_tile_operands(_rng(6), CONFIG, 0.0, 0.0), DOT_LENGTH), Drain()]
    _, _, measured = await checked_run(dut, DENSE_CORE, commands)
    report(dut, test="drain_after_reset", **measured)


@cocotb.test()
async def random_tiles(dut):
    """Random dense tiles at densities 0 to 1: bit-exact and cycle-exact (every command)."""
    commands = random_dense_program(_rng(1), CONFIG, int(os.environ.get("DSTC_TILES", "4")),
                                    specials=0.02)
    run, _, measured = await checked_run(dut, DENSE_CORE, commands)
    groups = [i for i, c in enumerate(commands) if isinstance(c, DenseGroup)]
    # back-to-back groups of one tile: the tile's cycles, from accept to accept
    tile_cycles = run.accept_cycles[groups[GROUPS_PER_TILE]] - run.accept_cycles[groups[0]]
    if groups[GROUPS_PER_TILE] - groups[0] == GROUPS_PER_TILE:
        assert tile_cycles == CONFIG.dense_tile_issues, tile_cycles
    report(dut, test="random_tiles", seed=SEED, tiles=_tiles(commands), **measured,
           dense_tile_cycles=tile_cycles)


@cocotb.test()
async def random_tiles_with_stalls(dut):
    """Random gaps on the command stream and backpressure on responses: same results."""
    commands = random_dense_program(_rng(2), CONFIG,
                                    int(os.environ.get("DSTC_STALL_TILES", "2")))
    _, _, measured = await checked_run(dut, DENSE_CORE, commands, timing=False, rng=_rng(3),
                                       gap_probability=0.3, stall_probability=0.4)
    report(dut, test="random_tiles_with_stalls", seed=SEED, tiles=_tiles(commands),
           **measured)


@cocotb.test()
async def special_values(dut):
    """Zeros, ones, integer wrap-around, fp16 largest/subnormal/inf/NaN, fp32 special C."""
    commands = special_dense_program(_rng(4), CONFIG)
    _, _, measured = await checked_run(dut, DENSE_CORE, commands)
    report(dut, test="special_values", seed=SEED, **measured)


@cocotb.test()
async def unsupported_commands(dut):
    """Sparse-only and unknown opcodes are dropped and flagged; the dense work is intact."""
    commands, flags = unsupported_program(_rng(5), CONFIG)
    run, model, measured = await checked_run(dut, DENSE_CORE, commands)
    assert run.errors == int(flags) == model.errors
    report(dut, test="unsupported_commands", seed=SEED, errors=run.errors, **measured)
