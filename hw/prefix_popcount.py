"""Exclusive prefix popcount of a bitmap."""

from amaranth import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least

__all__ = ["PrefixPopcount"]


class PrefixPopcount(wiring.Component):
    """``prefix[i]`` = set bits of ``bitmap[0:i]`` (exclusive), and ``total`` (combinational).

    A Sklansky parallel prefix: ``ceil(log2(width))`` adder levels.

    Parameters: ``width``, the bitmap width (>= 1).
    Ports: ``bitmap`` in; ``prefix`` out (``width`` counts of ``range(width + 1)``); ``total``
    out (``range(width + 1)``). Latency 0.
    Raises :class:`ValueError` if ``width`` is not a positive integer.
    """

    def __init__(self, width):
        check_at_least(width=width)
        self._width = width
        count = range(width + 1)
        super().__init__({
            "bitmap": In(width),
            "prefix": Out(data.ArrayLayout(count, width)),
            "total": Out(count),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        width = self._width
        inclusive = [self.bitmap[i] for i in range(width)]
        span, level = 1, 0
        while span < width:
            stepped = []
            for i, value in enumerate(inclusive):
                if (i // span) % 2:
                    total = Signal(range(width + 1), name=f"level{level}_{i}")
                    m.d.comb += total.eq(value + inclusive[(i // span) * span - 1])
                    value = total
                stepped.append(value)
            inclusive, span, level = stepped, span * 2, level + 1
        # Each output is driven by one assignment: simulators such as Icarus slow down badly on
        # vectors assembled from many part-select drivers.
        exclusive = [Signal(range(width + 1), name=f"prefix{i}") for i in range(width)]
        m.d.comb += [exclusive[0].eq(0)]
        m.d.comb += [exclusive[i].eq(inclusive[i - 1]) for i in range(1, width)]
        m.d.comb += [self.prefix.eq(Cat(exclusive)), self.total.eq(inclusive[width - 1])]
        return m
