"""IEEE 754 binary32 adder, round to nearest even."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .fp16_multiplier import CANONICAL_NAN32, FP32
from .leading_zeros import LeadingZeros
from .shapes import float_layout, struct_value

__all__ = ["Fp32Adder"]


class Fp32Adder(wiring.Component):
    """``sum`` = ``a + b`` in fp32, bit-exact with numpy float32 addition (combinational).

    Round to nearest, ties to even; subnormal inputs and results (no flush to zero); overflow
    to inf. ``x + (-x)`` is ``+0`` and ``-0 + -0`` is ``-0``. NaN inputs and ``inf + (-inf)``
    give the canonical NaN ``0x7FC00000``.

    Ports: ``a``, ``b`` in (fp32 bits, fields :func:`~dstc.hw.shapes.float_layout`); ``sum``
    out (fp32 bits). Latency 0.
    """

    def __init__(self):
        super().__init__({"a": In(FP32.width), "b": In(FP32.width), "sum": Out(FP32.width)})

    def elaborate(self, platform):
        m = Module()
        fp32 = float_layout(FP32)
        a, b = data.View(fp32, self.a), data.View(fp32, self.b)
        top = (1 << FP32.exp_bits) - 1          # the exponent of inf and NaN

        # Order the operands by magnitude (exponent, then fraction).
        swap = Signal(name="swap")
        big, small = Signal(fp32, name="big"), Signal(fp32, name="small")
        m.d.comb += [
            swap.eq(Cat(a.fraction, a.exponent) < Cat(b.fraction, b.exponent)),
            big.eq(Mux(swap, self.b, self.a)),
            small.eq(Mux(swap, self.a, self.b)),
        ]
        big_exp, small_exp = big.exponent, small.exponent
        big_eff = Mux(big_exp.any(), big_exp, 1)
        small_eff = Mux(small_exp.any(), small_exp, 1)

        # 27-bit extended significands: 24 significand bits, then guard, round and sticky.
        distance = Signal(8, name="distance")
        shift = Signal(range(28), name="align_shift")
        big_ext, small_full, small_ext = (Signal(27, name=n)
                                          for n in ("big_ext", "small_full", "small_ext"))
        aligned = Signal(27, name="aligned")
        m.d.comb += [
            distance.eq(big_eff - small_eff),
            shift.eq(Mux(distance > 27, 27, distance)),
            big_ext.eq(Cat(Const(0, 3), big.fraction, big_exp.any())),
            small_full.eq(Cat(Const(0, 3), small.fraction, small_exp.any())),
            aligned.eq(small_full >> shift),
            small_ext.eq(aligned | ((aligned << shift)[:27] != small_full)),
        ]

        subtract = Signal(name="subtract")
        raw = Signal(28, name="raw")
        m.d.comb += [
            subtract.eq(big.sign ^ small.sign),
            raw.eq(Mux(subtract, big_ext - small_ext, big_ext + small_ext)),
        ]

        # Normalise: one step right on a carry out, else left by the leading zeros, but never
        # below exponent 1 (the result is then subnormal).
        m.submodules.leading = leading = LeadingZeros(27)
        m.d.comb += leading.value.eq(raw[:27])
        left = Signal(range(28), name="left_shift")
        m.d.comb += left.eq(Mux(leading.count < big_eff, leading.count, big_eff - 1))
        norm = Signal(27, name="norm")
        exponent = Signal(9, name="exponent")
        with m.If(raw[27]):
            m.d.comb += [
                norm.eq(Cat(raw[1] | raw[0], raw[2:28])),
                exponent.eq(big_eff + 1),
            ]
        with m.Else():
            m.d.comb += [
                norm.eq(raw[:27] << left),
                exponent.eq(big_eff - left),
            ]

        # Round to nearest even on guard (bit 2), round (bit 1) and sticky (bit 0). The
        # rounding adds to exponent and fraction together (``magnitude``: the fields below the
        # sign), so a carry out of the fraction moves into the exponent (also from subnormal to
        # normal and from the largest finite value to inf).
        round_up = Signal(name="round_up")
        magnitude = Signal(31, name="magnitude")
        m.d.comb += [
            round_up.eq(norm[2] & (norm[1] | norm[0] | norm[3])),
            magnitude.eq(Cat(norm[3:26], Mux(norm[26], exponent[:8], 0)) + round_up),
        ]

        a_nan = (a.exponent == top) & a.fraction.any()
        b_nan = (b.exponent == top) & b.fraction.any()
        a_inf = (a.exponent == top) & ~a.fraction.any()
        b_inf = (b.exponent == top) & ~b.fraction.any()
        infinite = struct_value(m, fp32, "infinite", fraction=0, exponent=top, sign=big.sign)
        zero = struct_value(m, fp32, "zero", fraction=0, exponent=0, sign=a.sign & b.sign)
        with m.If(a_nan | b_nan | (a_inf & b_inf & (a.sign ^ b.sign))):
            m.d.comb += self.sum.eq(CANONICAL_NAN32)
        with m.Elif(a_inf | b_inf | (raw[27] & (exponent >= top))):
            m.d.comb += self.sum.eq(infinite)
        with m.Elif(raw == 0):
            m.d.comb += self.sum.eq(zero)
        with m.Else():
            m.d.comb += self.sum.eq(Cat(magnitude, big.sign))
        return m
