"""Exact fp16 x fp16 -> fp32 multiplier."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..sim.config import NumberType
from .leading_zeros import LeadingZeros
from .shapes import float_layout, struct_value

__all__ = ["Fp16Multiplier", "CANONICAL_NAN32", "FP16", "FP32"]

#: The number types of the floating-point datapath.
FP16 = NumberType.parse("fp16", "operand_type")
FP32 = NumberType.parse("fp32", "accum_type")

#: The one NaN the datapath produces (quiet, positive, zero payload): exponent all ones,
#: fraction the quiet bit only.
CANONICAL_NAN32 = 0x7FC0_0000


class Fp16Multiplier(wiring.Component):
    """``product`` = ``a * b`` exactly, as fp32 bits (combinational).

    Two 11-bit significands give a 22-bit product and the exponent of any product of two fp16
    values (subnormals included) lies inside the fp32 normal range, so no rounding ever occurs.
    NaN x anything and inf x 0 give the canonical NaN ``0x7FC00000``; inf x nonzero gives inf;
    a zero factor gives a zero with the sign ``sign(a) xor sign(b)``.

    Ports: ``a``, ``b`` in (fp16 bits, fields :func:`~dstc.hw.shapes.float_layout`);
    ``product`` out (fp32 bits). Latency 0.
    """

    def __init__(self):
        super().__init__({"a": In(FP16.width), "b": In(FP16.width), "product": Out(FP32.width)})

    def elaborate(self, platform):
        m = Module()
        fp16, fp32 = float_layout(FP16), float_layout(FP32)
        a, b = data.View(fp16, self.a), data.View(fp16, self.b)
        top = (1 << FP16.exp_bits) - 1          # the exponent of inf and NaN
        sign = Signal(name="sign")
        a_nan, b_nan = Signal(name="a_nan"), Signal(name="b_nan")
        a_inf, b_inf = Signal(name="a_inf"), Signal(name="b_inf")
        a_zero, b_zero = Signal(name="a_zero"), Signal(name="b_zero")
        m.d.comb += [
            sign.eq(a.sign ^ b.sign),
            a_nan.eq((a.exponent == top) & a.fraction.any()),
            b_nan.eq((b.exponent == top) & b.fraction.any()),
            a_inf.eq((a.exponent == top) & ~a.fraction.any()),
            b_inf.eq((b.exponent == top) & ~b.fraction.any()),
            a_zero.eq((a.exponent == 0) & ~a.fraction.any()),
            b_zero.eq((b.exponent == 0) & ~b.fraction.any()),
        ]

        # Significands with their hidden bit; subnormals use the exponent of 1.
        significands = Signal(22, name="significands")
        m.d.comb += significands.eq(Cat(a.fraction, a.exponent.any()) *
                                    Cat(b.fraction, b.exponent.any()))
        m.submodules.normalize = normalize = LeadingZeros(22)
        m.d.comb += normalize.value.eq(significands)

        # value = significands * 2**(a_eff + b_eff - 50), with the leading one at bit
        # 21 - count: biased fp32 exponent a_eff + b_eff + 98 - count, always in [79, 158].
        exponent = Signal(FP32.exp_bits, name="exponent")
        a_eff = Mux(a.exponent.any(), a.exponent, 1)
        b_eff = Mux(b.exponent.any(), b.exponent, 1)
        m.d.comb += exponent.eq(a_eff + b_eff + 98 - normalize.count)
        # The 21 bits below the leading one, then two zero bits: the exact 23-bit fraction.
        finite = struct_value(m, fp32, "finite", fraction=Cat(Const(0, 2),
                                                              normalize.normalized[:21]),
                              exponent=exponent, sign=sign)
        infinite = struct_value(m, fp32, "infinite", fraction=0,
                                exponent=(1 << FP32.exp_bits) - 1, sign=sign)
        zero = struct_value(m, fp32, "zero", fraction=0, exponent=0, sign=sign)

        with m.If(a_nan | b_nan | (a_inf & b_zero) | (a_zero & b_inf)):
            m.d.comb += self.product.eq(CANONICAL_NAN32)
        with m.Elif(a_inf | b_inf):
            m.d.comb += self.product.eq(infinite)
        with m.Elif(a_zero | b_zero):
            m.d.comb += self.product.eq(zero)
        with m.Else():
            m.d.comb += self.product.eq(finite)
        return m
