"""Popcount of a bitmap."""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least

__all__ = ["Popcount"]


class Popcount(wiring.Component):
    """Number of set bits of ``bitmap``, by a balanced adder tree (combinational).

    Parameters: ``width``, the bitmap width (>= 1).
    Ports: ``bitmap`` in (``width`` bits); ``count`` out (``range(width + 1)``).
    Latency 0. Raises :class:`ValueError` if ``width`` is not a positive integer.
    """

    def __init__(self, width):
        check_at_least(width=width)
        self._width = width
        super().__init__({"bitmap": In(width), "count": Out(range(width + 1))})

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        terms = [self.bitmap[i] for i in range(self._width)]
        while len(terms) > 1:
            pairs = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
            terms = pairs + terms[len(pairs) * 2:]
        m.d.comb += self.count.eq(terms[0])
        return m
