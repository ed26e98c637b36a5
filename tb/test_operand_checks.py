"""Encoded operands are checked against the configuration wherever they enter a model
(issue 12, "values that are silently changed"): shape, tile shape, role, k-chunk, coarse
bitmap, zero padding, dtype and range. Each case names what used to happen silently."""

import dataclasses

import numpy as np
import pytest

from dstc.sim.arith import Arithmetic
from dstc.sim.bitmap import (
    BitmapTile,
    OperandError,
    check_operand,
    encode_a,
    encode_b,
    encode_operand,
    encode_vectors,
)
from dstc.sim.config import DstcConfig, preset
from dstc.sim.conv import conv2d, conv_cycles, conv_reference, tile_operands
from dstc.sim.conv_shape import ConvShape
from dstc.sim.golden import Ohmma, dense_reference, ohmma, spgemm, spwmma
from dstc.sim.im2col import encode_activation, lower
from dstc.sim.isa import Response
from dstc.sim.program import gemm_program, random_operands

SMALL = preset("small")                 # 2x4 array, 8x8 tile, k-chunk 4, int8 -> int16
SMALL_FP = preset("small-fp16")
DEFAULT = preset("default")             # 32x32 tile, k-chunk 16, fp16
# The small shape with int16 operands: the same tiles as SMALL, a wider operand range.
SMALL_INT16 = DstcConfig(array_rows=2, array_cols=4, tile_m=8, tile_n=8, k_chunk=4,
                         operand_type="int16", accum_type="int32")

# Every entry point that takes encoded A and B.
ENTRY_POINTS = {
    "spgemm": lambda a, b, config: spgemm(a, b, config),
    "gemm_program": lambda a, b, config: gemm_program(a, b, config),
}


def _ones(shape, dtype=np.int64):
    return np.ones(shape, dtype=dtype)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_an_encoding_for_another_tile_shape_is_refused(entry):
    """Was: D computed with the encoding's 32x16 tiles on an 8x8 accumulator grid, its rows
    beyond the first tile silently zero."""
    a, b = _ones((20, 20)), _ones((20, 12))
    config_32 = SMALL.replace(tile_m=32, tile_n=32, k_chunk=16, array_rows=8, array_cols=16)
    with pytest.raises(OperandError, match=r"^a: encoded for tile 32x16 \(tile_m x k_chunk\), "
                                           r"the configuration needs 8x4$"):
        ENTRY_POINTS[entry](encode_a(a, config_32), encode_b(b, SMALL), SMALL)
    with pytest.raises(OperandError, match=r"^b: encoded for tile 16x32 \(k_chunk x tile_n\), "
                                           r"the configuration needs 4x8$"):
        ENTRY_POINTS[entry](encode_a(a, SMALL), encode_b(b, config_32), SMALL)
    # The right encodings give the exact product.
    assert np.array_equal(spgemm(encode_a(a, SMALL), encode_b(b, SMALL), SMALL).d, a @ b)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_the_role_is_checked(entry):
    a = _ones((8, 8))
    with pytest.raises(OperandError, match=r"^a: encoded as operand 'B', must be operand 'A'"):
        ENTRY_POINTS[entry](encode_b(a, SMALL), encode_b(a, SMALL), SMALL)
    with pytest.raises(OperandError, match=r"^b: encoded as operand 'A', must be operand 'B'"):
        ENTRY_POINTS[entry](encode_a(a, SMALL), encode_a(a, SMALL), SMALL)


