"""cocotb tests of the whole core (preset DSTC_PRESET) on its generated Verilog.

Environment: DSTC_PRESET, DSTC_SEED, DSTC_TILES (random tiles without stalls),
DSTC_STALL_TILES (random tiles with random command gaps and response backpressure) and
DSTC_REPORT (a JSON-lines file that receives one summary per test).
"""

import os

import cocotb
import numpy as np
from command_bench import CONFIG, SEED, report, seeded_rng, timed_run
from core_scenarios import (
    check_run,
    dense_program,
    malformed_programs,
    random_tile_program,
    structured_program,
    tile_occupancies,
    worked_example_program,
)

from dstc.sim.isa import Dense, Drain, Spwmma


@cocotb.test()
async def drain_after_reset(dut):
    """First test of the simulation: draining a tile nothing wrote since time 0 gives zeros
    (not X: Icarus leaves `always @*` logic X until an input changes)."""
    commands = [Drain(), Drain(relu=True, encode=True)]
    run, _ = await timed_run(dut, commands)
    check_run(CONFIG, commands, run, timing=True)
    report(dut, test="drain_after_reset", mismatches=0)


@cocotb.test()
async def random_tiles(dut):
    """Random tiles over the density grid: bit-exact and cycle-exact (every command)."""
    tiles = int(os.environ.get("DSTC_TILES", "16"))
    commands = random_tile_program(seeded_rng(1), CONFIG, tiles)
    run, seconds = await timed_run(dut, commands)
    check_run(CONFIG, commands, run, timing=True)
    pairs = tile_occupancies(CONFIG, commands, run.accept_cycles)
    assert pairs and all(measured == predicted for measured, predicted in pairs), pairs
    report(dut, test="random_tiles", seed=SEED, tiles=tiles, mismatches=0,
           cycles=run.cycles, occupancy_checked=len(pairs), seconds=round(seconds, 3),
           ohmma=run.counters["ohmma_issued"])


@cocotb.test()
async def random_tiles_with_stalls(dut):
    """Random gaps on the command stream and backpressure on responses: same results."""
    tiles = int(os.environ.get("DSTC_STALL_TILES", "8"))
    commands = random_tile_program(seeded_rng(2), CONFIG, tiles)
    run, seconds = await timed_run(dut, commands, rng=seeded_rng(3), gap_probability=0.3,
                                   stall_probability=0.4)
    check_run(CONFIG, commands, run, timing=False)
    report(dut, test="random_tiles_with_stalls", seed=SEED, tiles=tiles, mismatches=0,
           cycles=run.cycles, seconds=round(seconds, 3))


@cocotb.test()
async def structured_tiles(dut):
    """Empty tile, one nonzero, full rows/columns, all chunks full, specials, drain modes."""
    commands = structured_program(seeded_rng(4), CONFIG)
    run, seconds = await timed_run(dut, commands)
    check_run(CONFIG, commands, run, timing=True)
    report(dut, test="structured_tiles", seed=SEED,
           tiles=sum(isinstance(c, Spwmma) for c in commands), mismatches=0,
           cycles=run.cycles, seconds=round(seconds, 3))


@cocotb.test()
async def dense_mode(dut):
    """Dense k-steps at full throughput: a dense tile takes dense_tile_issues cycles."""
    commands = dense_program(seeded_rng(5), CONFIG, tiles=2)
    run, seconds = await timed_run(dut, commands)
    check_run(CONFIG, commands, run, timing=True)
    dense = [i for i, c in enumerate(commands) if isinstance(c, Dense)]
    second = dense[CONFIG.k_chunk]
    measured = run.accept_cycles[second] - run.accept_cycles[dense[0]]
    assert measured == CONFIG.dense_tile_issues, measured
    report(dut, test="dense_mode", seed=SEED, dense_tile_cycles=measured, mismatches=0,
           seconds=round(seconds, 3))


@cocotb.test()
async def malformed_commands(dut):
    """Each malformed command: its flag, nothing else changed, no hang."""
    for name, (commands, flags, _) in malformed_programs(seeded_rng(6), CONFIG).items():
        run, _ = await timed_run(dut, commands)
        model = check_run(CONFIG, commands, run, timing=True)
        assert run.errors == int(flags) == model.errors, name
    report(dut, test="malformed_commands", seed=SEED, programs=len(malformed_programs(
        seeded_rng(6), CONFIG)), mismatches=0)


@cocotb.test(skip=CONFIG.tile_m != 8 or CONFIG.operand.is_float)
async def worked_example(dut):
    """The worked example of docs/isa.md, cycle by cycle (small preset)."""
    commands, accept, finish, tile = worked_example_program(CONFIG)
    run, _ = await timed_run(dut, commands)
    check_run(CONFIG, commands, run, timing=True)
    assert run.accept_cycles == accept and run.cycles == finish
    assert np.array_equal(np.array([r.values for r in run.responses]), tile)
