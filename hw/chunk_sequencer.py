"""Chunk sequencer: issues the OHMMA of one k-step, one chunk pair per cycle."""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .bitmap_decoder import BitmapDecoder
from .isa import issue_layout, placement_layout, work_layout
from .shapes import index_shape, operand_shape, struct_value

__all__ = ["ChunkSequencer"]


class ChunkSequencer(wiring.Component):
    """Holds one k-step and issues its chunk pairs, A chunk outer, B chunk inner.

    Ports:

    * ``work`` (stream in, :func:`~dstc.hw.isa.work_layout`): one k-step. ``work.ready`` is
      high when idle and in the cycle that issues the last chunk pair, so consecutive
      k-steps issue back to back; a k-step transferred in cycle ``t`` issues from ``t + 1``.
    * ``issue`` (stream out, :func:`~dstc.hw.isa.issue_layout`, always ready: the pipeline
      behind it never stalls): while a k-step is held, ``issue.valid`` is high every cycle and
      ``issue.payload`` holds chunk pair ``(i, j)``: chunk ``i`` of the A values at their
      decoded rows and chunk ``j`` of the B values at their decoded columns (for ``direct``
      work, the first lanes at the given placement).

    A k-step of ``n = a_chunks * b_chunks`` pairs transferred in cycle ``t`` issues in cycles
    ``t + 1`` to ``t + n`` (:attr:`latency` 1). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`); ``a_chunks`` and ``b_chunks`` of the work must be
    at least 1.
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "work": In(stream.Signature(work_layout(config))),
            "issue": Out(stream.Signature(issue_layout(config), always_ready=True)),
        })

    @property
    def config(self):
        return self._config

    @property
    def latency(self):
        """Cycles from a k-step's transfer to its first issue: 1."""
        return 1

    def elaborate(self, platform):
        m = Module()
        config = self._config
        rows, cols = config.array_rows, config.array_cols
        operand_width = operand_shape(config).width

        current = Signal(work_layout(config))
        busy = Signal()                      # a k-step is held: issue.valid
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
        decoded = struct_value(
            m, placement_layout(config), "decoded",
            rows=a_decoder.positions, row_valid=a_decoder.valid,
            cols=b_decoder.positions, col_valid=b_decoder.valid)
        m.d.comb += self.issue.payload.eq(struct_value(
            m, issue_layout(config), "issue",
            a_values=a_lanes, b_values=b_lanes,
            placement=Mux(current.direct, current.placement, decoded)))
        m.d.comb += [
            self.issue.valid.eq(busy),
            last.eq((a_chunk == current.a_chunks - 1) & (b_chunk == current.b_chunks - 1)),
            self.work.ready.eq(~busy | last),
        ]

        with m.If(busy):
            with m.If(b_chunk == current.b_chunks - 1):
                m.d.sync += [b_chunk.eq(0), a_chunk.eq(a_chunk + 1)]
            with m.Else():
                m.d.sync += b_chunk.eq(b_chunk + 1)
            with m.If(last):
                m.d.sync += busy.eq(0)
        with m.If(self.work.valid & self.work.ready):
            m.d.sync += [
                current.eq(self.work.payload),
                a_chunk.eq(0),
                b_chunk.eq(0),
                busy.eq(1),
            ]
        return m