def test_a_tile_with_more_k_vectors_than_k_chunk_is_refused():
    """Was: spwmma looped over k_chunk = 4 vectors and dropped the fifth."""
    vectors = np.ones((5, 8), dtype=np.int64)                # 5 k-vectors, k_chunk is 4
    good = encode_vectors(np.ones((4, 8), dtype=np.int64))
    acc = np.zeros((8, 8), dtype=np.int64)
    with pytest.raises(OperandError, match=r"^a_tile: bitmaps are 5x8 \(k-vectors x positions\), "
                                           r"the configuration needs 4x8 \(k_chunk x tile_m\)$"):
        spwmma(acc, encode_vectors(vectors), good, SMALL)
    with pytest.raises(OperandError, match=r"^b_tile: bitmaps are 3x8 .* needs 4x8 \(k_chunk x "
                                           r"tile_n\)$"):
        spwmma(acc, good, encode_vectors(np.ones((3, 8), dtype=np.int64)), SMALL)
    with pytest.raises(OperandError, match=r"^acc: shape \(8, 4\), the accumulator tile is 8x8"):
        spwmma(np.zeros((8, 4), dtype=np.int64), good, good, SMALL)
    # The same tile inside an encoded operand.
    encoded = encode_a(_ones((8, 4)), SMALL)
    five = dataclasses.replace(encoded, tiles={(0, 0): encode_vectors(vectors)})
    with pytest.raises(OperandError, match=r"^a tile \(0, 0\): bitmaps are 5x8"):
        spgemm(five, _ones((4, 8)), SMALL)
    assert spwmma(acc, good, good, SMALL)[0].tolist() == [[4] * 8] * 8


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_integer_values_out_of_range_non_integers_and_nan_are_refused(entry):
    """Was: the values of a pre-encoded operand were used as they were."""
    b = encode_b(_ones((4, 8)), SMALL)
    wide = encode_a(np.full((8, 4), 300), SMALL_INT16)       # same tiles, int16 values
    with pytest.raises(OperandError, match=r"^a tile \(0, 0\): the tile holds 300; int8 operands "
                                           r"must lie in \[-128, 127\]$"):
        ENTRY_POINTS[entry](wide, b, SMALL)
    halves = encode_a(np.full((8, 4), 1.5), SMALL_FP)          # same tiles, float16 values
    with pytest.raises(OperandError, match=r"^a: dtype float16; int8 operands must have an "
                                           r"integer dtype$"):
        ENTRY_POINTS[entry](halves, b, SMALL)
    nan = encode_a(np.full((8, 4), np.nan), SMALL_FP)
    with pytest.raises(OperandError, match=r"^a: dtype float16"):
        ENTRY_POINTS[entry](nan, b, SMALL)
    # A float tile smuggled into an integer-typed operand.
    forged = dataclasses.replace(encode_a(_ones((8, 4)), SMALL),
                                 tiles={(0, 0): nan.tiles[(0, 0)]})
    with pytest.raises(OperandError, match=r"^a tile \(0, 0\): the tile holds float16 values; "
                                           r"int8 operands must be integers$"):
        ENTRY_POINTS[entry](forged, b, SMALL)


def test_dense_integer_operands_are_range_checked_everywhere():
    for bad, message in ((np.full((2, 2), 128), r"128 is out of range; int8 values must lie in "
                                                r"\[-128, 127\]"),
                         (np.full((2, 2), 0.5), r"int8 values must be integers, not float64"),
                         (np.full((2, 2), np.nan), r"int8 values must be integers")):
        for call, arguments in ((spgemm, (bad, _ones((2, 2)), SMALL)),
                                (gemm_program, (bad, _ones((2, 2)), SMALL)),
                                (dense_reference, (bad, _ones((2, 2)), SMALL)),
                                (encode_a, (bad, SMALL))):
            with pytest.raises(OperandError, match=r"^a: " + message):
                call(*arguments)
        with pytest.raises(OperandError, match=r"^b: " + message):
            spgemm(_ones((2, 2)), bad, SMALL)


def test_fp16_nan_and_inf_stay_valid_encoded_operands():
    a = np.array([[np.nan, np.inf], [-np.inf, 1.0]], dtype=np.float16)
    b = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float16)
    d = spgemm(encode_a(a, SMALL_FP), encode_b(b, SMALL_FP), SMALL_FP).d
    assert np.isnan(d[0, 0]) and d[0, 1] == np.inf and d[1, 0] == -np.inf and d[1, 1] == 2
    program = gemm_program(encode_a(a, SMALL_FP), encode_b(b, SMALL_FP), SMALL_FP)
    assert program.tiles_issued == 1


def _forged(encoded, **changes):
    return dataclasses.replace(encoded, **changes)


