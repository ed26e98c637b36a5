"""Accumulator tile whose lanes only reach the cells lane skipping can send them to."""

from amaranth import Cat, Module, Signal
from amaranth.utils import exact_log2

from ..sim.config import ConfigError
from ..sim.isa import lane_reach
from .accumulate_pipeline import AccumulatePipeline
from .int_adder import accumulation_adder
from .scatter_accumulator import ScatterAccumulator
from .shapes import accum_shape, and_or_select, index_shape
from .tile_buffers import TileBuffers

__all__ = ["ReachAccumulator"]


class ReachAccumulator(ScatterAccumulator):
    """The ``tile_m x tile_n`` accumulator tile of ``lane_placement="reach"``: each lane
    reaches only the tile positions :func:`~dstc.sim.isa.lane_reach` gives it, the cells a
    chunk's nonzeros reach under lane skipping (:class:`~dstc.hw.lane_spread.LaneSpread`).
    Without lane classes lane row ``r`` reaches tile rows ``r .. r + tile_m - array_rows`` and
    lane column ``c`` columns ``c .. c + tile_n - array_cols``; with G row classes, lane row
    ``r`` of class ``g`` reaches ``tile_m / G - array_rows / G + 1`` rows ``r' = g mod G``
    (columns likewise). Each lane's gather multiplexers and each cell's write select have as
    many inputs as the reach, instead of ``tile_m`` and ``tile_n``
    (:class:`~dstc.hw.accumulator.AccumulatorTile`).

    Signature: :func:`~dstc.hw.accumulator_signature.scatter_signature`; the same storage
    (:class:`~dstc.hw.tile_buffers.TileBuffers`, one or two buffers), priorities (``clear``,
    then ``load_en``, then ``scatter_en``), combinational ``read_data`` and read-modify-write
    as the crossbar: in one cycle (:attr:`latency` 0) or, with ``config.accumulate_stages``
    2 or 3, pipelined with forwarding (:class:`~dstc.hw.accumulate_pipeline.AccumulatePipeline`,
    :attr:`latency` 1 or 2), with one adder per lane (``adder_<r>_<c>``).

    By contract, valid lanes name distinct rows and distinct columns inside their reach (what
    the lane spread produces; the core checks OHMMA commands for it); otherwise the written
    values are undefined; with a pipelined accumulate ``clear``, ``load_en`` and ``swap``
    must wait until no scatter is in flight. Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig` with ``lane_placement="reach"``); raises
    :class:`~dstc.sim.config.ConfigError` otherwise. ``_forwarding`` (private, default True)
    is only for the test that shows the forwarding is needed.
    """

    def __init__(self, config, *, _forwarding=True):
        if config.lane_placement != "reach":
            raise ConfigError(f"lane_placement={config.lane_placement!r}: ReachAccumulator "
                              f"builds lane_placement='reach'")
        super().__init__(config, _forwarding=_forwarding)

    def elaborate(self, platform):
        m = Module()
        config = self.config
        row_reach, col_reach = lane_reach(config, "rows"), lane_reach(config, "cols")
        rows, cols = len(row_reach), len(col_reach)
        acc_shape = accum_shape(config)
        width = acc_shape.width

        storage = TileBuffers(m, config, self)
        cells = storage.cells                       # the front buffer
        pipe = AccumulatePipeline(m, config, self.scatter_en, self.scatter,
                                  forwarding=self._forwarding)
        placement = pipe.gather

        # Each lane's offset inside its reach (positions first + stride * offset): its tile
        # index divided by the class count, minus its lane index inside the class.
        def offsets(reach, indices, classes, name):
            signals = []
            for lane, positions in enumerate(reach):
                offset = Signal(index_shape(len(positions)), name=f"{name}_{lane}")
                m.d.comb += offset.eq((indices[lane] >> exact_log2(classes))
                                      - positions[0] // classes)
                signals.append(offset)
            return signals

        row_offset = offsets(row_reach, placement.rows, config.row_classes, "row_offset")
        col_offset = offsets(col_reach, placement.cols, config.col_classes, "col_offset")

        # Gather: lane (r, c) reads cell (rows[r], cols[c]) -- a row mux over the lane row's
        # reach, then a column mux over the lane column's; the lane's adder adds its product
        # (after the pipeline registers, if any).
        sums = [[Signal(acc_shape, name=f"sum_{r}_{c}") for c in range(cols)] for r in range(rows)]
        for r in range(rows):
            gathered_row = Signal(width * config.tile_n, name=f"gathered_row_{r}")
            m.d.comb += gathered_row.eq(and_or_select(
                row_offset[r], [Cat(cells[i]) for i in row_reach[r]]))
            for c in range(cols):
                current = Signal(acc_shape, name=f"current_{r}_{c}")
                m.d.comb += current.eq(and_or_select(
                    col_offset[c], [gathered_row.word_select(j, width) for j in col_reach[c]]))
                adder = m.submodules[f"adder_{r}_{c}"] = accumulation_adder(config)
                m.d.comb += [adder.a.eq(pipe.operand(r, c, current)),
                             adder.b.eq(pipe.product(r, c)), sums[r][c].eq(adder.sum)]

        # Scatter (the write stage's placement and sums): lane column c to the tile columns
        # it reaches, then lane row r likewise.
        write = pipe.write(sums)
        sums = write.sums
        if write.placement is not placement:
            row_offset = offsets(row_reach, write.placement.rows, config.row_classes,
                                 "write_row_offset")
            col_offset = offsets(col_reach, write.placement.cols, config.col_classes,
                                 "write_col_offset")
            placement = write.placement
        row_hit = {(r, i): Signal(name=f"row_hit_{r}_{i}")
                   for r in range(rows) for i in row_reach[r]}
        col_hit = {(c, j): Signal(name=f"col_hit_{c}_{j}")
                   for c in range(cols) for j in col_reach[c]}
        for r in range(rows):
            for o, i in enumerate(row_reach[r]):
                m.d.comb += row_hit[r, i].eq(placement.row_valid[r] & (row_offset[r] == o))
        for c in range(cols):
            for o, j in enumerate(col_reach[c]):
                m.d.comb += col_hit[c, j].eq(placement.col_valid[c] & (col_offset[c] == o))

        self.scatter_sums(m, storage, write.en, sums, row_hit, col_hit)
        return m
