"""The banked accumulation buffer with stall-on-conflict (sim/banked.py): the closed-form
k-step cost against an access-by-access simulation of the bank arbitration, whole GEMMs
through the fast model against the command-level program, and ACCUMULATOR.md's R1 figures."""

import numpy as np
import pytest
from kstep_timing import command_level_cycles

from dstc.sim.banked import BankedStallCost, chunk_bank_factor, simulate_kstep
from dstc.sim.config import DstcConfig, preset
from dstc.sim.gemm_cycles import ChunkCost, dense_mode_cycles, gemm_cycles
from dstc.sim.program import gemm_program

LANES8 = DstcConfig(array_rows=8, array_cols=4, tile_m=16, tile_n=16, k_chunk=8,
                    operand_type="int8", accum_type="int32")


@pytest.mark.parametrize("config,banks", [
    (preset("default"), (8, 16)), (preset("default"), (16, 16)), (preset("default"), (4, 8)),
    (preset("default"), (1, 1)), (preset("small"), (2, 4)), (LANES8, (8, 2))],
    ids=["R1", "R2", "4x8", "1x1", "small", "lanes8"])
def test_closed_form_equals_the_bank_arbitration(rng, config, banks):
    cost = BankedStallCost(config, *banks)
    for _ in range(300):
        a_column = rng.random(config.tile_m) < rng.random()
        b_row = rng.random(config.tile_n) < rng.random()
        expected = simulate_kstep(a_column, b_row, config, *banks)
        assert int(cost.issues(a_column, b_row)) == expected, (a_column, b_row)


def test_one_bank_per_row_and_column_is_the_chunk_model(rng):
    config = preset("default")
    a_bits = rng.random((70, 90)) < 0.6
    b_bits = rng.random((90, 50)) < 0.4
    assert (gemm_cycles(a_bits, b_bits, config, cost=BankedStallCost(config, 32, 32))
            == gemm_cycles(a_bits, b_bits, config, cost=ChunkCost(config)))


def test_the_factor_counts_the_most_loaded_bank_per_chunk():
    bits = np.zeros(32, dtype=bool)
    bits[[0, 1, 2, 3, 8, 16, 24, 25, 26]] = True  # chunk 1: rows 0-3, 8, 16, 24, 25
    assert chunk_bank_factor(bits, 8, 8) == 4 + 1            # bank 0 x4; chunk 2: row 26
    assert chunk_bank_factor(np.zeros(32, bool), 8, 8) == 0
    assert chunk_bank_factor(np.ones(32, bool), 8, 8) == 4   # contiguous chunks: no conflict
    assert chunk_bank_factor(np.ones(32, bool), 8, 4) == 8   # two rows per bank per chunk


@pytest.mark.parametrize("config,banks", [(preset("small"), (2, 2)), (LANES8, (4, 2))],
                         ids=["small", "lanes8"])
def test_gemms_equal_the_command_level_model(rng, config, banks):
    cost = BankedStallCost(config, *banks)
    for trial in range(10):
        m, n, k = (int(v) for v in rng.integers(1, 40, 3))
        a_bits = rng.random((m, k)) < rng.random()
        b_bits = rng.random((k, n)) < rng.random()
        program = gemm_program(a_bits.astype(np.int8), b_bits.astype(np.int8), config)
        assert (gemm_cycles(a_bits, b_bits, config, cost=cost).cycles
                == command_level_cycles(
                    program, lambda a, b: simulate_kstep(a, b, config, *banks))), trial


def test_r1_reproduces_the_design_note():
    """ACCUMULATOR.md, R1 (8 x 16 banks, default preset), from i.i.d. bitmaps: 1.383 x the
    dense-mode cycles at A = 0.9, B = 1, and 2.20 (mean) / 3.33 (worst) times the chunk
    model's cycles over the Fig. 21 grid (A in 1, .9, .7, .5, .3 x B in 1, .4). The per-side
    expectations are estimated on 40,000 columns each (standard error < 0.3 %)."""
    config = preset("default")
    cost = BankedStallCost(config, 8, 16)
    chunks = ChunkCost(config)
    rng = np.random.default_rng(2021)
    side = {}
    for name, densities, positions in (("a", (1.0, 0.9, 0.7, 0.5, 0.3), config.tile_m),
                                       ("b", (1.0, 0.4), config.tile_n)):
        for density in densities:
            bits = rng.random((40_000, positions)) < density
            factor = cost.a_factor(bits) if name == "a" else cost.b_factor(bits)
            count = bits.sum(axis=-1)[..., None]
            plain = chunks.a_factor(count) if name == "a" else chunks.b_factor(count)
            side[name, density] = (factor.mean(), plain.mean())
    ratios = [side["a", a][0] * side["b", b][0] / (side["a", a][1] * side["b", b][1])
              for b in (1.0, 0.4) for a in (1.0, 0.9, 0.7, 0.5, 0.3)]
    normalised = side["a", 0.9][0] * side["b", 1.0][0] / config.max_ohmma_per_kstep
    assert normalised == pytest.approx(1.383, abs=0.01)
    assert np.mean(ratios) == pytest.approx(2.20, abs=0.02)
    assert max(ratios) == pytest.approx(3.33, abs=0.03)


def test_r1_whole_gemm_normalised_latency(rng):
    """The same figure through the whole-GEMM model (headers and drains included): a
    256 x 256 x 2048 GEMM at A = 0.9, B = 1 on R1 takes 1.38-1.41 x the dense-mode cycles."""
    config = preset("default")
    shape = (256, 256, 2048)
    a_bits = rng.random((shape[0], shape[2])) < 0.9
    b_bits = np.ones((shape[2], shape[1]), dtype=bool)
    cycles = gemm_cycles(a_bits, b_bits, config, cost=BankedStallCost(config, 8, 16)).cycles
    assert 1.37 < cycles / dense_mode_cycles(shape, config) < 1.41


@pytest.mark.parametrize("banks,message", [
    ((3, 16), r"row_banks=3: must divide tile_m \(32\)"),
    ((8, 0), "col_banks=0: must be a positive integer"),
    ((True, 16), "row_banks=True: must be a positive integer"),
])
def test_bank_counts_are_validated(banks, message):
    with pytest.raises(ValueError, match=message):
        BankedStallCost(preset("default"), *banks)


def test_factor_arguments_are_validated():
    with pytest.raises(ValueError, match="lanes=0: must be a positive integer"):
        chunk_bank_factor(np.ones(8, bool), 0, 2)
    with pytest.raises(ValueError, match=r"banks=3: must divide the positions \(8\)"):
        chunk_bank_factor(np.ones(8, bool), 2, 3)
