"""Check that the valid lanes of an index vector are distinct."""

from amaranth import Cat, Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .shapes import index_shape

__all__ = ["DistinctCheck"]


class DistinctCheck(wiring.Component):
    """``conflict`` is high when two valid lanes hold the same index (combinational).

    Guards the conflict-free accumulator scatter against OHMMA commands that name a row or a
    column twice. Parameters: ``lanes`` and ``size`` (indices are ``range(size)``).
    Ports: ``indices`` in, ``valid`` in (``lanes`` bits), ``conflict`` out. Latency 0.
    """

    def __init__(self, lanes, size):
        self._lanes = lanes
        super().__init__({
            "indices": In(data.ArrayLayout(index_shape(size), lanes)),
            "valid": In(lanes),
            "conflict": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        pairs = [self.valid[i] & self.valid[j] & (self.indices[i] == self.indices[j])
                 for i in range(self._lanes) for j in range(i + 1, self._lanes)]
        m.d.comb += self.conflict.eq(Cat(pairs).any() if pairs else 0)
        return m
