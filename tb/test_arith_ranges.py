"""Conversions of ``dstc.sim.arith`` over every width, and the ranges of operand and
accumulator values (issue 12): the int64 accumulator, intN bits for N = 2..64, fp16 values
that would overflow to inf, fp32 accumulators beyond range."""

import numpy as np
import pytest

from dstc.sim.arith import (
    FP16_MAX,
    FP16_OVERFLOW,
    Arithmetic,
    OperandError,
    bits_to_float,
    float_bits,
    wrap,
)
from dstc.sim.config import DstcConfig, NumberType, preset
from dstc.sim.core_model import CoreModel
from dstc.sim.golden import dense_reference, spgemm
from dstc.sim.im2col import encode_activation
from dstc.sim.program import gemm_program, sparse_gemm_cycles

DEFAULT = preset("default")
SMALL_FP = preset("small-fp16")
INT32_64 = DstcConfig(array_rows=2, array_cols=4, tile_m=8, tile_n=8, k_chunk=4,
                      operand_type="int32", accum_type="int64")
INT8_64 = DstcConfig(array_rows=2, array_cols=4, tile_m=8, tile_n=8, k_chunk=4,
                     operand_type="int8", accum_type="int64")


def _signed(value, width):
    """Python reference: ``value`` wrapped to signed ``width`` bits."""
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


@pytest.mark.parametrize("width", range(2, 65))
def test_int_bits_round_trip_at_every_width(width, rng):
    """Was: ``to_bits`` raised OverflowError at width 64 (the mask ``(1 << 64) - 1`` as int64)."""
    kind = NumberType.parse(f"int{width}", "accum_type")
    arith = Arithmetic(INT32_64)
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = [low, low + 1, -1, 0, 1, high - 1, high]
    values += [int(v) for v in rng.integers(low, high, 50, endpoint=True)]
    values = np.array(values, dtype=np.int64)
    bits = arith.to_bits(values, kind)
    assert bits.dtype == np.uint64
    assert bits.tolist() == [v & ((1 << width) - 1) for v in values.tolist()]
    back = arith.from_bits(bits, kind)
    assert back.dtype == np.int64 and back.tolist() == values.tolist()
    with pytest.raises(OperandError, match=rf"^values: {high + 1} is out of range; int{width} "
                                           rf"values must lie in \[{low}, {high}\]$"):
        if width < 64:
            arith.to_bits(np.array([high + 1]), kind)
        else:
            arith.to_bits(np.array([high + 1], dtype=np.uint64), kind)
    if width < 64:
        with pytest.raises(OperandError, match=rf"^bits: {1 << width} does not fit in {width} "
                                               rf"unsigned bits"):
            arith.from_bits(np.array([1 << width], dtype=np.uint64), kind)


@pytest.mark.parametrize("width", range(1, 65))
def test_wrap_at_every_width(width, rng):
    values = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 200,
                          dtype=np.int64, endpoint=True)
    values = np.concatenate([values, [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1]])
    assert wrap(values, width).tolist() == [_signed(int(v), width) for v in values]
    huge = np.array([(1 << 64) - 1, 1 << 63], dtype=np.uint64)      # taken modulo 2**64
    assert wrap(huge, width).tolist() == [_signed(int(v), width) for v in huge.tolist()]


def test_wrap_and_bits_refuse_what_they_would_change():
    with pytest.raises(OperandError, match=r"^values: values of dtype float64 are not integers"):
        wrap(np.array([1.5]), 8)
    with pytest.raises(ValueError, match=r"^width=65: must be an integer in \[1, 64\]$"):
        wrap(np.array([1]), 65)
    with pytest.raises(TypeError, match=r"^values of dtype float64: float_bits takes float16 "
                                        r"or float32$"):
        float_bits(np.array([1.0]))                       # was: two uint32 per float64
    with pytest.raises(ValueError, match=r"^width=64: must be 16 or 32$"):
        bits_to_float(np.array([0], np.uint64), 64)
    with pytest.raises(OperandError, match=r"^bits: 65536 does not fit in 16 unsigned bits"):
        bits_to_float(np.array([0x10000]), 16)            # was: truncated to 0
    arith = Arithmetic(DEFAULT)
    with pytest.raises(OperandError, match=r"^values: fp32 bits need float32 values, not "
                                           r"float64$"):
        arith.to_bits(np.array([1.0]), DEFAULT.accum)
    assert arith.to_bits(np.float32([1.0]), DEFAULT.accum).tolist() == [0x3F80_0000]
    assert arith.from_bits([0x3C00], DEFAULT.operand).tolist() == [1.0]


@pytest.mark.parametrize("config", [INT32_64, INT8_64], ids=lambda c: c.operand_type)
def test_a_64_bit_accumulator(config, rng):
    """int32 -> int64 and int8 -> int64 through spgemm, the program builder, the command-level
    model and to_bits / from_bits, with sums that wrap modulo 2**64."""
    arith = Arithmetic(config)
    half = 1 << (config.operand.width - 1)
    m, n, k = 9, 10, 11
    a = rng.integers(-half, half, (m, k))
    b = rng.integers(-half, half, (k, n))
    a[0, :], b[:, 0] = -half, -half                     # the largest products
    c = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, (m, n), endpoint=True)
    c[0, 0] = np.iinfo(np.int64).max                    # wraps past 2**63 - 1
    exact = [[int(c[i, j]) + sum(int(a[i, t]) * int(b[t, j]) for t in range(k))
              for j in range(n)] for i in range(m)]
    want = [[_signed(v, 64) for v in row] for row in exact]
    result = spgemm(a, b, config, c=c)
    assert result.d.tolist() == want
    assert exact[0][0] > np.iinfo(np.int64).max or config is INT8_64
    assert dense_reference(a, b, config, c=c).tolist() == want
    program = gemm_program(a, b, config, c=c)
    model = CoreModel(config)
    _, responses = model.run(program.commands)
    assert program.assemble(responses).tolist() == want
    assert sparse_gemm_cycles(program) == model.finish_cycle
    bits = arith.to_bits(result.d, config.accum)
    assert np.array_equal(arith.from_bits(bits, config.accum), result.d)
    assert arith.to_bits(np.array([-1]), config.accum).tolist() == [(1 << 64) - 1]


