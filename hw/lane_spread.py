"""Lane spread: moves one chunk's decoded nonzeros into their reach-limited lanes."""

from amaranth import Cat, Module, Mux, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least, check_ordered
from .shapes import index_shape

__all__ = ["LaneSpread"]


class LaneSpread(wiring.Component):
    """Lane skipping (``lane_placement="reach"``): the ``k``-th value of a chunk goes to lane
    ``max(k, positions[k] - (width - lanes))`` (:func:`~dstc.sim.isa.reach_lanes`).

    Inputs, in value order (what :class:`~dstc.hw.bitmap_decoder.BitmapDecoder` gives: the
    valid values first, at rising positions): ``positions`` (``lanes`` positions of
    ``index_shape(width)``), ``valid`` (``lanes`` bits) and ``values`` (``lanes`` values of
    ``value_shape``). Outputs, in lane order: ``lane_positions``, ``lane_valid`` and
    ``lane_values``: lane ``l`` holds the value whose lane is ``l`` (invalid, position 0 and
    value 0 when none). The spread is monotone (a value only moves up, never past a later
    one), so lane ``l`` selects among values ``0..l``; its position then lies in
    ``[l, l + width - lanes]``. Latency 0.

    Parameters: ``width`` (tile positions), ``lanes`` (``lanes <= width``, both >= 1) and
    ``value_shape``. Raises :class:`ValueError` when ``lanes`` or ``width`` is not a positive
    integer or ``lanes > width``.
    """

    def __init__(self, width, lanes, value_shape):
        check_at_least(width=width, lanes=lanes)
        check_ordered(lanes=lanes, width=width)
        self._width, self._lanes = width, lanes
        self._value_width = Shape.cast(value_shape).width
        positions = data.ArrayLayout(index_shape(width), lanes)
        values = data.ArrayLayout(value_shape, lanes)
        super().__init__({
            "positions": In(positions),
            "valid": In(lanes),
            "values": In(values),
            "lane_positions": Out(positions),
            "lane_valid": Out(lanes),
            "lane_values": Out(values),
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
        skip = width - lanes
        value_width = self._value_width
        # goes[k][l]: value k goes to lane l (only l >= k is possible).
        goes = [[None] * lanes for _ in range(lanes)]
        for k in range(lanes):
            position = self.positions[k]
            for lane in range(k, lanes):
                hit = Signal(name=f"goes_{k}_{lane}")
                if lane == k and k + skip >= width - 1:   # every position stays in lane k
                    m.d.comb += hit.eq(self.valid[k])
                elif lane == k:                           # position - skip <= k
                    m.d.comb += hit.eq(self.valid[k] & (position <= k + skip))
                else:           # position - skip == lane > k
                    m.d.comb += hit.eq(self.valid[k] & (position == lane + skip))
                goes[k][lane] = hit
        positions, valid, values = [], [], []
        for lane in range(lanes):
            position = Signal(index_shape(width), name=f"lane_position_{lane}")
            value = Signal(value_width, name=f"lane_value_{lane}")
            selected_position, selected_value = 0, 0
            for k in range(lane + 1):
                selected_position = selected_position | Mux(goes[k][lane], self.positions[k], 0)
                selected_value = selected_value | Mux(goes[k][lane], self.values[k], 0)
            m.d.comb += [position.eq(selected_position), value.eq(selected_value)]
            positions.append(position)
            values.append(value)
            valid.append(Cat(goes[k][lane] for k in range(lane + 1)).any())
        m.d.comb += [
            self.lane_positions.eq(Cat(positions)),
            self.lane_valid.eq(Cat(valid)),
            self.lane_values.eq(Cat(values)),
        ]
        return m
