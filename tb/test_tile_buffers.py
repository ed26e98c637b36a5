"""Two accumulator tile buffers (``tile_buffers=2``, docs/isa.md "Two tile buffers"): the
configuration field, the DRAIN swap in both models, the overlapped timing, and both cores on
the Amaranth simulator against the models (the cocotb tests repeat the random programs on
the generated Verilog)."""

import numpy as np
import pytest
from core_scenarios import random_tile_program
from dense_scenarios import dense_tile_operands, random_dense_program

from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import DENSE_CORE, SPARSE_CORE
from dstc.sim.bitmap import encode_vectors
from dstc.sim.config import ConfigError, DstcConfig, preset
from dstc.sim.core_model import CoreModel
from dstc.sim.cycles import CoreTiming
from dstc.sim.dense_model import DenseCoreModel
from dstc.sim.gemm_cycles import dense_baseline_cycles, dense_mode_cycles, gemm_cycles
from dstc.sim.isa import (
    DOT_LENGTH,
    Clear,
    ClearStatus,
    Drain,
    LoadRow,
    Opcode,
    dense_group_commands,
    pipeline_latency,
    tile_commands,
)

ONE, TWO = preset("small8"), preset("small8-tb2")


@pytest.mark.parametrize("value, message", [
    (3, "tile_buffers=3: must be one of [1, 2]"),
    (0, "tile_buffers=0: must be one of [1, 2]"),
    ("2", "tile_buffers='2': must be one of [1, 2]"),
    (True, "tile_buffers=True: must be one of [1, 2]"),
])
def test_bad_tile_buffers_are_refused(value, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        DstcConfig(tile_buffers=value)


def test_the_field_round_trips_and_is_described():
    assert DstcConfig.from_json(TWO.to_json()) == TWO
    assert TWO.describe().endswith(", 2 tile buffers")
    assert "tile buffers" not in ONE.describe()


def _row_loads(config, value):
    return [LoadRow(row=r, values=np.full(config.tile_n, value + r)) for r in range(config.tile_m)]


def _rows(responses):
    return np.array([row.values for row in responses])


@pytest.mark.parametrize("model_class", [CoreModel, DenseCoreModel])
def test_drain_swaps_the_buffers(model_class):
    """With two buffers a DRAIN sends the front tile and swaps: the commands after it fill
    the other buffer, and DRAINs alternate between the two; with one buffer two DRAINs send
    the same tile."""
    config = TWO
    model = model_class(config)
    _, first = model.run([*_row_loads(config, 10), Drain()])
    _, fresh = model.run([Drain()])                 # the other buffer: still zero
    _, again = model.run([Drain()])                 # back to the first tile
    assert np.array_equal(_rows(first)[:, 0], 10 + np.arange(config.tile_m))
    assert not _rows(fresh).any()
    assert np.array_equal(_rows(again), _rows(first))
    _, refill = model.run([*_row_loads(config, 50), Clear(), Drain(), Drain()])
    assert not _rows(refill)[:config.tile_m].any()  # the CLEAR acted on the front buffer
    assert np.array_equal(_rows(refill)[config.tile_m:], _rows(first))

    single = model_class(ONE)
    _, rows = single.run([*_row_loads(ONE, 10), Drain(), Drain()])
    assert np.array_equal(_rows(rows)[:ONE.tile_m], _rows(rows)[ONE.tile_m:])


def test_core_timing_overlaps_the_drain():
    """After a DRAIN in cycle t: with one buffer nothing before t + tile_m + 1; with two the
    next command at t + 1, the next DRAIN no earlier than t + tile_m + 1."""
    tm = TWO.tile_m
    for config, clear_after in ((ONE, tm + 1), (TWO, 1)):
        timing = CoreTiming(config)
        drain = timing.accept(Opcode.DRAIN)
        clear = timing.accept(Opcode.CLEAR)
        assert clear == drain + clear_after
        issue = timing.accept(Opcode.KSTEP, issues=2)
        assert issue == clear + 1
        second = timing.accept(Opcode.DRAIN)
        assert second == max(issue + 2 + 1 + pipeline_latency(config), drain + tm + 1)
        status = timing.accept(Opcode.CLEAR_STATUS)
        assert status == second + (tm + 1 if config.tile_buffers == 1 else 1)


def _sparse_tiles(rng, config, tiles, density):
    """``tiles`` output tiles of one SpWMMA each: CLEAR, the SpWMMA, DRAIN."""
    commands = []
    for _ in range(tiles):
        a = np.where(rng.random((config.tile_m, config.k_chunk)) < density,
                     rng.integers(-100, 100, (config.tile_m, config.k_chunk)), 0)
        b = np.where(rng.random((config.k_chunk, config.tile_n)) < density,
                     rng.integers(-100, 100, (config.k_chunk, config.tile_n)), 0)
        commands += [Clear(), *tile_commands(encode_vectors(a.T), encode_vectors(b), config),
                     Drain()]
    return commands


def test_the_sparse_core_overlaps_drains_on_the_rtl(rng):
    """The same short tiles on small8 and small8-tb2 (Amaranth simulator): equal responses,
    every accept cycle as the model says, and the two-buffer core finishes earlier: each of
    the later tiles starts while the previous one drains."""
    commands = _sparse_tiles(rng, ONE, tiles=5, density=0.3)
    runs = {}
    for config in (ONE, TWO):
        run = simulate_commands(config, commands)
        SPARSE_CORE.check(config, commands, run, timing=True)
        runs[config.tile_buffers] = run
    assert [r.values.tolist() for r in runs[1].responses] == \
        [r.values.tolist() for r in runs[2].responses]
    drains = [i for i, command in enumerate(commands) if isinstance(command, Drain)]
    for index in drains[:-1]:            # the CLEAR right after a DRAIN: next cycle with two
        assert runs[2].accept_cycles[index + 1] == runs[2].accept_cycles[index] + 1
        assert runs[1].accept_cycles[index + 1] == runs[1].accept_cycles[index] + ONE.tile_m + 1
    assert runs[2].cycles < runs[1].cycles


def test_the_dense_core_overlaps_drains_on_the_rtl(rng):
    config = TWO
    commands = []
    for _ in range(3):
        a, b = dense_tile_operands(rng, config, 0.8, 0.8)
        commands += [Clear(), *dense_group_commands(a, b, DOT_LENGTH), Drain()]
    runs = {}
    for cfg in (ONE, TWO):
        run = simulate_commands(cfg, commands, design=DENSE_CORE)
        DENSE_CORE.check(cfg, commands, run, timing=True)
        runs[cfg.tile_buffers] = run
    assert runs[2].cycles < runs[1].cycles


@pytest.mark.parametrize("design", [SPARSE_CORE, DENSE_CORE], ids=["sparse", "dense"])
def test_two_buffers_under_gaps_and_backpressure(rng, design):
    """Random gaps in the commands and backpressure on the rows: nothing lost or changed
    while commands work on the front buffer during a drain."""
    config = TWO
    commands = (random_tile_program(rng, config, tiles=4) if design is SPARSE_CORE
                else random_dense_program(rng, config, 4))
    commands = [*commands, ClearStatus(), *commands[:len(commands) // 2], Drain()]
    run = simulate_commands(config, commands, design=design, rng=rng, gap_probability=0.3,
                            stall_probability=0.5)
    design.check(config, commands, run, timing=False)


def test_fast_cycle_models_charge_the_overlap():
    """Small-K GEMMs (a few k-steps per output tile) are where the drain dominates: two
    buffers hide up to tile_m cycles per tile. The closed forms of dense mode and the dense
    baseline, and the sparse fast model, all charge it (each is tested equal to its
    command-level model in tb/test_gemm_cycles.py)."""
    shape = (256, 256, 16)
    tiles = (256 // ONE.tile_m) * (256 // ONE.tile_n)
    for function in (dense_mode_cycles, dense_baseline_cycles):
        one, two = function(shape, ONE), function(shape, TWO)
        assert 0 < one - two <= (tiles - 1) * (ONE.tile_m + 1), function.__name__
    rng = np.random.default_rng(0)
    a, b = rng.random((256, 16)) < 0.3, rng.random((16, 256)) < 0.3
    one, two = gemm_cycles(a, b, ONE).cycles, gemm_cycles(a, b, TWO).cycles
    assert 0 < one - two <= (tiles - 1) * (ONE.tile_m + 1)
