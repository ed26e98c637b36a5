"""Exact fp16 x fp16 -> fp32 multiplier."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .leading_zeros import LeadingZeros

__all__ = ["Fp16Multiplier", "CANONICAL_NAN32"]

#: The one NaN the datapath produces (quiet, positive, zero payload).
CANONICAL_NAN32 = 0x7FC0_0000


class Fp16Multiplier(wiring.Component):
    """``product`` = ``a * b`` exactly, as fp32 bits (combinational).

    Two 11-bit significands give a 22-bit product and the exponent of any product of two fp16
    values (subnormals included) lies inside the fp32 normal range, so no rounding ever occurs.
    NaN x anything and inf x 0 give the canonical NaN ``0x7FC00000``; inf x nonzero gives inf;
    a zero factor gives a zero with the sign ``sign(a) xor sign(b)``.

    Ports: ``a``, ``b`` in (fp16 bits); ``product`` out (fp32 bits). Latency 0.
    """

    def __init__(self):
        super().__init__({"a": In(16), "b": In(16), "product": Out(32)})

    def elaborate(self, platform):
        m = Module()
        a_exp, a_frac, b_exp, b_frac = self.a[10:15], self.a[:10], self.b[10:15], self.b[:10]
        sign = Signal(name="sign")
        a_nan, b_nan = Signal(name="a_nan"), Signal(name="b_nan")
        a_inf, b_inf = Signal(name="a_inf"), Signal(name="b_inf")
        a_zero, b_zero = Signal(name="a_zero"), Signal(name="b_zero")
        m.d.comb += [
            sign.eq(self.a[15] ^ self.b[15]),
            a_nan.eq((a_exp == 31) & a_frac.any()), b_nan.eq((b_exp == 31) & b_frac.any()),
            a_inf.eq((a_exp == 31) & ~a_frac.any()), b_inf.eq((b_exp == 31) & ~b_frac.any()),
            a_zero.eq((a_exp == 0) & ~a_frac.any()), b_zero.eq((b_exp == 0) & ~b_frac.any()),
        ]

        # Significands with their hidden bit; subnormals use the exponent of 1.
        significands = Signal(22, name="significands")
        m.d.comb += significands.eq(Cat(a_frac, a_exp.any()) * Cat(b_frac, b_exp.any()))
        m.submodules.normalize = normalize = LeadingZeros(22)
        m.d.comb += normalize.value.eq(significands)

        # value = significands * 2**(a_eff + b_eff - 50), with the leading one at bit
        # 21 - count: biased fp32 exponent a_eff + b_eff + 98 - count, always in [79, 158].
        exponent = Signal(8, name="exponent")
        a_eff = Mux(a_exp.any(), a_exp, 1)
        b_eff = Mux(b_exp.any(), b_exp, 1)
        m.d.comb += exponent.eq(a_eff + b_eff + 98 - normalize.count)
        finite = Signal(32, name="finite")
        m.d.comb += finite.eq(Cat(Const(0, 2), normalize.normalized[:21], exponent, sign))

        with m.If(a_nan | b_nan | (a_inf & b_zero) | (a_zero & b_inf)):
            m.d.comb += self.product.eq(CANONICAL_NAN32)
        with m.Elif(a_inf | b_inf):
            m.d.comb += self.product.eq(Cat(Const(0, 23), Const(0xFF, 8), sign))
        with m.Elif(a_zero | b_zero):
            m.d.comb += self.product.eq(Cat(Const(0, 31), sign))
        with m.Else():
            m.d.comb += self.product.eq(finite)
        return m