def test_inconsistent_encodings_are_refused():
    a = np.zeros((12, 6), dtype=np.int64)                     # grid 2 x 2 of 8x4 tiles
    a[0, 0], a[9, 5] = 3, -4
    encoded = encode_a(a, SMALL)
    b = encode_b(_ones((6, 8)), SMALL)
    check_operand(encoded, "A", SMALL, "a")                   # the honest one passes
    cases = [
        (_forged(encoded, shape=(20, 6)), r"^a: coarse bitmap is bool \(2, 2\), a 20x6 matrix "
                                          r"needs a bool \(3, 2\) grid$"),
        (_forged(encoded, shape=(0, 6)), r"^a: shape \(0, 6\) must be two positive sizes$"),
        (_forged(encoded, coarse=np.array([[True, True], [False, True]])),
         r"^a: tile \(0, 1\) has its coarse bit set but is not stored"),
        (_forged(encoded, coarse=np.array([[True, False], [False, False]])),
         r"^a: tile \(1, 1\) is stored but its coarse bit is clear"),
        (_forged(encoded, tiles={**encoded.tiles, (0, 1): BitmapTile(
            np.zeros((4, 8), bool), np.zeros(0, np.int64))},
                 coarse=np.array([[True, True], [False, True]])),
         r"^a: tile \(0, 1\) is stored but empty"),
        (_forged(encoded, dtype=np.dtype(np.float16)), r"^a: dtype float16"),
    ]
    # A set bit in the zero padding: row 12 of tile (1, 1) (rows 8..15, the matrix has 12).
    bits = encoded.tiles[(1, 1)].bitmaps.copy()
    bits[0, 6] = True                                         # k 4, row 14: outside
    padded = BitmapTile(bits, np.array([7, -4], dtype=np.int64))
    cases.append((_forged(encoded, tiles={**encoded.tiles, (1, 1): padded}),
                  r"^a: tile \(1, 1\) has a set bit outside the 12x6 matrix"))
    # A stored zero at a set bit (the format stores nonzeros only).
    zero = BitmapTile(encoded.tiles[(0, 0)].bitmaps, np.array([0], dtype=np.int64))
    cases.append((_forged(encoded, tiles={**encoded.tiles, (0, 0): zero}),
                  r"^a tile \(0, 0\): the tile stores a zero value at a set bitmap bit"))
    for forged, message in cases:
        for entry in ENTRY_POINTS.values():
            with pytest.raises(OperandError, match=message):
                entry(forged, b, SMALL)
    with pytest.raises(OperandError, match=r"^a: must be an EncodedOperand"):
        check_operand(a, "A", SMALL, "a")


def test_tile_vectors_outside_the_grid_are_refused():
    encoded = encode_a(_ones((12, 6)), SMALL)                 # grid 2 x 2
    assert encoded.tile_vectors((1, 1)).shape == (4, 8)
    with pytest.raises(OperandError, match=r"^index=\(2, 0\): must be a tile of the 2x2 grid$"):
        encoded.tile_vectors((2, 0))


def test_encode_operand_converts_dense_and_checks_encoded():
    dense = encode_operand([[1, 2], [3, 0]], "A", SMALL, "x")
    assert dense.dtype == np.int64 and dense.decode().tolist() == [[1, 2], [3, 0]]
    assert encode_operand(dense, "A", SMALL, "x") is dense
    with pytest.raises(OperandError, match=r"^x: encoded as operand 'A'"):
        encode_operand(dense, "B", SMALL, "x")
    with pytest.raises(OperandError, match=r"^x: operand A must be a 2-D matrix, not 3-D"):
        encode_operand(np.ones((2, 2, 2), dtype=np.int64), "A", SMALL, "x")


def test_c_of_another_shape_is_refused_by_the_program_builder():
    """Was: gemm_program cut C to the tiles, so a C of another shape lost or gained rows."""
    a, b = _ones((8, 4)), _ones((4, 8))
    for c in (np.zeros((9, 8), np.int64), np.zeros((8, 7), np.int64)):
        with pytest.raises(OperandError, match=rf"^c: shape \({c.shape[0]}, {c.shape[1]}\), C "
                                               rf"must be 8x8 \(M x N\)$"):
            gemm_program(a, b, SMALL, c=c)
        with pytest.raises(OperandError, match=r"^c: shape"):
            spgemm(a, b, SMALL, c=c)
        with pytest.raises(OperandError, match=r"^c: shape"):
            dense_reference(a, b, SMALL, c=c)
    with pytest.raises(OperandError, match=r"^c: 40000 is out of range; int16 values must lie"):
        gemm_program(a, b, SMALL, c=np.full((8, 8), 40000))


def test_assemble_refuses_rows_outside_the_tile():
    program = gemm_program(_ones((8, 4)), _ones((4, 8)), SMALL)
    rows = [Response(row=r, last=r == 7, encoded=False, count=8, bitmap=np.ones(8, bool),
                     values=np.full(8, 4, np.int64)) for r in range(8)]
    assert program.assemble(rows).tolist() == [[4] * 8] * 8
    rows[3] = dataclasses.replace(rows[3], row=-1)
    with pytest.raises(ValueError, match=r"^response row -1 with \(8,\) values: a drained row "
                                         r"has an index in \[0, 8\) and 8 values$"):
        program.assemble(rows)


