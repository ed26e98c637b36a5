"""Chunk sequencer: issues the OHMMA of one k-step, one chunk pair per cycle."""

from amaranth import Module, Mux, Signal
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from .bitmap_decoder import BitmapDecoder
from .class_select import ClassSelect
from .config_component import ConfigComponent
from .isa import issue_layout, placement_layout, work_layout
from .lane_spread import LaneSpread
from .shapes import index_shape, operand_shape, struct_value

__all__ = ["ChunkSequencer"]


class ChunkSequencer(ConfigComponent):
    """Holds one k-step and issues its chunk pairs, A chunk outer, B chunk inner.

    Ports:

    * ``work`` (stream in, :func:`~dstc.hw.isa.work_layout`): one k-step. ``work.ready`` is
      high when idle and in the cycle that issues the last chunk pair, so consecutive
      k-steps issue back to back; a k-step transferred in cycle ``t`` issues from ``t + 1``.
    * ``issue`` (stream out, :func:`~dstc.hw.isa.issue_layout`, always ready: the pipeline
      behind it never stalls): while a k-step is held, ``issue.valid`` is high every cycle and
      ``issue.payload`` holds chunk pair ``(i, j)``: chunk ``i`` of the A values at their
      decoded rows and chunk ``j`` of the B values at their decoded columns (for ``direct``
      work, the first lanes at the given placement). With ``lane_placement="reach"`` each
      decoded chunk goes through a :class:`~dstc.hw.lane_spread.LaneSpread` (``a_spread``,
      ``b_spread``): its ``k``-th value to lane ``max(k, pos_k - (N - L))``. A side with
      lane classes issues round ``i`` of :class:`~dstc.hw.class_select.ClassSelect`
      (``a_classes``, ``b_classes``) instead of chunk ``i``; ``a_chunks``/``b_chunks`` then
      count rounds (``max_g ceil(n_g / (lanes / G))``).

    A k-step of ``n = a_chunks * b_chunks`` pairs transferred in cycle ``t`` issues in cycles
    ``t + 1`` to ``t + n`` (:attr:`latency` 1). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`); ``a_chunks`` and ``b_chunks`` of the work must be
    at least 1.
    """

    def __init__(self, config):
        super().__init__(config, {
            "work": In(stream.Signature(work_layout(config))),
            "issue": Out(stream.Signature(issue_layout(config), always_ready=True)),
        })

    @property
    def latency(self):
        """Cycles from a k-step's transfer to its first issue: 1."""
        return 1

    def elaborate(self, platform):
        m = Module()
        config = self.config
        rows, cols = config.array_rows, config.array_cols

        current = Signal(work_layout(config))
        busy = Signal()                      # a k-step is held: issue.valid
        a_chunk = Signal(index_shape(config.a_chunks))
        b_chunk = Signal(index_shape(config.b_chunks))
        last = Signal()

        a_positions, row_valid, a_issued = self._side(
            m, "a", current.a_bitmap, current.a_values, a_chunk, current.direct,
            config.tile_m, rows, config.row_classes)
        b_positions, col_valid, b_issued = self._side(
            m, "b", current.b_bitmap, current.b_values, b_chunk, current.direct,
            config.tile_n, cols, config.col_classes)
        decoded = struct_value(
            m, placement_layout(config), "decoded",
            rows=a_positions, row_valid=row_valid, cols=b_positions, col_valid=col_valid)
        m.d.comb += self.issue.payload.eq(struct_value(
            m, issue_layout(config), "issue",
            a_values=a_issued, b_values=b_issued,
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

    def _side(self, m, side, bitmap, values, chunk, direct, width, lanes, classes):
        """One side's lanes for chunk (round) ``chunk`` of the held k-step: ``(positions,
        valid, lane values)``. The crossbar decodes chunk ``chunk`` of the bitmap
        (``<side>_decoder``) and takes the condensed values' word ``chunk``; ``reach`` then
        lane-skips them (``<side>_spread``); with lane classes a
        :class:`~dstc.hw.class_select.ClassSelect` (``<side>_classes``) forms the round from
        every class. A ``direct`` work item issues the first ``lanes`` values as they are."""
        config = self.config
        operand = operand_shape(config)
        if classes > 1:
            select = m.submodules[f"{side}_classes"] = ClassSelect(width, lanes, classes,
                                                                   operand)
            m.d.comb += [select.bitmap.eq(bitmap), select.values.eq(values),
                         select.round.eq(chunk)]
            first = values.as_value()[:lanes * operand.width]
            return (select.positions, select.valid,
                    Mux(direct, first, select.lane_values.as_value()))
        decoder = m.submodules[f"{side}_decoder"] = BitmapDecoder(width, lanes)
        m.d.comb += [decoder.bitmap.eq(bitmap), decoder.chunk.eq(chunk)]
        # Chunk i of the condensed values (the chunk counters stay below the chunk counts
        # while busy, so the selected word is always inside the vector).
        chunk_values = values.as_value().word_select(chunk, lanes * operand.width)
        if config.lane_placement != "reach":
            return decoder.positions, decoder.valid, chunk_values
        spread = m.submodules[f"{side}_spread"] = LaneSpread(width, lanes, operand)
        m.d.comb += [spread.positions.eq(decoder.positions), spread.valid.eq(decoder.valid),
                     spread.values.eq(chunk_values)]
        return (spread.lane_positions, spread.lane_valid,
                Mux(direct, chunk_values, spread.lane_values.as_value()))
