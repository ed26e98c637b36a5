"""Bitmap decoder ("select"): original positions of one chunk of a bitmap's nonzeros."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_ordered, check_powers_of_two
from .prefix_popcount import PrefixPopcount
from .shapes import index_shape

__all__ = ["BitmapDecoder"]


class BitmapDecoder(wiring.Component):
    """For chunk ``c``, lane ``i`` gets the position of the ``(c * lanes + i)``-th set bit.

    This is how condensed values find their place: value ``c * lanes + i`` of a condensed vector
    belongs at ``positions[i]`` when ``valid[i]``. Lanes past the last set bit are invalid and
    read position 0.

    Parameters: ``width`` (bitmap bits) and ``lanes`` (positions per chunk), powers of two with
    ``lanes <= width``.
    Ports: ``bitmap`` in; ``chunk`` in (``range(width // lanes)``); ``positions`` out (``lanes``
    positions of ``index_shape(width)``); ``valid`` out (``lanes`` bits). Latency 0.
    Raises :class:`ValueError` if ``width`` or ``lanes`` is not a power of two or
    ``lanes > width``.
    """

    def __init__(self, width, lanes):
        check_powers_of_two(width=width, lanes=lanes)
        check_ordered(lanes=lanes, width=width)
        self._width, self._lanes = width, lanes
        super().__init__({
            "bitmap": In(width),
            "chunk": In(index_shape(width // lanes)),
            "positions": Out(data.ArrayLayout(index_shape(width), lanes)),
            "valid": Out(lanes),
        })

    @property
    def width(self):
        return self._width

    @property
    def lanes(self):
        return self._lanes

    def elaborate(self, platform):
        m = Module()
        width, lanes = self._width, self._lanes
        m.submodules.prefix = prefix = PrefixPopcount(width)
        m.d.comb += prefix.bitmap.eq(self.bitmap)

        # Rank of each set bit relative to the chunk's first nonzero; a lane matches the one
        # set bit whose relative rank is its lane number.
        base = self.chunk * lanes
        positions, valid = [], []
        for lane in range(lanes):
            hits = Signal(width, name=f"hits{lane}")
            m.d.comb += hits.eq(Cat(self.bitmap[pos] & (prefix.prefix[pos] == base + lane)
                                    for pos in range(width)))
            position = Signal.like(self.positions[lane], name=f"position{lane}")
            encoded = 0
            for pos in range(1, width):
                encoded = encoded | Mux(hits[pos], pos, 0)
            m.d.comb += position.eq(encoded)
            positions.append(position)
            valid.append(hits.any())
        m.d.comb += [self.positions.eq(Cat(positions)), self.valid.eq(Cat(valid))]
        return m
