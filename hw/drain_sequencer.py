"""Drain row sequencing with the response register: a tile leaves row by row on a stream."""

from amaranth import Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least
from .shapes import index_shape

__all__ = ["DrainSequencer"]


class DrainSequencer(wiring.Component):
    """Walks rows ``0 .. rows - 1`` of a tile into a registered response stream.

    ``start`` (in, 1) begins a drain at row 0 (the core only asserts it while not ``busy``).
    While ``busy`` (out, 1), ``row`` (out, a row index) addresses the row to send next and
    ``last`` (out, 1) tells that it is the last one; the parent computes that row's response
    on ``payload`` (in, ``layout``) combinationally from ``row`` and ``last``. Whenever the
    response register is empty or being taken (``~rsp.valid | rsp.ready``), ``payload`` is
    loaded into it (``rsp.valid`` goes high in the next cycle) and ``row`` advances; ``busy``
    falls after the last row is loaded. With ``rsp.ready`` held high, a drain started in
    cycle ``t`` loads row ``r`` in cycle ``t + 1 + r``, and ``rsp`` (stream out, ``layout``)
    presents it from cycle ``t + 2 + r``; backpressure holds the register and the row.

    Parameters: ``layout`` (a ``lib.data`` layout, the response beat) and ``rows`` (rows of
    the tile, >= 1). Raises :class:`TypeError` if ``layout`` is not a ``data.Layout`` and
    :class:`ValueError` if ``rows`` is not a positive integer.
    """

    def __init__(self, layout, rows):
        if not isinstance(layout, data.Layout):
            raise TypeError(f"layout={layout!r}: must be a lib.data layout")
        check_at_least(rows=rows)
        self._layout, self._rows = layout, rows
        super().__init__({
            "start": In(1),
            "busy": Out(1),
            "row": Out(index_shape(rows)),
            "last": Out(1),
            "payload": In(layout),
            "rsp": Out(stream.Signature(layout)),
        })

    @property
    def layout(self):
        return self._layout

    @property
    def rows(self):
        return self._rows

    def elaborate(self, platform):
        m = Module()
        rsp = self.rsp
        m.d.comb += self.last.eq(self.row == self._rows - 1)

        with m.If(self.start):
            m.d.sync += [self.busy.eq(1), self.row.eq(0)]
        with m.If(self.busy & (~rsp.valid | rsp.ready)):
            m.d.sync += [
                rsp.valid.eq(1),
                rsp.payload.eq(self.payload),
                self.row.eq(self.row + 1),
            ]
            with m.If(self.last):
                m.d.sync += self.busy.eq(0)
        with m.Elif(rsp.ready):
            m.d.sync += rsp.valid.eq(0)
        return m
