"""Test inputs shared by the Amaranth-simulator and cocotb tests, and the golden results."""

import numpy as np

from dstc.sim.arith import Arithmetic, bits_to_float, float_bits
from dstc.sim.config import PRESETS

__all__ = ["FP16", "FP32", "special_bits", "FP16_SPECIALS", "FP32_SPECIALS", "special_pairs",
           "random_fp16_pairs", "random_fp32_pairs", "golden_fp16_mul", "golden_fp32_add"]

#: The one table of float special values the tests draw from, as raw bits by name. Tests pick
#: named values in a fixed order with :func:`special_bits` (the order is part of each seeded
#: stream); :data:`FP16_SPECIALS` and :data:`FP32_SPECIALS` below are every class, both signs.
FP16 = {
    "zero": 0x0000, "-zero": 0x8000, "min_subnormal": 0x0001, "-min_subnormal": 0x8001,
    "max_subnormal": 0x03FF, "min_normal": 0x0400, "one": 0x3C00, "max": 0x7BFF,
    "-max": 0xFBFF, "inf": 0x7C00, "-inf": 0xFC00, "nan": 0x7E00, "snan": 0x7C01,
}
FP32 = {
    "zero": 0x0000_0000, "-zero": 0x8000_0000, "min_subnormal": 0x0000_0001,
    "min_normal": 0x0080_0000, "max": 0x7F7F_FFFF, "-max": 0xFF7F_FFFF, "inf": 0x7F80_0000,
    "-inf": 0xFF80_0000, "nan": 0x7FC0_0000,
}


def special_bits(table, *names):
    """The raw bits (uint64 array) of the values ``names`` of ``table`` (:data:`FP16` or
    :data:`FP32`), in that order. Raises ``KeyError`` naming an unknown value."""
    return np.array([table[name] for name in names], dtype=np.uint64)

_FP = Arithmetic(PRESETS["default"])


def _both_signs(magnitudes):
    return [m for m in magnitudes] + [m | 0x8000_0000 for m in magnitudes]


#: One fp16 value of every class, both signs: zero, smallest/largest subnormal, smallest
#: normal, one, values around one, largest finite, inf, quiet and signalling NaN.
FP16_SPECIALS = sorted({v | s for v in (0x0000, 0x0001, 0x0002, 0x01FF, 0x03FF, 0x0400, 0x0401,
                                        0x3BFF, 0x3C00, 0x3C01, 0x3555, 0x4000, 0x7BFF, 0x7C00,
                                        0x7E00, 0x7C01, 0x7FFF)
                        for s in (0, 0x8000)})

#: The same for fp32, plus values whose sums round at ties and overflow.
FP32_SPECIALS = sorted(set(_both_signs([
    0x0000_0000, 0x0000_0001, 0x0000_0002, 0x0040_0000, 0x007F_FFFF, 0x0080_0000, 0x0080_0001,
    0x00FF_FFFF, 0x0100_0000, 0x3F7F_FFFF, 0x3F80_0000, 0x3F80_0001, 0x3FFF_FFFF, 0x4000_0000,
    0x3380_0000, 0x3400_0000, 0x33C0_0000, 0x4B00_0000, 0x4B00_0001, 0x7F00_0000, 0x7F7F_FFFF,
    0x7F7F_FFFE, 0x7380_0000, 0x7400_0000, 0x7F80_0000, 0x7FC0_0000, 0x7F80_0001, 0x7FFF_FFFF,
])))


def special_pairs(values):
    """Every ordered pair of ``values`` (two uint arrays)."""
    values = np.asarray(values, dtype=np.uint64)
    a, b = np.meshgrid(values, values, indexing="ij")
    return a.ravel(), b.ravel()


def random_fp16_pairs(rng, count):
    """Random fp16 bit pairs: half uniform over all patterns, half finite values weighted to
    subnormals and exponent extremes."""
    half = count // 2
    uniform = rng.integers(0, 1 << 16, size=(2, half), dtype=np.uint64)
    extremes = np.array([0, 0, 1, 2, 15, 29, 30], dtype=np.uint64)
    exponent = rng.choice(extremes, size=(2, count - half))
    exponent = np.where(rng.random((2, count - half)) < 0.5, exponent,
                        rng.integers(0, 31, size=(2, count - half), dtype=np.uint64))
    frac = rng.integers(0, 1 << 10, size=(2, count - half), dtype=np.uint64)
    sign = rng.integers(0, 2, size=(2, count - half), dtype=np.uint64)
    weighted = (sign << np.uint64(15)) | (exponent << np.uint64(10)) | frac
    both = np.concatenate([uniform, weighted], axis=1)
    return both[0], both[1]


def _sparse_fraction(rng, size):
    """23-bit fractions with few set bits (they make exact halfway cases common)."""
    frac = np.zeros(size, dtype=np.uint64)
    for _ in range(3):
        bit = rng.integers(0, 23, size=size, dtype=np.uint64)
        frac |= np.where(rng.random(size) < 0.7, np.uint64(1) << bit, np.uint64(0))
    return frac


def random_fp32_pairs(rng, count):
    """Random fp32 bit pairs: a quarter uniform over all patterns; the rest with exponents
    0 to 30 apart (alignment, cancellation and rounding), a third of those with sparse
    fractions (ties), and some at the subnormal and overflow ends of the range."""
    quarter = count // 4
    uniform = rng.integers(0, 1 << 32, size=(2, quarter), dtype=np.uint64)
    n = count - quarter
    exp_a = rng.integers(0, 255, size=n, dtype=np.int64)
    ends = rng.random(n)
    exp_a = np.where(ends < 0.1, rng.integers(0, 3, size=n), exp_a)
    exp_a = np.where((ends >= 0.1) & (ends < 0.2), rng.integers(250, 255, size=n), exp_a)
    exp_b = np.clip(exp_a - rng.integers(-30, 31, size=n), 0, 254)
    frac_a = rng.integers(0, 1 << 23, size=n, dtype=np.uint64)
    frac_b = rng.integers(0, 1 << 23, size=n, dtype=np.uint64)
    sparse = rng.random(n) < 1 / 3
    frac_a = np.where(sparse, _sparse_fraction(rng, n), frac_a)
    frac_b = np.where(sparse, _sparse_fraction(rng, n), frac_b)
    sign = rng.integers(0, 2, size=(2, n), dtype=np.uint64) << np.uint64(31)
    a = sign[0] | (exp_a.astype(np.uint64) << np.uint64(23)) | frac_a
    b = sign[1] | (exp_b.astype(np.uint64) << np.uint64(23)) | frac_b
    return np.concatenate([uniform[0], a]), np.concatenate([uniform[1], b])


def golden_fp16_mul(a_bits, b_bits):
    """Golden fp32 product bits of fp16 bit arrays."""
    a = bits_to_float(a_bits, 16)
    b = bits_to_float(b_bits, 16)
    return float_bits(_FP.multiply(a, b)).astype(np.uint64)


def golden_fp32_add(a_bits, b_bits):
    """Golden fp32 sum bits of fp32 bit arrays."""
    return float_bits(_FP.add(bits_to_float(a_bits, 32), bits_to_float(b_bits, 32))).astype(
        np.uint64)
