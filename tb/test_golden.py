"""The golden model, checked against plain numpy: arithmetic, bitmap format, OHMMA/SpWMMA,
SpGEMM and the cycle model."""

import math

import numpy as np
import pytest

from dstc.sim import cycles
from dstc.sim.arith import CANONICAL_NAN32, Arithmetic, float_bits, wrap
from dstc.sim.bitmap import encode_a, encode_b, encode_vectors
from dstc.sim.config import preset
from dstc.sim.golden import dense_reference, kstep_ohmmas, ohmma, spgemm, spwmma
from dstc.sim.program import random_operands

FP = preset("default")
INT8 = preset("int8")
SMALL = preset("small")


# -- arithmetic ---------------------------------------------------------------------------------

def test_fp16_products_are_exact(rng):
    a = rng.integers(0, 1 << 16, 200_000, dtype=np.uint64).astype(np.uint16).view(np.float16)
    b = rng.integers(0, 1 << 16, 200_000, dtype=np.uint64).astype(np.uint16).view(np.float16)
    finite = np.isfinite(a) & np.isfinite(b)
    a, b = a[finite], b[finite]
    product = Arithmetic(FP).multiply(a, b)
    assert np.array_equal(product.astype(np.float64), a.astype(np.float64) * b.astype(np.float64))


def test_float_specials_are_canonical():
    arith = Arithmetic(FP)
    inf, nan = np.float16(np.inf), np.float16(np.nan)
    assert float_bits(arith.multiply(inf, np.float16(0))) == CANONICAL_NAN32
    assert float_bits(arith.multiply(np.float16(-0.0), inf)) == CANONICAL_NAN32
    assert float_bits(arith.multiply(nan, np.float16(1))) == CANONICAL_NAN32
    assert arith.multiply(inf, np.float16(-2)) == -np.inf
    assert float_bits(arith.multiply(np.float16(-0.0), np.float16(3))) == 0x8000_0000
    neg_nan = np.array(0xFFC0_0001, dtype=np.uint32).view(np.float32)
    assert float_bits(arith.add(neg_nan, np.float32(1))) == CANONICAL_NAN32
    assert float_bits(arith.add(np.float32(np.inf), np.float32(-np.inf))) == CANONICAL_NAN32
    assert float_bits(arith.add(np.float32(-0.0), np.float32(-0.0))) == 0x8000_0000
    assert float_bits(arith.add(np.float32(-0.0), np.float32(0.0))) == 0
    assert float_bits(arith.add(np.float32(3), np.float32(-3))) == 0


def test_fp32_add_rounds_to_nearest_even_with_subnormals():
    arith = Arithmetic(FP)
    one = np.float32(1)
    half_ulp = np.float32(2.0 ** -24)
    assert arith.add(one, half_ulp) == one                       # tie to even (down)
    assert arith.add(np.float32(1 + 2.0 ** -23), half_ulp) == np.float32(1 + 2.0 ** -22)
    tiny = np.array(1, dtype=np.uint32).view(np.float32)          # smallest subnormal
    assert float_bits(arith.add(tiny, tiny)) == 2
    assert arith.add(np.float32(3.4e38), np.float32(3.4e38)) == np.inf


def test_integer_wraparound():
    assert wrap(np.array([32767 + 1, -32768 - 1, 5]), 16).tolist() == [-32768, 32767, 5]
    arith = Arithmetic(SMALL)
    assert arith.add(np.int64(32000), arith.multiply(-128, -128)) == 32000 + 16384 - 65536
    assert arith.multiply(-128, -128) == 16384


def test_relu_and_zero_predicate():
    arith = Arithmetic(FP)
    values = np.array([-1.5, -0.0, 0.0, 2.0, np.nan, -np.inf, np.inf], dtype=np.float32)
    out = arith.relu(values)
    assert float_bits(out).tolist() == [0, 0, 0, 0x4000_0000, CANONICAL_NAN32, 0, 0x7F80_0000]
    assert Arithmetic.is_nonzero(values).tolist() == [1, 0, 0, 1, 1, 1, 1]
    assert Arithmetic(INT8).relu(np.array([-3, 0, 4])).tolist() == [0, 0, 4]


def test_operand_range_is_checked():
    with pytest.raises(ValueError, match=r"int8 values must lie in \[-128, 127\]"):
        Arithmetic(INT8).operands([1, 128])
    with pytest.raises(ValueError, match="must be integers"):
        Arithmetic(INT8).operands([0.5])


# -- bitmap format ------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [FP, INT8, SMALL], ids=lambda c: c.operand_type)
@pytest.mark.parametrize("shape", [(1, 1), (8, 4), (33, 17), (64, 48), (7, 70)])
@pytest.mark.parametrize("density", [0.0, 0.05, 0.5, 1.0])
def test_bitmap_round_trip(rng, config, shape, density):
    matrix = random_operands(rng, config, shape, density)
    for encode, operand in ((encode_a, matrix), (encode_b, matrix)):
        encoded = encode(operand, config)
        assert np.array_equal(encoded.decode(), operand)
        assert encoded.nnz == np.count_nonzero(operand)
        assert encoded.coarse.sum() == len(encoded.tiles)
        for tile in encoded.tiles.values():
            assert tile.values.size and tile.counts.sum() == tile.values.size


