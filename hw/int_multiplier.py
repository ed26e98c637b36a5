"""Signed integer multiplier."""

from amaranth import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least

__all__ = ["IntMultiplier"]


class IntMultiplier(wiring.Component):
    """``product`` = ``a * b``, exact (combinational).

    Parameters: ``width`` of the signed operands (>= 2).
    Ports: ``a``, ``b`` in (``signed(width)``); ``product`` out (``signed(2 * width)``).
    Latency 0. Raises :class:`ValueError` if ``width`` is not an integer of at least 2.
    """

    def __init__(self, width):
        check_at_least(2, width=width)
        self._width = width
        super().__init__({
            "a": In(signed(width)),
            "b": In(signed(width)),
            "product": Out(signed(2 * width)),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.product.eq(self.a * self.b)
        return m
