"""fp32 -> fp16 conversion, round to nearest even."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .fp16_multiplier import FP16, FP32
from .shapes import float_layout

__all__ = ["Fp32ToFp16", "CANONICAL_NAN16"]

#: The one NaN the conversion produces (quiet, positive, zero payload).
CANONICAL_NAN16 = 0x7E00

_BIAS_GAP = 127 - 15           # fp32 exponent bias - fp16 exponent bias
_MIN_NORMAL = 1 + _BIAS_GAP    # fp32 exponent field of fp16's smallest normal, 2^-14
_OVERFLOW = 31 + _BIAS_GAP     # fp32 exponent field of 2^16: always beyond fp16's range
_FRACTION_DROP = FP32.width - 9 - (FP16.width - 6)   # 23 - 10 = 13 fraction bits dropped
_MAX_SHIFT = 25                # any larger right shift of a 24-bit significand rounds to 0


class Fp32ToFp16(wiring.Component):
    """``result`` = ``value`` (fp32 bits) rounded to fp16 bits, to nearest even (combinational).

    Finite values round to nearest, ties to even, as IEEE 754 and numpy's ``astype(float16)``
    do: values below half of fp16's smallest subnormal (2^-25, fp32 subnormals included)
    become a zero of the value's sign (``-0`` stays ``-0``), values in fp16's subnormal range
    round to subnormals (a carry out of the largest subnormal gives the smallest normal), and
    values that round above 65504 (from 65520 up) overflow to an infinity of the value's
    sign. Infinities stay infinities; every NaN becomes the canonical NaN ``0x7E00``.

    Ports: ``value`` in (fp32 bits, fields :func:`~dstc.hw.shapes.float_layout`), ``result``
    out (fp16 bits). Latency 0.
    """

    def __init__(self):
        super().__init__({"value": In(FP32.width), "result": Out(FP16.width)})

    def elaborate(self, platform):
        m = Module()
        value = data.View(float_layout(FP32), self.value)
        exponent = value.exponent
        significand = Signal(24, name="significand")      # with the hidden bit
        m.d.comb += significand.eq(Cat(value.fraction, exponent.any()))

        # Right shift from the 24-bit significand to fp16's 11-bit one (normal) or to units of
        # the smallest subnormal 2^-24 (subnormal range: 126 - exponent bits, at most 25).
        shift = Signal(range(_MAX_SHIFT + 1), name="shift")
        with m.If(exponent >= _MIN_NORMAL):
            m.d.comb += shift.eq(_FRACTION_DROP)
        with m.Elif(exponent <= 126 - _MAX_SHIFT):
            m.d.comb += shift.eq(_MAX_SHIFT)
        with m.Else():
            m.d.comb += shift.eq(126 - exponent)

        # The significand placed above 25 zero bits and shifted: bits 25 up are the kept
        # significand, bit 24 the guard bit, bits 0 to 23 hold every other dropped bit.
        shifted = Signal(49, name="shifted")
        m.d.comb += shifted.eq(Cat(Const(0, 25), significand) >> shift)
        kept = shifted[25:36]
        guard = shifted[24]
        sticky = shifted[:24].any()
        round_up = Signal(name="round_up")
        m.d.comb += round_up.eq(guard & (sticky | kept[0]))

        # Exponent and fraction as one number: the rounding carry moves into the exponent
        # (largest subnormal -> smallest normal, 65504 + ulp -> infinity) by itself.
        magnitude = Signal(16, name="magnitude")
        normal_exponent = Mux(exponent >= _MIN_NORMAL, exponent - _MIN_NORMAL, 0)
        m.d.comb += magnitude.eq((normal_exponent << 10) + kept + round_up)

        top = (1 << FP32.exp_bits) - 1
        infinity = Const(0x7C00, 15)
        with m.If((exponent == top) & value.fraction.any()):
            m.d.comb += self.result.eq(CANONICAL_NAN16)
        with m.Elif(exponent >= _OVERFLOW):
            m.d.comb += self.result.eq(Cat(infinity, value.sign))
        with m.Else():
            m.d.comb += self.result.eq(Cat(magnitude[:15], value.sign))
        return m
