"""Bitmap encoder (compaction): dense vector -> bitmap + condensed values."""

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least
from .prefix_popcount import PrefixPopcount
from .shapes import number_shape

__all__ = ["BitmapEncoder"]


class BitmapEncoder(wiring.Component):
    """Encode a dense vector into the bitmap format (combinational).

    ``bitmap[p]`` is set when ``values[p]`` is nonzero (for a float type, ``+0`` and ``-0`` are
    zero and NaN is nonzero); ``packed[j]`` is the ``j``-th nonzero in position order, slots from
    ``count`` on are 0.

    Parameters: ``width`` (vector length, >= 1) and ``number_type`` (a
    :class:`dstc.sim.config.NumberType`).
    Ports: ``values`` in (``width`` values); ``bitmap`` out; ``packed`` out (``width`` values);
    ``count`` out (``range(width + 1)``). Latency 0.
    Raises :class:`ValueError` if ``width`` is not a positive integer.
    """

    def __init__(self, width, number_type):
        check_at_least(width=width)
        self._width, self._number_type = width, number_type
        vector = data.ArrayLayout(number_shape(number_type), width)
        super().__init__({
            "values": In(vector),
            "bitmap": Out(width),
            "packed": Out(vector),
            "count": Out(range(width + 1)),
        })

    @property
    def width(self):
        return self._width

    @property
    def number_type(self):
        return self._number_type

    def elaborate(self, platform):
        m = Module()
        width = self._width
        magnitude_bits = self._number_type.width - (1 if self._number_type.is_float else 0)
        m.d.comb += self.bitmap.eq(Cat(Value.cast(self.values[pos])[:magnitude_bits].any()
                                       for pos in range(width)))

        m.submodules.prefix = prefix = PrefixPopcount(width)
        m.d.comb += [prefix.bitmap.eq(self.bitmap), self.count.eq(prefix.total)]

        # Slot j takes the set bit of rank j; only positions p >= j can have rank j.
        slots = []
        for slot in range(width):
            gathered = 0
            for pos in range(slot, width):
                take = Signal(name=f"take{slot}_{pos}")
                m.d.comb += take.eq(self.bitmap[pos] & (prefix.prefix[pos] == slot))
                gathered = gathered | Mux(take, Value.cast(self.values[pos]), 0)
            packed = Signal.like(self.packed[slot], name=f"packed{slot}")
            m.d.comb += packed.eq(gathered)
            slots.append(packed)
        m.d.comb += self.packed.eq(Cat(slots))
        return m