def test_ohmma_lanes_outside_the_tile_are_refused():
    """Was: a row position of -1 (or tile_m) indexed another row of the tile."""
    arith = Arithmetic(SMALL)
    acc = np.zeros((8, 8), dtype=np.int64)
    good = Ohmma(a_values=np.array([1, 2]), a_rows=np.array([0, 7]),
                 a_valid=np.array([True, True]), b_values=np.array([1, 1, 1, 1]),
                 b_cols=np.array([0, 1, 2, 3]), b_valid=np.array([True, True, True, False]))
    assert ohmma(acc, good, arith)[7, :4].tolist() == [2, 2, 2, 0]
    for changes, message in (
            (dict(a_rows=np.array([0, -1])), r"^a positions: -1 is outside the tile; positions "
                                             r"lie in \[0, 8\) \(tile_m\)$"),
            (dict(b_cols=np.array([0, 1, 8, 3])), r"^b positions: 8 is outside the tile"),
            (dict(a_values=np.array([1, 2, 3])), r"^a values: \(3,\) lanes, the array has 2$")):
        with pytest.raises(OperandError, match=message):
            ohmma(acc, dataclasses.replace(good, **changes), arith)
    # An invalid lane's position is ignored (the hardware ignores it too).
    ignored = dataclasses.replace(good, b_cols=np.array([0, 1, 2, 99]))
    assert np.array_equal(ohmma(acc, ignored, arith), ohmma(acc, good, arith))


def test_random_operands_density_is_checked(rng):
    for density in (-0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(ValueError, match=r"^density=.*: must be a number in \[0, 1\]$"):
            random_operands(rng, SMALL, (4, 4), density)


# -- convolution entry points -------------------------------------------------------------------

CONV = ConvShape(2, 6, 6, 3, (3, 3), 1, 1, 1)


def _conv_operands():
    weights = np.ones(CONV.weight_shape, dtype=np.float16)
    x = np.ones(CONV.input_shape, dtype=np.float16)
    return weights, x


def test_an_activation_encoded_for_other_tiles_is_refused():
    """SMALL_FP and DEFAULT are both fp16: only the tiles differ (k_chunk x tile_n)."""
    weights, x = _conv_operands()
    foreign = encode_activation(x, DEFAULT)
    message = r"^activation: encoded for tile 16x32 \(k_chunk x tile_n\), the configuration " \
              r"needs 4x8$"
    with pytest.raises(OperandError, match=message):
        lower(foreign, CONV, SMALL_FP)
    with pytest.raises(OperandError, match=message):
        conv2d(weights, foreign, SMALL_FP, padding=1)
    with pytest.raises(OperandError, match=message):
        conv_reference(weights, foreign, SMALL_FP, padding=1)
    own = encode_activation(x, SMALL_FP)
    assert np.array_equal(conv2d(weights, own, SMALL_FP, padding=1).output,
                          conv_reference(weights, x, SMALL_FP, padding=1))


def test_a_lowered_activation_for_other_tiles_is_refused():
    weights, x = _conv_operands()
    foreign = lower(encode_activation(x, DEFAULT), CONV, DEFAULT)
    message = r"^lowered: lowered for tile 16x32 \(k_chunk x tile_n\), the configuration needs " \
              r"4x8$"
    with pytest.raises(OperandError, match=message):
        tile_operands(weights, foreign, SMALL_FP, 0, 0)
    with pytest.raises(OperandError, match=message):
        conv_cycles(weights, foreign, SMALL_FP)
    # Same tiles, another operand type: the values would be used as they are.
    int_lowered = lower(encode_activation(np.ones(CONV.input_shape, np.int64), SMALL), CONV,
                        SMALL)
    with pytest.raises(OperandError, match=r"^lowered: holds int64 values, the configuration's "
                                           r"fp16 operands are float16$"):
        tile_operands(weights, int_lowered, SMALL_FP, 0, 0)
    a, b = tile_operands(weights, lower(encode_activation(x, SMALL_FP), CONV, SMALL_FP),
                         SMALL_FP, 0, 0)
    assert spgemm(a, b, SMALL_FP).d.shape == (3, 8)


def test_conv_values_are_range_checked():
    weights, x = _conv_operands()
    with pytest.raises(OperandError, match=r"^weights: 200 is out of range; int8 values"):
        conv2d(np.full(CONV.weight_shape, 200), x.astype(np.int64), SMALL)
    with pytest.raises(OperandError, match=r"^activation: 65520.0 is finite but beyond the fp16 "
                                           r"range"):
        conv2d(weights, np.full(CONV.input_shape, 65520.0), SMALL_FP)
    with pytest.raises(OperandError, match=r"^bias: 1e\+39 is finite but beyond the fp32 range"):
        conv2d(weights, x, SMALL_FP, bias=np.full(3, 1e39))
