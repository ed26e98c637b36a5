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

__all__ = ["CANONICAL_NAN32", "OperandError", "Arithmetic", "wrap", "float_bits",
           "bits_to_float", "FP16_MAX", "FP16_OVERFLOW"]

CANONICAL_NAN32 = 0x7FC00000
_NAN32 = np.array(CANONICAL_NAN32, dtype=np.uint32).view(np.float32)

#: Largest finite fp16 value.
FP16_MAX = 65504.0
#: Smallest magnitude that fp16 round-to-nearest-even turns into infinity (halfway between
#: 65504 and the next step, 65536, rounds to even: to infinity). Finite values of at least this
#: magnitude are refused as fp16 operands; values below it round to a finite fp16.
FP16_OVERFLOW = 65520.0

_FLOAT_DTYPES = {16: np.dtype(np.float16), 32: np.dtype(np.float32)}
_UINT_DTYPES = {16: np.dtype(np.uint16), 32: np.dtype(np.uint32)}


class OperandError(ValueError):
    """A value or an encoded operand that does not fit the configuration; the message names
    the parameter, the value and the rule."""


def _integer_array(values, name):
    """``values`` as an integer numpy array (any integer dtype); raises :class:`OperandError`
    for anything else (floats, NaN, objects such as Python ints beyond 64 bits)."""
    values = np.asarray(values)
    if values.dtype.kind not in "iub":
        raise OperandError(f"{name}: values of dtype {values.dtype} are not integers (a numpy "
                           f"integer array, or Python ints within 64 bits, is needed)")
    return values


def _check_width(width, low=1, high=64):
    if isinstance(width, bool) or not isinstance(width, int | np.integer) or not (
            low <= width <= high):
        raise ValueError(f"width={width!r}: must be an integer in [{low}, {high}]")
    return int(width)


def wrap(values, width):
    """Wrap integers to signed ``width``-bit two's complement.

    ``values``: an integer array (any integer dtype; uint64 above ``2**63`` included, taken
    modulo ``2**64``) or Python ints within 64 bits; ``width``: 1 to 64. Returns int64 values in
    ``[-2**(width-1), 2**(width-1))``. Raises :class:`OperandError` for non-integer values and
    ``ValueError`` for a width outside [1, 64].
    """
    width = _check_width(width)
    values = _integer_array(values, "values").astype(np.int64)
    if width == 64:
        return values
    unsigned = values.view(np.uint64) & np.uint64((1 << width) - 1)
    sign = np.uint64(1 << (width - 1))
    return (unsigned ^ sign).astype(np.int64) - np.int64(1 << (width - 1))


def _canonical(values):
    values = np.asarray(values, dtype=np.float32)
    return np.where(np.isnan(values), _NAN32, values)


def float_bits(values):
    """Raw IEEE bits of a float16 or float32 array: uint16 or uint32, same shape. Raises
    ``TypeError`` for any other dtype (a float64 viewed as 32-bit words would be two values)."""
    values = np.asarray(values)
    for width, dtype in _FLOAT_DTYPES.items():
        if values.dtype == dtype:
            return values.view(_UINT_DTYPES[width])
    raise TypeError(f"values of dtype {values.dtype}: float_bits takes float16 or float32")


def bits_to_float(bits, width):
    """Inverse of :func:`float_bits`: float16 (``width`` 16) or float32 (32) from raw bits
    (any unsigned or non-negative integer array). Raises ``ValueError`` for another width and
    :class:`OperandError` for bits that are not integers or do not fit in ``width`` bits."""
    if width not in _FLOAT_DTYPES:
        raise ValueError(f"width={width!r}: must be 16 or 32")
    bits = _checked_bits(bits, width, "bits")
    return bits.astype(_UINT_DTYPES[width]).view(_FLOAT_DTYPES[width])


