"""cocotb tests of the whole core (preset DSTC_PRESET) on its generated Verilog.

Environment: DSTC_PRESET, DSTC_SEED, DSTC_TILES (random tiles without stalls),
DSTC_STALL_TILES (random tiles with random command gaps and response backpressure) and
DSTC_REPORT (a JSON-lines file that receives one summary per test). Every test raises on a
difference from the model; the summaries hold only what was measured (commands accepted,
response beats compared, cycles, tiles counted in the commands run).
"""

import os

import cocotb
import numpy as np
from command_bench import CONFIG, SEED, checked_run, report, seeded_rng
from core_scenarios import (
    dense_program,
    empty_side_ksteps,
    malformed_programs,
    random_tile_program,
    same_gemm,
    spwmma_starts,
    structured_program,
    tile_occupancies,
    worked_example_program,
)

from dstc.gen.design import SPARSE_CORE
from dstc.sim.isa import Dense, Drain


def _tiles(commands):
    """SpWMMA tiles in ``commands`` (with inline bitmaps: those that sent a KSTEP,
    :func:`~core_scenarios.spwmma_starts`)."""
    return len(spwmma_starts(CONFIG, commands))


@cocotb.test()
async def drain_after_reset(dut):
    """First test of the simulation: draining a tile nothing wrote since time 0 gives zeros
    (not X: Icarus leaves `always @*` logic X until an input changes)."""
    commands = [Drain(), Drain(relu=True, encode=True)]
    _, _, measured = await checked_run(dut, SPARSE_CORE, commands)
    report(dut, test="drain_after_reset", **measured)


@cocotb.test()
async def random_tiles(dut):
    """Random tiles over the density grid: bit-exact and cycle-exact (every command)."""
    commands = random_tile_program(seeded_rng(1), CONFIG, int(os.environ.get("DSTC_TILES", "16")))
    run, _, measured = await checked_run(dut, SPARSE_CORE, commands)
    pairs = tile_occupancies(CONFIG, commands, run.accept_cycles)
    # With inline bitmaps SpWMMAs have no header and two in a row may read as one, so a
    # program may have no pair to time apart (every accept cycle is checked all the same).
    assert (pairs or CONFIG.inline_kstep) and all(got == predicted for got, predicted in pairs), \
        pairs
    report(dut, test="random_tiles", seed=SEED, tiles=_tiles(commands), **measured,
           occupancy_checked=len(pairs), ohmma=run.counters["ohmma_issued"])


@cocotb.test()
async def random_tiles_with_stalls(dut):
    """Random gaps on the command stream and backpressure on responses: same results."""
    commands = random_tile_program(seeded_rng(2), CONFIG,
                                   int(os.environ.get("DSTC_STALL_TILES", "8")))
    _, _, measured = await checked_run(dut, SPARSE_CORE, commands, timing=False,
                                       rng=seeded_rng(3), gap_probability=0.3,
                                       stall_probability=0.4)
    report(dut, test="random_tiles_with_stalls", seed=SEED, tiles=_tiles(commands), **measured)


@cocotb.test()
async def structured_tiles(dut):
    """Empty tile, one nonzero, full rows/columns, all chunks full, specials, drain modes."""
    commands = structured_program(seeded_rng(4), CONFIG)
    _, _, measured = await checked_run(dut, SPARSE_CORE, commands)
    report(dut, test="structured_tiles", seed=SEED, tiles=_tiles(commands), **measured)


@cocotb.test()
async def dense_mode(dut):
    """Dense k-steps at full throughput: a dense tile takes dense_tile_issues cycles."""
    commands = dense_program(seeded_rng(5), CONFIG, tiles=2)
    run, _, measured = await checked_run(dut, SPARSE_CORE, commands)
    dense = [i for i, c in enumerate(commands) if isinstance(c, Dense)]
    second = dense[CONFIG.k_chunk]
    tile_cycles = run.accept_cycles[second] - run.accept_cycles[dense[0]]
    assert tile_cycles == CONFIG.dense_tile_issues, tile_cycles
    report(dut, test="dense_mode", seed=SEED, dense_tile_cycles=tile_cycles, **measured)


@cocotb.test()
async def malformed_commands(dut):
    """Each malformed command: its flag, nothing else changed, no hang."""
    programs, responses = 0, 0
    for name, (commands, flags, _) in malformed_programs(seeded_rng(6), CONFIG).items():
        run, model, measured = await checked_run(dut, SPARSE_CORE, commands)
        assert run.errors == int(flags) == model.errors, name
        programs += 1
        responses += measured["responses"]
    report(dut, test="malformed_commands", seed=SEED, programs=programs, responses=responses)


@cocotb.test(skip=CONFIG.tile_m != 8 or CONFIG.operand.is_float)
async def worked_example(dut):
    """The worked example of docs/isa.md, cycle by cycle (small preset)."""
    commands, accept, finish, tile = worked_example_program(CONFIG)
    run, _, measured = await checked_run(dut, SPARSE_CORE, commands)
    assert run.accept_cycles == accept and run.cycles == finish
    assert np.array_equal(np.array([r.values for r in run.responses]), tile)
    report(dut, test="worked_example", **measured)


@cocotb.test(skip=not CONFIG.inline_kstep)
async def inline_empty_sides(dut):
    """Inline KSTEPs with an empty side are accepted and issue nothing (tile, counters and
    cycles as the model: each costs only its accept cycle)."""
    commands = empty_side_ksteps(seeded_rng(7), CONFIG)
    run, model, measured = await checked_run(dut, SPARSE_CORE, commands)
    assert run.errors == 0 and run.counters["ohmma_issued"] == 4 * CONFIG.max_ohmma_per_kstep
    report(dut, test="inline_empty_sides", seed=SEED, **measured)


#: Tiles of at most this many cells run ``header_saving`` (small presets: a quick GEMM).
SAVING_TILE_CELLS = 256


@cocotb.test(skip=CONFIG.tile_m * CONFIG.tile_n > SAVING_TILE_CELLS)
async def header_saving(dut):
    """One GEMM drawn from DSTC_SEED alone (the same on every preset of one shape), checked
    bit for bit and cycle for cycle; with inline bitmaps it also takes exactly one cycle per
    SPWMMA header fewer than the header ISA's program of the same GEMM (every SpWMMA of which
    issues, so no header hides in a drain's wait). Reports the cycles, the headers and a
    digest of the drained tiles, which tb/test_cocotb_core.py compares across presets."""
    gemm = same_gemm(np.random.default_rng([SEED, 8]), CONFIG)
    run, _, measured = await checked_run(dut, SPARSE_CORE, gemm.commands)
    if CONFIG.inline_kstep:
        assert run.cycles == gemm.header_cycles - gemm.headers, (run.cycles, gemm)
    else:
        assert run.cycles == gemm.header_cycles, (run.cycles, gemm)
    report(dut, test="header_saving", seed=SEED, headers=gemm.headers,
           header_cycles=gemm.header_cycles, digest=gemm.digest(run.responses), **measured)