# -- fp16 operands and fp32 accumulators beyond their range -------------------------------------

def test_fp16_rounding_boundary():
    """Round to nearest even: below 65520 rounds to 65504, from 65520 up to inf."""
    arith = Arithmetic(DEFAULT)
    below = np.nextafter(FP16_OVERFLOW, 0)
    assert arith.operands([65519.99, below, FP16_MAX, -65519.99]).tolist() == [
        FP16_MAX, FP16_MAX, FP16_MAX, -FP16_MAX]
    with np.errstate(over="ignore"):
        assert np.float16(65519.99) == FP16_MAX and np.isinf(np.float16(FP16_OVERFLOW))
    explicit = arith.operands([np.inf, -np.inf, np.nan])
    assert explicit[0] == np.inf and explicit[1] == -np.inf and np.isnan(explicit[2])
    assert arith.operands(np.float16([np.inf])).tolist() == [np.inf]


@pytest.mark.parametrize("value", [65520.0, -65520.0, 65536.0, 1e6, 1e300, 70000,
                                   np.float32(65520.0)])
def test_a_finite_value_beyond_fp16_is_refused(value):
    """Was: 65520 silently became inf (an out-of-range integer was refused already)."""
    arith = Arithmetic(DEFAULT)
    message = (r"is finite but beyond the fp16 range \(fp16 rounds a magnitude of 65520 or more "
               r"to inf; the largest fp16 is 65504\); pass inf explicitly")
    with pytest.raises(OperandError, match=r"^operands: .*" + message):
        arith.operands([1.0, value])
    ones = np.ones((2, 2))
    bad = np.array([[1.0, value], [0.0, 1.0]])
    for call in (lambda: spgemm(bad, ones, SMALL_FP), lambda: gemm_program(bad, ones, SMALL_FP),
                 lambda: dense_reference(bad, ones, SMALL_FP)):
        with pytest.raises(OperandError, match=r"^a: .*" + message):
            call()
    with pytest.raises(OperandError, match=r"^b: .*" + message):
        spgemm(ones, bad, SMALL_FP)
    with pytest.raises(OperandError, match=r"^activation: .*" + message):
        encode_activation(bad.reshape(1, 2, 2), SMALL_FP)


def test_fp16_operands_must_be_real_numbers():
    arith = Arithmetic(DEFAULT)
    with pytest.raises(OperandError, match=r"^a: fp16 values must be real numbers, not "
                                           r"complex128$"):
        arith.operands(np.array([1 + 2j]), "a")       # was: the imaginary part dropped
    with pytest.raises(OperandError, match=r"^a: fp16 values must be real numbers, not <U1$"):
        arith.operands(np.array(["1"]), "a")


def test_fp32_accumulators_beyond_range_are_refused():
    """Was: a finite C beyond fp32 silently became inf."""
    arith = Arithmetic(DEFAULT)
    assert arith.accumulators([3e38, -np.inf, np.nan])[0] == np.float32(3e38)
    with pytest.raises(OperandError, match=r"^c: 1e\+39 is finite but beyond the fp32 range "
                                           r"\(the largest fp32 is 3.4028235e\+38\)"):
        spgemm(np.ones((2, 2)), np.ones((2, 2)), SMALL_FP, c=np.full((2, 2), 1e39))
    with pytest.raises(OperandError, match=r"^c: -1e\+39 is finite"):
        gemm_program(np.ones((2, 2)), np.ones((2, 2)), SMALL_FP, c=np.full((2, 2), -1e39))
    d = spgemm(np.ones((2, 2)), np.ones((2, 2)), SMALL_FP, c=np.full((2, 2), np.inf)).d
    assert np.all(d == np.inf)


def test_integer_accumulators_beyond_range_are_refused():
    arith = Arithmetic(INT32_64)
    big = np.array([1 << 63], dtype=np.uint64)           # was: cast to -2**63
    with pytest.raises(OperandError, match=r"^c: 9223372036854775808 is out of range; int64 "
                                           r"values must lie in"):
        arith.accumulators(big, "c")
    with pytest.raises(OperandError, match=r"^c: int64 values must be integers, not object$"):
        arith.accumulators(np.array([1 << 70], dtype=object), "c")


def test_zero_test_and_relu_keep_their_values():
    """``is_nonzero`` of a float64 array (was: viewed as twice as many 32-bit words) and ReLU of
    values the accumulator cannot hold (was: silently cast)."""
    values = np.array([0.0, -0.0, np.nan, 1e-300, -2.0])
    assert Arithmetic.is_nonzero(values).tolist() == [False, False, True, True, True]
    assert Arithmetic.is_nonzero(values.astype(np.float16)).tolist() == [
        False, False, True, False, True]
    arith = Arithmetic(preset("small"))
    assert arith.relu(np.array([-3, 0, 5])).tolist() == [0, 0, 5]
    with pytest.raises(OperandError, match=r"^values: int16 values must be integers, not "
                                           r"float64$"):
        arith.relu(np.array([2.5]))
    with pytest.raises(OperandError, match=r"^values: 40000 is out of range; int16"):
        arith.relu(np.array([40000]))