def test_a_is_column_major_and_b_row_major():
    config = SMALL
    a = np.zeros((8, 4), dtype=np.int64)
    a[1, 0], a[5, 0], a[0, 2], a[7, 3] = 1, 2, 3, 4
    tile = encode_a(a, config).tiles[(0, 0)]
    assert tile.values.tolist() == [1, 2, 3, 4]              # column by column
    assert tile.vector(0)[0].tolist() == [1, 5]              # rows of column 0's nonzeros
    assert tile.counts.tolist() == [2, 0, 1, 1]
    assert tile.offsets.tolist() == [0, 2, 2, 3]
    b = a.T.copy()                                           # 4 x 8
    tile = encode_b(b, config).tiles[(0, 0)]
    assert tile.values.tolist() == [1, 2, 3, 4]              # row by row
    assert tile.vector(3)[0].tolist() == [7]


def test_coarse_bitmap_marks_nonempty_tiles():
    a = np.zeros((20, 9), dtype=np.int64)                    # SMALL: 8 x 4 tiles -> 3 x 3 grid
    a[9, 5] = 7
    a[19, 8] = -1
    encoded = encode_a(a, SMALL)
    assert encoded.grid == (3, 3)
    assert np.argwhere(encoded.coarse).tolist() == [[1, 1], [2, 2]]


def test_signed_zero_is_zero_and_nan_is_not():
    vectors = np.array([[-0.0, 0.0, np.nan, 1.0]], dtype=np.float16)
    tile = encode_vectors(vectors)
    assert tile.bitmaps.tolist() == [[False, False, True, True]]
    decoded = tile.dense()
    assert float_bits(decoded)[0, 0] == 0                     # -0 decodes as +0
    assert np.isnan(decoded[0, 2])


# -- OHMMA and SpWMMA ---------------------------------------------------------------------------

def test_kstep_issue_count_and_order():
    config = FP
    a_pos, b_pos = np.arange(0, 20), np.arange(3, 20)         # 20 and 17 nonzeros
    ops = kstep_ohmmas(a_pos, np.ones(20, np.float16), b_pos, np.ones(17, np.float16), config)
    assert len(ops) == math.ceil(20 / 8) * math.ceil(17 / 16) == 6
    assert [op.a_rows[0] for op in ops] == [0, 0, 8, 8, 16, 16]     # A chunk outer
    assert [op.b_cols[0] for op in ops] == [3, 19, 3, 19, 3, 19]    # B chunk inner
    assert ops[-1].a_valid.tolist() == [True] * 4 + [False] * 4
    assert ops[-1].b_valid.tolist() == [True] + [False] * 15
    assert kstep_ohmmas([], [], b_pos, np.ones(17, np.float16), config) == []


@pytest.mark.parametrize("config", [FP, INT8, SMALL, preset("small-fp16")],
                         ids=lambda c: f"{c.tile_m}-{c.operand_type}")
def test_spwmma_equals_its_ohmma_sequence(rng, config):
    arith = Arithmetic(config)
    for density in (0.1, 0.5, 0.9):
        a = random_operands(rng, config, (config.tile_m, config.k_chunk), density)
        b = random_operands(rng, config, (config.k_chunk, config.tile_n), density)
        acc = arith.accumulators(random_operands(rng, config, (config.tile_m, config.tile_n), 1))
        a_tile = encode_vectors(a.T)
        b_tile = encode_vectors(b)
        fast, stats = spwmma(acc, a_tile, b_tile, config, arith)
        slow, issued = acc.copy(), 0
        for k in range(config.k_chunk):
            for op in kstep_ohmmas(*a_tile.vector(k), *b_tile.vector(k), config):
                slow = ohmma(slow, op, arith)
                issued += 1
        assert np.array_equal(arith.to_bits(fast, config.accum), arith.to_bits(slow, config.accum))
        assert stats.ohmma == issued
        assert stats.useful_macs == int((a_tile.counts * b_tile.counts).sum())
        assert stats.mac_slots == issued * config.macs


def test_ohmma_rejects_conflicting_lanes():
    config = SMALL
    arith = Arithmetic(config)
    op = kstep_ohmmas([1, 2], np.array([1, 1]), [0, 3], np.array([1, 1]), config)[0]
    bad = type(op)(op.a_values, np.array([1, 1]), op.a_valid, op.b_values, op.b_cols, op.b_valid)
    with pytest.raises(ValueError, match="distinct rows"):
        ohmma(np.zeros((8, 8), np.int64), bad, arith)


# -- SpGEMM -------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [INT8, SMALL], ids=lambda c: c.accum_type)
@pytest.mark.parametrize("shape", [(32, 16, 32), (45, 37, 70), (8, 100, 3), (1, 1, 1)])
def test_spgemm_integer_equals_matmul(rng, config, shape):
    m, k, n = shape
    for density_a, density_b in ((0.0, 0.5), (0.1, 0.7), (0.5, 0.5), (1.0, 1.0)):
        a = random_operands(rng, config, (m, k), density_a)
        b = random_operands(rng, config, (k, n), density_b)
        c = random_operands(rng, config.replace(operand_type=config.accum_type,
                                                accum_type="int64"), (m, n), 0.5)
        result = spgemm(a, b, config, c=c)
        expected = wrap(c + a.astype(np.int64) @ b.astype(np.int64), config.accum.width)
        assert np.array_equal(result.d, expected)
        assert np.array_equal(result.d, dense_reference(a, b, config, c=c))


