"""Class select: one issue round of a bitmap's nonzeros over lanes split into classes."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from .bitmap_decoder import BitmapDecoder
from .lane_spread import LaneSpread
from .parameters import check_ordered, check_powers_of_two
from .prefix_popcount import PrefixPopcount
from .shapes import and_or_select, index_shape

__all__ = ["ClassSelect"]


class ClassSelect(wiring.Component):
    """Lane classes: ``classes`` (G) classes of ``lanes / G`` lanes (C); position ``r`` of the
    bitmap belongs to class ``r mod G`` and lanes ``g*C .. (g+1)*C - 1`` serve class ``g``.

    Round ``i`` takes from every class ``g`` its class nonzeros ``i*C .. i*C + C - 1`` (in
    position order) and lane-skips them inside the class: the ``k``-th goes to class lane
    ``max(k, q_k - (P - C))``, ``q_k = r // G`` being its position inside the class and
    ``P = width / G`` (:func:`~dstc.sim.isa.reach_lanes`). A k-step therefore needs
    ``max_g ceil(n_g / C)`` rounds (:func:`~dstc.sim.golden.bitmap_issues`).

    Ports: ``bitmap`` in (``width`` bits); ``values`` in (``width`` condensed values of
    ``value_shape``: value ``m`` belongs to the ``m``-th set bit); ``round`` in
    (``range(width // lanes)``); ``positions`` out (``lanes`` tile positions), ``valid`` out
    (``lanes`` bits) and ``lane_values`` out (``lanes`` values): what each lane issues in
    round ``round`` (invalid lanes: position 0, value 0). Submodules ``prefix``
    (:class:`~dstc.hw.prefix_popcount.PrefixPopcount`: the rank of each position among the
    set bits, which finds its condensed value), and per class ``decoder_<g>``
    (:class:`~dstc.hw.bitmap_decoder.BitmapDecoder` on the class's ``P`` bits) and
    ``spread_<g>`` (:class:`~dstc.hw.lane_spread.LaneSpread`). Latency 0.

    Parameters: ``width``, ``lanes`` and ``classes`` (powers of two, ``classes <= lanes <=
    width``) and ``value_shape``. Raises :class:`ValueError` otherwise.
    """

    def __init__(self, width, lanes, classes, value_shape):
        check_powers_of_two(width=width, lanes=lanes, classes=classes)
        check_ordered(classes=classes, lanes=lanes, width=width)
        self._width, self._lanes, self._classes = width, lanes, classes
        self._value_shape = value_shape
        values = data.ArrayLayout(value_shape, lanes)
        super().__init__({
            "bitmap": In(width),
            "values": In(data.ArrayLayout(value_shape, width)),
            "round": In(index_shape(width // lanes)),
            "positions": Out(data.ArrayLayout(index_shape(width), lanes)),
            "valid": Out(lanes),
            "lane_values": Out(values),
        })

    @property
    def width(self):
        return self._width

    @property
    def lanes(self):
        return self._lanes

    @property
    def classes(self):
        return self._classes

    def elaborate(self, platform):
        m = Module()
        width, lanes, classes = self._width, self._lanes, self._classes
        per_class, class_lanes = width // classes, lanes // classes
        class_bits = exact_log2(classes)
        m.submodules.prefix = prefix = PrefixPopcount(width)
        m.d.comb += prefix.bitmap.eq(self.bitmap)
        rank_shape = index_shape(width)
        value_width = len(self.values.as_value()) // width

        positions, valid, values = [], [], []
        for g in range(classes):
            members = range(g, width, classes)          # the class's positions, in order
            decoder = m.submodules[f"decoder_{g}"] = BitmapDecoder(per_class, class_lanes)
            spread = m.submodules[f"spread_{g}"] = LaneSpread(per_class, class_lanes, rank_shape)
            m.d.comb += [
                decoder.bitmap.eq(Cat(self.bitmap[r] for r in members)),
                decoder.chunk.eq(self.round),
                spread.positions.eq(decoder.positions),
                spread.valid.eq(decoder.valid),
            ]
            # The rank (condensed index) of the k-th class nonzero of the round.
            for k in range(class_lanes):
                rank = Signal(rank_shape, name=f"rank_{g}_{k}")
                m.d.comb += rank.eq(and_or_select(decoder.positions[k],
                                                  [prefix.prefix[r] for r in members]))
                m.d.comb += spread.values[k].eq(rank)
            for j in range(class_lanes):
                lane = g * class_lanes + j
                on = spread.lane_valid[j]
                position = Signal(index_shape(width), name=f"lane_position_{lane}")
                value = Signal(value_width, name=f"lane_value_{lane}")
                selected = and_or_select(spread.lane_values[j],
                                         [self.values[rank] for rank in range(width)])
                m.d.comb += [
                    position.eq(Mux(on, Cat(Const(g, class_bits), spread.lane_positions[j]), 0)),
                    value.eq(Mux(on, selected, 0)),
                ]
                positions.append(position)
                values.append(value)
                valid.append(on)
        m.d.comb += [
            self.positions.eq(Cat(positions)),
            self.valid.eq(Cat(valid)),
            self.lane_values.eq(Cat(values)),
        ]
        return m