def _checked_bits(bits, width, name):
    bits = _integer_array(bits, name)
    if bits.size:
        low, high = int(bits.min()), int(bits.max())
        if low < 0 or high >= 1 << width:
            bad = low if low < 0 else high
            raise OperandError(f"{name}: {bad} does not fit in {width} unsigned bits "
                               f"(must lie in [0, {(1 << width) - 1}])")
    return bits


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

    def operands(self, values, name="operands"):
        """``values`` (any shape) as operand values: int64 for ``intN``, float16 for fp16.

        Raises :class:`OperandError` naming ``name``: for ``intN``, values that are not
        integers (floats, NaN included) or lie outside ``[-2**(N-1), 2**(N-1) - 1]``; for fp16,
        values that are not real numbers, and finite values whose rounding to fp16 overflows
        (magnitude at least :data:`FP16_OVERFLOW` = 65520; below it round-to-nearest-even
        gives at most 65504). NaN and explicit infinities are valid fp16 operands.
        """
        return self._convert(values, self.operand, self.operand_dtype, name)

    def accumulators(self, values, name="accumulators"):
        """``values`` as accumulator values (int64 for ``intW``, float32 for fp32); raises
        :class:`OperandError` as :meth:`operands` does: integers out of the ``intW`` range, or
        finite values beyond fp32's range (they would round to infinity)."""
        return self._convert(values, self.accum, self.accum_dtype, name)

    @staticmethod
    def _convert(values, number_type, dtype, name="values"):
        if number_type.is_float:
            return _to_float(values, number_type, dtype, name)
        values = np.asarray(values)
        if values.dtype.kind not in "iub":
            raise OperandError(f"{name}: {number_type.name} values must be integers, not "
                               f"{values.dtype}")
        low, high = -(1 << (number_type.width - 1)), (1 << (number_type.width - 1)) - 1
        if values.size:
            smallest, largest = int(values.min()), int(values.max())
            if smallest < low or largest > high:
                bad = smallest if smallest < low else largest
                raise OperandError(f"{name}: {bad} is out of range; {number_type.name} values "
                                   f"must lie in [{low}, {high}]")
        return values.astype(np.int64)

    def to_bits(self, values, number_type):
        """Unsigned raw bits (uint64) of ``values`` stored as ``number_type``, same shape.

        Floats must already have the type's dtype (float16 / float32); integers must lie in
        the ``intN`` range (``N`` up to 64). Raises :class:`OperandError` otherwise."""
        values = np.asarray(values)
        if number_type.is_float:
            dtype = _FLOAT_DTYPES[number_type.width]
            if values.dtype != dtype:
                raise OperandError(f"values: {number_type.name} bits need {dtype} values, not "
                                   f"{values.dtype}")
            return float_bits(values).astype(np.uint64)
        values = self._convert(values, number_type, np.int64, "values")
        return values.view(np.uint64) & np.uint64((1 << number_type.width) - 1)

    def from_bits(self, bits, number_type):
        """Values of ``number_type`` from unsigned raw bits (inverse of :meth:`to_bits`).
        Raises :class:`OperandError` for bits that do not fit in the type's width."""
        bits = _checked_bits(bits, number_type.width, "bits")
        if number_type.is_float:
            return bits_to_float(bits, number_type.width)
        return wrap(bits.astype(np.uint64).view(np.int64), number_type.width)

    # -- operations ---------------------------------------------------------------------------

    def multiply(self, a, b):
        """Exact elementwise product (broadcasting), in the accumulator's numpy type. ``a`` and
        ``b`` must already be operand values (:meth:`operands`): this is the inner loop of the
        models and converts without checks."""
        if self.is_float:
            with np.errstate(invalid="ignore", over="ignore"):
                return _canonical(np.asarray(a, np.float32) * np.asarray(b, np.float32))
        return np.asarray(a, np.int64) * np.asarray(b, np.int64)

    def add(self, acc, product):
        """One accumulation step ``acc + product`` (fp32 RNE, or wrapping integer add), on
        accumulator values and products from :meth:`multiply` (not checked: inner loop)."""
        if self.is_float:
            with np.errstate(invalid="ignore", over="ignore"):
                return _canonical(np.asarray(acc, np.float32) + np.asarray(product, np.float32))
        return wrap(np.asarray(acc, np.int64) + np.asarray(product, np.int64), self.accum.width)

    def relu(self, values):
        """ReLU on accumulator values: ``x`` if ``x > 0``, NaN stays (canonical) NaN, else +0.
        ``values`` are converted as :meth:`accumulators` does (and refused as it refuses)."""
        values = self.accumulators(values, "values")
        if self.is_float:
            keep = (values > 0) | np.isnan(values)
            return _canonical(np.where(keep, values, np.float32(0.0)))
        return np.where(values > 0, values, 0)

    @staticmethod
    def is_nonzero(values):
        """Bitmap predicate: ``+0`` and ``-0`` are zero; everything else (NaN too) is not."""
        values = np.asarray(values)
        if values.dtype in (np.float16, np.float32):
            magnitude = float_bits(values) & (0x7FFF if values.dtype == np.float16 else 0x7FFFFFFF)
            return magnitude != 0
        return values != 0          # other floats too: -0 == 0, NaN != 0


def _to_float(values, number_type, dtype, name):
    """Real ``values`` rounded to the float ``dtype``; finite values that round to infinity
    raise :class:`OperandError` (an explicit infinity or NaN is kept)."""
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise OperandError(f"{name}: {number_type.name} values must be real numbers, not "
                           f"{values.dtype}")
    with np.errstate(over="ignore"):
        out = values.astype(dtype)
    if values.dtype.kind == "f":
        overflow = np.isinf(out) & np.isfinite(values)
    else:
        overflow = np.isinf(out)
    if overflow.any():
        bad = values[overflow].flat[0].item()
        limit = (f"fp16 rounds a magnitude of {FP16_OVERFLOW:g} or more to inf; the largest "
                 f"fp16 is {FP16_MAX:g}" if dtype == np.float16 else
                 f"the largest {number_type.name} is {float(np.finfo(dtype).max):.8g}")
        raise OperandError(f"{name}: {bad!r} is finite but beyond the {number_type.name} range "
                           f"({limit}); pass inf explicitly for an infinite value")
    return out
