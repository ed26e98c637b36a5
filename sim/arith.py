"""Bit-exact arithmetic of the core, in numpy.

Values are held in their natural numpy types: ``int64`` for every ``intN`` (always in range),
``float16`` for fp16 operands and ``float32`` for fp32 products and accumulators. The hardware
is specified to produce exactly these results:

* integers: the product of two ``intN`` is exact in ``int(2N)``; accumulation wraps modulo
  ``2**W`` (``W`` the accumulator width), so any accumulation order gives the same bits;
* fp16 x fp16 is exact in fp32 (11-bit significands give a 22-bit product, and the exponent
  range of the product fits fp32 normals), subnormal inputs included;
* fp32 + fp32 rounds to nearest, ties to even, with subnormals (no flush to zero), exactly as
  numpy float32 addition;
* every NaN result is the canonical quiet NaN ``0x7FC00000`` (NaN payloads are not
  propagated); inf x 0 and inf + (-inf) are NaN.
"""

import numpy as np

__all__ = ["CANONICAL_NAN32", "Arithmetic", "wrap", "float_bits", "bits_to_float"]

CANONICAL_NAN32 = 0x7FC00000
_NAN32 = np.array(CANONICAL_NAN32, dtype=np.uint32).view(np.float32)


def wrap(values, width):
    """Wrap integers to signed ``width``-bit two's complement (int64 in, int64 out)."""
    values = np.asarray(values, dtype=np.int64)
    if width == 64:
        return values
    half = np.int64(1) << np.int64(width - 1)
    return ((values + half) & ((half << np.int64(1)) - 1)) - half


def _canonical(values):
    values = np.asarray(values, dtype=np.float32)
    return np.where(np.isnan(values), _NAN32, values)


def float_bits(values):
    """Raw IEEE bits of a float16/float32 array (uint16/uint32)."""
    values = np.asarray(values)
    return values.view(np.uint16 if values.dtype == np.float16 else np.uint32)


def bits_to_float(bits, width):
    """Inverse of :func:`float_bits` for ``width`` 16 or 32."""
    unsigned = np.uint16 if width == 16 else np.uint32
    return np.asarray(bits).astype(unsigned).view(np.float16 if width == 16 else np.float32)


class Arithmetic:
    """The operations of one configuration: multiply, accumulate, ReLU, zero test, bits."""

    def __init__(self, config):
        self.config = config
        self.operand = config.operand
        self.accum = config.accum
        self.is_float = self.operand.is_float

    # -- dtypes and conversion ----------------------------------------------------------------

    @property
    def operand_dtype(self):
        return np.dtype(np.float16 if self.is_float else np.int64)

    @property
    def accum_dtype(self):
        return np.dtype(np.float32 if self.is_float else np.int64)

    def operands(self, values):
        """Convert ``values`` to operand values; integers out of range raise ``ValueError``."""
        return self._convert(values, self.operand, self.operand_dtype)

    def accumulators(self, values):
        """Convert ``values`` to accumulator values; integers out of range raise."""
        return self._convert(values, self.accum, self.accum_dtype)

    @staticmethod
    def _convert(values, number_type, dtype):
        if number_type.is_float:
            return np.asarray(values, dtype=dtype)
        values = np.asarray(values)
        if values.dtype.kind not in "iub":
            raise ValueError(f"{number_type.name} values must be integers, not {values.dtype}")
        values = values.astype(np.int64)
        low, high = -(1 << (number_type.width - 1)), (1 << (number_type.width - 1)) - 1
        if values.size and (values.min() < low or values.max() > high):
            raise ValueError(f"{number_type.name} values must lie in [{low}, {high}]")
        return values

    def to_bits(self, values, number_type):
        """Unsigned raw bits (uint64) of ``values`` stored as ``number_type``."""
        values = np.asarray(values)
        if number_type.is_float:
            return float_bits(values).astype(np.uint64)
        return (values.astype(np.int64) & ((1 << number_type.width) - 1)).astype(np.uint64)

    def from_bits(self, bits, number_type):
        """Values of ``number_type`` from unsigned raw bits (inverse of :meth:`to_bits`)."""
        bits = np.asarray(bits, dtype=np.uint64)
        if number_type.is_float:
            return bits_to_float(bits, number_type.width)
        return wrap(bits.astype(np.int64), number_type.width)

    # -- operations ---------------------------------------------------------------------------

    def multiply(self, a, b):
        """Exact elementwise product (broadcasting), in the accumulator's numpy type."""
        if self.is_float:
            with np.errstate(invalid="ignore", over="ignore"):
                return _canonical(np.asarray(a, np.float32) * np.asarray(b, np.float32))
        return np.asarray(a, np.int64) * np.asarray(b, np.int64)

    def add(self, acc, product):
        """One accumulation step ``acc + product`` (fp32 RNE, or wrapping integer add)."""
        if self.is_float:
            with np.errstate(invalid="ignore", over="ignore"):
                return _canonical(np.asarray(acc, np.float32) + np.asarray(product, np.float32))
        return wrap(np.asarray(acc, np.int64) + np.asarray(product, np.int64), self.accum.width)

    def relu(self, values):
        """ReLU on accumulator values: ``x`` if ``x > 0``, NaN stays (canonical) NaN, else +0."""
        values = np.asarray(values, self.accum_dtype)
        if self.is_float:
            keep = (values > 0) | np.isnan(values)
            return _canonical(np.where(keep, values, np.float32(0.0)))
        return np.where(values > 0, values, 0)

    @staticmethod
    def is_nonzero(values):
        """Bitmap predicate: ``+0`` and ``-0`` are zero; everything else (NaN too) is not."""
        values = np.asarray(values)
        if values.dtype.kind == "f":
            magnitude = float_bits(values) & (0x7FFF if values.dtype == np.float16 else 0x7FFFFFFF)
            return magnitude != 0
        return values != 0
