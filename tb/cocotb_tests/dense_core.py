"""cocotb tests of the dense baseline (preset DSTC_PRESET) on its generated Verilog.

Environment: DSTC_PRESET, DSTC_SEED, DSTC_TILES (random dense tiles without stalls),
DSTC_STALL_TILES (with random command gaps and response backpressure) and DSTC_REPORT (a
JSON-lines file that receives one summary per test).
"""

import os

import cocotb
from command_bench import CONFIG, SEED, report, seeded_rng, timed_run
from dense_scenarios import (
    check_dense_run,
    dense_tile_operands,
    random_dense_program,
    special_dense_program,
    unsupported_program,
)

from dstc.gen.wire import DenseCommandEncoder
from dstc.hw.dense_core import DENSE_COUNTERS
from dstc.sim.dense_model import DOT_LENGTH, DenseGeometry
from dstc.sim.isa import Clear, DenseGroup, Drain, dense_group_commands


def _rng(salt):
    """A generator for ``salt``, its stream apart from those of the core's tests."""
    return seeded_rng(salt, 0xDE)


async def _run(dut, commands, **stalls):
    """:func:`~command_bench.timed_run` with the dense baseline's command encoding and
    counters."""
    return await timed_run(dut, commands, encoder=DenseCommandEncoder(CONFIG),
                           counters=DENSE_COUNTERS, **stalls)


@cocotb.test()
async def drain_after_reset(dut):
    """First test of the simulation: draining a tile nothing wrote since time 0 gives zeros
    (not X: Icarus leaves `always @*` logic X until an input changes)."""
    commands = [Drain(), Clear(), *dense_group_commands(
        *dense_tile_operands(_rng(6), CONFIG, 0.0, 0.0), DOT_LENGTH), Drain()]
    run, _ = await _run(dut, commands)
    check_dense_run(CONFIG, commands, run, timing=True)
    report(dut, test="drain_after_reset", mismatches=0)


@cocotb.test()
async def random_tiles(dut):
    """Random dense tiles at densities 0 to 1: bit-exact and cycle-exact (every command)."""
    tiles = int(os.environ.get("DSTC_TILES", "4"))
    commands = random_dense_program(_rng(1), CONFIG, tiles, specials=0.02)
    run, seconds = await _run(dut, commands)
    check_dense_run(CONFIG, commands, run, timing=True)
    groups = [i for i, c in enumerate(commands) if isinstance(c, DenseGroup)]
    per_tile = DenseGeometry.of(CONFIG).groups_per_tile
    # back-to-back groups of one tile: the tile's cycles, from accept to accept
    tile_cycles = run.accept_cycles[groups[per_tile]] - run.accept_cycles[groups[0]]
    if groups[per_tile] - groups[0] == per_tile:
        assert tile_cycles == CONFIG.dense_tile_issues, tile_cycles
    report(dut, test="random_tiles", seed=SEED, tiles=tiles, mismatches=0, cycles=run.cycles,
           dense_tile_cycles=tile_cycles, seconds=round(seconds, 3))


@cocotb.test()
async def random_tiles_with_stalls(dut):
    """Random gaps on the command stream and backpressure on responses: same results."""
    tiles = int(os.environ.get("DSTC_STALL_TILES", "2"))
    commands = random_dense_program(_rng(2), CONFIG, tiles)
    run, seconds = await _run(dut, commands, rng=_rng(3), gap_probability=0.3,
                              stall_probability=0.4)
    check_dense_run(CONFIG, commands, run, timing=False)
    report(dut, test="random_tiles_with_stalls", seed=SEED, tiles=tiles, mismatches=0,
           cycles=run.cycles, seconds=round(seconds, 3))


@cocotb.test()
async def special_values(dut):
    """Zeros, ones, integer wrap-around, fp16 largest/subnormal/inf/NaN, fp32 special C."""
    commands = special_dense_program(_rng(4), CONFIG)
    run, seconds = await _run(dut, commands)
    check_dense_run(CONFIG, commands, run, timing=True)
    report(dut, test="special_values", seed=SEED, mismatches=0, cycles=run.cycles,
           seconds=round(seconds, 3))


@cocotb.test()
async def unsupported_commands(dut):
    """Sparse-only and unknown opcodes are dropped and flagged; the dense work is intact."""
    commands, flags = unsupported_program(_rng(5), CONFIG)
    run, _ = await _run(dut, commands)
    model = check_dense_run(CONFIG, commands, run, timing=True)
    assert run.errors == int(flags) == model.errors
    report(dut, test="unsupported_commands", seed=SEED, mismatches=0)
