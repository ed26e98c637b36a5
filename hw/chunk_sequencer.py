"""Chunk sequencer: issues the OHMMA of one k-step, one chunk pair per cycle."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .bitmap_decoder import BitmapDecoder
from .shapes import index_shape, operand_shape, struct_value

__all__ = ["ChunkSequencer", "work_layout", "issue_layout"]


def work_layout(config):
    """One k-step of work.

    ``a_bitmap``/``b_bitmap`` place the condensed ``a_values``/``b_values``; ``a_chunks`` and
    ``b_chunks`` (>= 1) are how many chunks of ``array_rows``/``array_cols`` they fill. With
    ``direct`` set, the work is a single OHMMA whose lane positions and valid bits come from
    ``a_rows``/``a_valid``/``b_cols``/``b_valid`` (values in the first slots) instead of the
    bitmaps.
    """
    operand = operand_shape(config)
    return data.StructLayout({
        "a_bitmap": config.tile_m,
        "b_bitmap": config.tile_n,
        "a_values": data.ArrayLayout(operand, config.tile_m),
        "b_values": data.ArrayLayout(operand, config.tile_n),
        "a_chunks": range(config.a_chunks + 1),
        "b_chunks": range(config.b_chunks + 1),
        "direct": 1,
        "a_rows": data.ArrayLayout(index_shape(config.tile_m), config.array_rows),
        "a_valid": config.array_rows,
        "b_cols": data.ArrayLayout(index_shape(config.tile_n), config.array_cols),
        "b_valid": config.array_cols,
    })


def issue_layout(config):
    """One issued OHMMA: lane values, their tile positions and valid bits."""
    operand = operand_shape(config)
    return data.StructLayout({
        "a_values": data.ArrayLayout(operand, config.array_rows),
        "rows": data.ArrayLayout(index_shape(config.tile_m), config.array_rows),
        "row_valid": config.array_rows,
        "b_values": data.ArrayLayout(operand, config.array_cols),
        "cols": data.ArrayLayout(index_shape(config.tile_n), config.array_cols),
        "col_valid": config.array_cols,
    })


class ChunkSequencer(wiring.Component):
    """Holds one k-step and issues its chunk pairs, A chunk outer, B chunk inner.

    While ``busy``, every cycle issues chunk pair (i, j): ``issue_valid`` is high and
    ``issue`` holds chunk i of the A values at their decoded rows and chunk j of the B values
    at their decoded columns. ``free`` is high when ``load`` may be asserted: when idle, or in
    the cycle that issues the last pair, so consecutive k-steps issue back to back. A loaded
    k-step issues from the next cycle.

    Ports: ``load`` in, ``work`` in (:func:`work_layout`), ``free`` out, ``busy`` out,
    ``issue_valid`` out, ``issue`` out (:func:`issue_layout`). Parameter: ``config``.
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "load": In(1),
            "work": In(work_layout(config)),
            "free": Out(1),
            "busy": Out(1),
            "issue_valid": Out(1),
            "issue": Out(issue_layout(config)),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        config = self._config
        rows, cols = config.array_rows, config.array_cols
        operand_width = operand_shape(config).width

        current = Signal(work_layout(config))
        a_chunk = Signal(index_shape(config.a_chunks))
        b_chunk = Signal(index_shape(config.b_chunks))
        last = Signal()

        m.submodules.a_decoder = a_decoder = BitmapDecoder(config.tile_m, rows)
        m.submodules.b_decoder = b_decoder = BitmapDecoder(config.tile_n, cols)
        m.d.comb += [
            a_decoder.bitmap.eq(current.a_bitmap),
            a_decoder.chunk.eq(a_chunk),
            b_decoder.bitmap.eq(current.b_bitmap),
            b_decoder.chunk.eq(b_chunk),
        ]

        # Chunk i of the condensed values (the chunk counters stay below the chunk counts
        # while busy, so the selected word is always inside the vector).
        a_lanes = current.a_values.as_value().word_select(a_chunk, rows * operand_width)
        b_lanes = current.b_values.as_value().word_select(b_chunk, cols * operand_width)
        m.d.comb += self.issue.eq(struct_value(
            m, issue_layout(config), "issue",
            a_values=a_lanes, b_values=b_lanes,
            rows=Mux(current.direct, current.a_rows, a_decoder.positions),
            row_valid=Mux(current.direct, current.a_valid, a_decoder.valid),
            cols=Mux(current.direct, current.b_cols, b_decoder.positions),
            col_valid=Mux(current.direct, current.b_valid, b_decoder.valid)))
        m.d.comb += [
            self.issue_valid.eq(self.busy),
            last.eq((a_chunk == current.a_chunks - 1) & (b_chunk == current.b_chunks - 1)),
            self.free.eq(~self.busy | last),
        ]

        with m.If(self.busy):
            with m.If(b_chunk == current.b_chunks - 1):
                m.d.sync += [b_chunk.eq(0), a_chunk.eq(a_chunk + 1)]
            with m.Else():
                m.d.sync += b_chunk.eq(b_chunk + 1)
            with m.If(last):
                m.d.sync += self.busy.eq(0)
        with m.If(self.load):
            m.d.sync += [
                current.eq(self.work),
                a_chunk.eq(0),
                b_chunk.eq(0),
                self.busy.eq(1),
            ]
        return m
