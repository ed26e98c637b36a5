"""Class rounds: issue rounds one side of a k-step needs with lane classes."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from .parameters import check_ordered, check_powers_of_two
from .popcount import Popcount

__all__ = ["ClassRounds"]


class ClassRounds(wiring.Component):
    """``rounds = max_g ceil(n_g / (lanes / classes))``, ``n_g`` being the set bits of
    ``bitmap`` at positions ``r`` with ``r mod classes == g`` (combinational): the rounds of
    :class:`~dstc.hw.class_select.ClassSelect` (0 for an empty bitmap).

    Ports: ``bitmap`` in (``width`` bits); ``rounds`` out (``range(width // lanes + 1)``).
    Submodules ``count_<g>`` (:class:`~dstc.hw.popcount.Popcount`). Parameters: ``width``,
    ``lanes`` and ``classes``, powers of two with ``classes <= lanes <= width``; raises
    :class:`ValueError` otherwise.
    """

    def __init__(self, width, lanes, classes):
        check_powers_of_two(width=width, lanes=lanes, classes=classes)
        check_ordered(classes=classes, lanes=lanes, width=width)
        self._width, self._lanes, self._classes = width, lanes, classes
        super().__init__({"bitmap": In(width), "rounds": Out(range(width // lanes + 1))})

    def elaborate(self, platform):
        m = Module()
        width, lanes, classes = self._width, self._lanes, self._classes
        shift = exact_log2(lanes // classes)
        rounds = 0
        for g in range(classes):
            count = m.submodules[f"count_{g}"] = Popcount(width // classes)
            m.d.comb += count.bitmap.eq(Cat(self.bitmap[r] for r in range(g, width, classes)))
            class_rounds = Signal(range(width // lanes + 1), name=f"rounds_{g}")
            m.d.comb += class_rounds.eq((count.count + (1 << shift) - 1) >> shift)
            rounds = class_rounds if g == 0 else Mux(class_rounds > rounds, class_rounds,
                                                     rounds)
        m.d.comb += self.rounds.eq(rounds)
        return m
