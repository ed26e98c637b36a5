"""The command-level golden model (sim/core_model.py) against the golden SpWMMA/SpGEMM, the
dense reference and the cycle model."""

import numpy as np
import pytest
from core_scenarios import (
    dense_program,
    malformed_programs,
    random_tile_program,
    structured_program,
    tile_occupancies,
    worked_example_program,
)
from presets import ALL_PRESETS

from dstc.sim import cycles
from dstc.sim.arith import Arithmetic
from dstc.sim.bitmap import encode_vectors
from dstc.sim.config import preset
from dstc.sim.core_model import CoreModel
from dstc.sim.golden import dense_reference, spgemm, spwmma
from dstc.sim.isa import (
    Clear,
    Dense,
    Drain,
    dense_tile_commands,
    pipeline_latency,
    tile_commands,
)
from dstc.sim.program import dense_gemm_cycles, gemm_program, sparse_gemm_cycles


def _tile(rng, config, density_a, density_b):
    a = np.where(rng.random((config.tile_m, config.k_chunk)) < density_a,
                 rng.integers(1, 5, (config.tile_m, config.k_chunk)), 0)
    b = np.where(rng.random((config.k_chunk, config.tile_n)) < density_b,
                 rng.integers(-4, 5, (config.k_chunk, config.tile_n)), 0)
    arith = Arithmetic(config)
    return arith.operands(a), arith.operands(b)


@pytest.mark.parametrize("preset_name", ALL_PRESETS)
def test_spwmma_commands_compute_the_golden_tile(rng, preset_name):
    config = preset(preset_name)
    model = CoreModel(config)
    acc = np.zeros((config.tile_m, config.tile_n), Arithmetic(config).accum_dtype)
    for density in (0.0, 0.1, 0.5, 1.0):
        a, b = _tile(rng, config, density, 1 - density / 2)
        a_tile, b_tile = encode_vectors(a.T), encode_vectors(b)
        model.run(tile_commands(a_tile, b_tile, config))
        acc, stats = spwmma(acc, a_tile, b_tile, config)
        assert np.array_equal(model.tile, acc)
    _, responses = model.run([Drain()])
    assert np.array_equal(np.array([r.values for r in responses]), acc)


@pytest.mark.parametrize("preset_name", ["small", "default"])
def test_dense_mode_is_the_dense_product(rng, preset_name):
    config = preset(preset_name)
    a, b = _tile(rng, config, 0.7, 0.7)
    model = CoreModel(config)
    cycles_, _ = model.run([Clear(), *dense_tile_commands(a, b)])
    assert np.array_equal(model.tile, dense_reference(a, b, config))
    assert model.counters["ohmma_issued"] == config.dense_tile_issues
    # Dense k-steps stream back to back: the tile takes dense_tile_issues cycles.
    following, _ = model.execute(Dense(a_values=a[:, 0], b_values=b[0, :]))
    assert following - cycles_[1] == config.dense_tile_issues == cycles.dense_tile_cycles(config)


@pytest.mark.parametrize("preset_name", ALL_PRESETS)
def test_back_to_back_spwmma_occupancy_is_the_cycle_model(rng, preset_name):
    config = preset(preset_name)
    commands = random_tile_program(rng, config, tiles=64, group=8)
    accept, _ = CoreModel(config).run(commands)
    pairs = tile_occupancies(config, commands, accept)
    if config.inline_kstep:   # a SpWMMA without KSTEP leaves no trace, two may look like one
        assert 0 < len(pairs) <= 64 - 8
    else:
        assert len(pairs) == 64 - 8
    assert all(measured == predicted for measured, predicted in pairs)


def test_timing_rules():
    config = preset("small")
    model = CoreModel(config)
    a, b = np.ones((8, 4), np.int64), np.ones((4, 8), np.int64)
    commands = tile_commands(encode_vectors(a.T), encode_vectors(b), config)
    accept, _ = model.run([Clear(), *commands, Drain()])
    header, first, last, drain = accept[1], accept[2], accept[-2], accept[-1]
    assert first == header + 1                        # the first KSTEP follows its header
    assert accept[3] - accept[2] == config.max_ohmma_per_kstep   # then one per k-step's issues
    issue_last = last + config.max_ohmma_per_kstep
    assert drain == issue_last + 1 + pipeline_latency(config)
    assert model.finish_cycle == drain + config.tile_m + 2
    assert model.all_counters["cycles_busy"] == model.finish_cycle - 1 - accept[0]


@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "default", "small8-reach",
                                         "small8-g8h2", "small8-inline"])
