"""Leading-zero count and normalising shift."""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least

__all__ = ["LeadingZeros"]


class LeadingZeros(wiring.Component):
    """Count the leading zeros of ``value`` and shift them out (combinational log shifter).

    ``normalized`` is ``value << count`` (its top bit is set unless ``value`` is 0); ``count``
    is ``width`` for a zero ``value``.

    Parameters: ``width`` (>= 1).
    Ports: ``value`` in; ``count`` out (``range(width + 1)``); ``normalized`` out. Latency 0.
    Raises :class:`ValueError` if ``width`` is not a positive integer.
    """

    def __init__(self, width):
        check_at_least(width=width)
        self._width = width
        super().__init__({
            "value": In(width),
            "count": Out(range(width + 1)),
            "normalized": Out(width),
        })

    @property
    def width(self):
        return self._width

    def elaborate(self, platform):
        m = Module()
        width = self._width
        stage, count = self.value, 0
        step = 1 << ((width - 1).bit_length() - 1) if width > 1 else 0
        while step:
            top_zero = Signal(name=f"zero_top{step}")
            shifted = Signal(width, name=f"shifted{step}")
            m.d.comb += [
                top_zero.eq(stage[max(0, width - step):] == 0),
                shifted.eq(Mux(top_zero, stage << step, stage)),
            ]
            stage, count, step = shifted, count + top_zero * step, step >> 1
        # The steps add up to 2**k - 1 >= width - 1, enough for any nonzero value.
        m.d.comb += [
            self.normalized.eq(stage),
            self.count.eq(Mux(stage == 0, width, count)),
        ]
        return m