def test_spgemm_integer_wraps():
    a = np.full((8, 4), 127, dtype=np.int64)
    b = np.full((4, 8), 127, dtype=np.int64)
    d = spgemm(a, b, SMALL).d
    assert d[0, 0] == wrap(4 * 127 * 127, 16) and d[0, 0] != 4 * 127 * 127


@pytest.mark.parametrize("shape", [(32, 16, 32), (40, 50, 33), (64, 64, 64)])
def test_spgemm_float_equals_k_ordered_fp32_and_is_close_to_float64(rng, shape):
    m, k, n = shape
    for density_a, density_b in ((0.05, 0.9), (0.3, 0.3), (0.5, 0.5), (1.0, 1.0)):
        a = random_operands(rng, FP, (m, k), density_a)
        b = random_operands(rng, FP, (k, n), density_b)
        c = rng.standard_normal((m, n)).astype(np.float32)
        result = spgemm(a, b, FP, c=c)
        reference = dense_reference(a, b, FP, c=c)
        assert np.array_equal(float_bits(result.d), float_bits(reference))
        exact = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
        bound = (np.abs(c) + np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)))
        assert np.all(np.abs(result.d - exact) <= (k + 1) * 2.0 ** -24 * bound + 1e-30)


def test_sparse_semantics_differ_from_dense_only_at_skipped_zeros():
    a = np.zeros((32, 16), np.float16)
    b = np.zeros((16, 32), np.float16)
    a[0, 0], b[0, 1] = np.inf, np.float16(2)       # inf meets a zero of B at (0, 0)
    a[1, 1], b[1, 0] = np.nan, np.float16(0)
    c = np.zeros((32, 32), np.float32)
    c[2, 2] = np.float32(-0.0)
    sparse = spgemm(a, b, FP, c=c).d
    dense = dense_reference(a, b, FP, c=c)
    assert sparse[0, 1] == np.inf and dense[0, 1] == np.inf
    assert sparse[0, 0] == 0 and np.isnan(dense[0, 0])          # inf x 0 skipped
    assert sparse[1, 0] == 0 and np.isnan(dense[1, 0])          # NaN x 0 skipped
    assert float_bits(sparse[2, 2]) == 0x8000_0000                # -0 kept: nothing added
    assert float_bits(dense[2, 2]) == 0                           # -0 + (+0) = +0


def test_spgemm_skips_empty_tile_pairs(rng):
    config = SMALL
    a = np.zeros((16, 8), np.int64)     # 2 x 2 grid of A tiles; only (0, 1) non-empty
    a[3, 5] = 2
    b = random_operands(rng, config, (8, 16), 1.0)
    result = spgemm(a, b, config)
    assert result.tiles_issued == 2 and result.tiles_skipped == 6
    assert np.array_equal(result.d, a @ b)


def test_spgemm_checks_shapes():
    with pytest.raises(ValueError, match="inner dimensions differ"):
        spgemm(np.ones((4, 3), np.int64), np.ones((4, 3), np.int64), SMALL)


# -- cycle model --------------------------------------------------------------------------------

def test_cycle_model_formula(rng):
    config = FP
    empty = np.zeros((16, 32), bool)
    full = np.ones((16, 32), bool)
    assert cycles.spwmma_cycles(empty, full, config) == cycles.SPWMMA_FIXED_CYCLES
    assert cycles.tile_issue_cycles(full, full, config) == 16 * 4 * 2 == config.dense_tile_issues
    one = empty.copy()
    one[3, 7] = True
    assert cycles.tile_issue_cycles(one, full, config) == 2
    assert cycles.dense_tile_cycles(config) == 128
    # Agrees with the golden model's OHMMA count on random tiles, also batched.
    a = rng.random((50, 16, 32)) < 0.3
    b = rng.random((50, 16, 32)) < 0.6
    batched = cycles.tile_issue_cycles(a, b, config)
    for i in range(50):
        assert batched[i] == sum(math.ceil(a[i, k].sum() / 8) * math.ceil(b[i, k].sum() / 16)
                                 for k in range(16))


def test_gemm_cycles_match_golden_issue_counts(rng):
    config = INT8
    a = random_operands(rng, config, (64, 48), 0.2)
    b = random_operands(rng, config, (48, 96), 0.4)
    a[:32, 16:32] = 0                                   # an empty tile to skip
    enc_a, enc_b = encode_a(a, config), encode_b(b, config)
    result = spgemm(enc_a, enc_b, config)
    total, issued = cycles.gemm_issue_cycles(enc_a, enc_b, config)
    assert issued == result.tiles_issued
    assert total == result.stats.ohmma + issued * cycles.SPWMMA_FIXED_CYCLES