def test_malformed_beats_raise_their_flag_and_change_nothing(rng, preset_name):
    config = preset(preset_name)
    arith = Arithmetic(config)
    for name, (commands, flags, dropped) in malformed_programs(rng, config).items():
        model = CoreModel(config)
        _, responses = model.run(commands)
        assert model.errors == flags, name
        assert len(responses) == config.tile_m, name
        if dropped:   # a dropped beat has no effect: without it, the tile is the same
            clean = CoreModel(config)
            clean.run([c for i, c in enumerate(commands) if i not in dropped])
            assert clean.errors == 0, name
            assert np.array_equal(arith.to_bits(model.tile, config.accum),
                                  arith.to_bits(clean.tile, config.accum)), name


def test_structured_and_dense_programs_run_clean(rng):
    """Also on the lane variants: dense mode and the program's OHMMA stay inside every lane's
    reach and class."""
    for config in (preset("small"), preset("default"), preset("small8-reach"),
                   preset("small8-g2"), preset("small8-g8h2"), preset("default-g8h2"),
                   preset("small8-inline")):
        for commands in (structured_program(rng, config), dense_program(rng, config)):
            model = CoreModel(config)
            model.run(commands)
            assert model.errors == 0


def test_lane_classes_cost_their_rounds():
    """A KSTEP on a lane-class core issues max_g ceil(n_g / C) * max_h ceil(m_h / C') OHMMA:
    four A nonzeros in one row class of small8-g8 take four rounds, in four classes one."""
    config = preset("small8-g8")
    a = np.zeros((config.tile_m, config.k_chunk), np.int8)
    b = np.zeros((config.k_chunk, config.tile_n), np.int8)
    a[[0, 8], 0] = 1                     # k = 0: two A nonzeros in row class 0
    a[[0, 1, 2, 3], 1] = 1               # k = 1: four A nonzeros, one per class
    b[0, :4] = b[1, :4] = 1              # four B nonzeros: one column chunk
    commands = tile_commands(encode_vectors(a.T), encode_vectors(b), config)
    for name, issued in (("small8-g8", 2 + 1), ("small8", 1 + 1)):
        model = CoreModel(preset(name))
        model.run([Clear(), *commands])
        assert model.counters["ohmma_issued"] == issued, name
        assert np.array_equal(model.tile, a.astype(np.int16) @ b.astype(np.int16))


def test_isa_worked_example():
    """The numbers of the worked example in docs/isa.md."""
    config = preset("small")
    commands, accept, finish, tile = worked_example_program(config)
    model = CoreModel(config)
    cycles_, responses = model.run(commands)
    assert cycles_ == accept and model.finish_cycle == finish
    assert np.array_equal(np.array([r.values for r in responses]), tile)
    assert model.all_counters == {"cycles_busy": 20, "ohmma_issued": 6, "useful_macs": 26,
                                  "mac_slots": 48}


@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "int8", "small8-g4"])
@pytest.mark.parametrize("shape", [(20, 13, 9), (16, 24, 8), (1, 1, 1)])
def test_gemm_program_equals_spgemm(rng, preset_name, shape):
    config = preset(preset_name)
    arith = Arithmetic(config)
    m, n, k = shape
    for density, relu, with_c in ((0.1, False, True), (0.5, True, False), (0.9, False, False)):
        b = arith.operands(np.where(rng.random((k, n)) < density,
                                    rng.integers(-3, 4, (k, n)), 0))
        a = arith.operands(np.where(rng.random((m, k)) < density, rng.integers(-3, 4, (m, k)), 0))
        c = arith.accumulators(rng.integers(-5, 5, (m, n))) if with_c else None
        program = gemm_program(a, b, config, c=c, relu=relu, encode=relu)
        model = CoreModel(config)
        _, responses = model.run(program.commands)
        result = program.assemble(responses)
        expected = spgemm(a, b, config, c=c).d
        if relu:
            expected = arith.relu(expected)
        assert np.array_equal(arith.to_bits(result, config.accum),
                              arith.to_bits(expected, config.accum))
        assert sparse_gemm_cycles(program) == model.finish_cycle
        assert program.tiles_issued + program.tiles_skipped == (
            -(-m // config.tile_m) * -(-n // config.tile_n) * -(-k // config.k_chunk))


def test_dense_gemm_cycles_match_the_dense_program(rng):
    config = preset("small")
    a = rng.integers(-3, 4, (16, 8))
    b = rng.integers(-3, 4, (8, 8))
    model = CoreModel(config)
    for i in range(2):
        model.run([Clear(), *dense_tile_commands(a[i * 8:(i + 1) * 8, :4], b[:4]),
                   *dense_tile_commands(a[i * 8:(i + 1) * 8, 4:], b[4:]), Drain()])
    assert dense_gemm_cycles((16, 8, 8), config) == model.finish_cycle
    assert model.counters["ohmma_issued"] == 2 * 8 * config.max_ohmma_per_kstep
