"""fp16 -> fp32 widening (exact)."""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .fp16_multiplier import CANONICAL_NAN32, FP16, FP32
from .leading_zeros import LeadingZeros
from .shapes import float_layout

__all__ = ["Fp16ToFp32"]

_BIAS_GAP = 127 - 15           # fp32 exponent bias - fp16 exponent bias


class Fp16ToFp32(wiring.Component):
    """``result`` = ``value`` (fp16 bits) as fp32 bits, exactly (combinational).

    Every fp16 value is an fp32 value: normals move their exponent by the bias difference
    (112), subnormals are normalised (their leading one becomes the hidden bit, with the
    :class:`~dstc.hw.leading_zeros.LeadingZeros` count lowering the exponent), zeros keep
    their sign, infinities stay infinities and every NaN becomes the canonical NaN
    ``0x7FC00000``.

    Ports: ``value`` in (fp16 bits, fields :func:`~dstc.hw.shapes.float_layout`), ``result``
    out (fp32 bits). Latency 0.
    """

    def __init__(self):
        super().__init__({"value": In(FP16.width), "result": Out(FP32.width)})

    def elaborate(self, platform):
        m = Module()
        value = data.View(float_layout(FP16), self.value)
        m.submodules.normalize = normalize = LeadingZeros(10)
        m.d.comb += normalize.value.eq(value.fraction)
        top = (1 << FP16.exp_bits) - 1
        subnormal_fraction = Signal(10, name="subnormal_fraction")
        # The normalised fraction without its leading one.
        m.d.comb += subnormal_fraction.eq(normalize.normalized << 1)
        with m.If((value.exponent == top) & value.fraction.any()):
            m.d.comb += self.result.eq(CANONICAL_NAN32)
        with m.Elif(value.exponent == top):
            m.d.comb += self.result.eq(Cat(Const(0, 23), Const(0xFF, 8), value.sign))
        with m.Elif(value.exponent.any()):
            m.d.comb += self.result.eq(Cat(Const(0, 13), value.fraction,
                                           (value.exponent + _BIAS_GAP)[:8], value.sign))
        with m.Elif(value.fraction.any()):
            # value = fraction x 2^-24 = 1.f x 2^(9 - count - 24): exponent field 112 - count.
            m.d.comb += self.result.eq(Cat(Const(0, 13), subnormal_fraction,
                                           (_BIAS_GAP - normalize.count)[:8], value.sign))
        with m.Else():
            m.d.comb += self.result.eq(Cat(Const(0, 31), value.sign))
        return m
