"""Wrapping signed integer adder (the integer accumulation adder)."""

from amaranth import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least

__all__ = ["IntAdder", "accumulation_adder"]


class IntAdder(wiring.Component):
    """``sum`` = ``a + b`` modulo ``2**width`` (combinational).

    Parameters: ``width`` of the signed operands and sum (>= 2).
    Ports: ``a``, ``b`` in (``signed(width)``); ``sum`` out (``signed(width)``). Latency 0.
    Raises :class:`ValueError` if ``width`` is not an integer of at least 2.
    """

    def __init__(self, width):
        check_at_least(2, width=width)
        self._width = width
        super().__init__({
            "a": In(signed(width)),
            "b": In(signed(width)),
            "sum": Out(signed(width)),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.sum.eq(self.a + self.b)
        return m


def accumulation_adder(config):
    """The adder that adds a product into an accumulator cell: :class:`Fp32Adder` for a
    float accumulator, :class:`IntAdder` of the accumulator width otherwise."""
    from .fp32_adder import Fp32Adder

    if config.accum.is_float:
        return Fp32Adder()
    return IntAdder(config.accum.width)
