"""Accumulator tile with gather/scatter-add of one OHMMA's products."""

from amaranth import Array, Cat, Module, Signal

from .accumulate_pipeline import AccumulatePipeline
from .int_adder import accumulation_adder
from .isa import scatter_layout
from .scatter_accumulator import ScatterAccumulator
from .shapes import accum_shape
from .tile_buffers import TileBuffers

__all__ = ["AccumulatorTile", "scatter_layout"]


class AccumulatorTile(ScatterAccumulator):
    """The ``tile_m x tile_n`` accumulator tile in registers, with one adder per lane
    (``adder_<r>_<c>``, :func:`~dstc.hw.int_adder.accumulation_adder`).

    Signature: :func:`~dstc.hw.accumulator_signature.scatter_signature`; the cells are
    :class:`~dstc.hw.tile_buffers.TileBuffers` (one or two buffers, ``config.tile_buffers``).
    Each cycle does one of (highest priority first), on the front buffer:

    * ``clear``: every cell becomes 0;
    * ``load_en``: row ``load_row`` becomes ``load_data``;
    * ``scatter_en``: a read-modify-write of the cells named by ``scatter.placement``: each
      valid lane gathers its cell, adds its product (wrapping integer add, or
      :class:`~dstc.hw.fp32_adder.Fp32Adder`) and the sum is scattered back. With
      ``config.accumulate_stages`` = 1 the update is complete at the end of the cycle
      (:attr:`latency` 0); with 2 or 3 the gather, add and scatter are pipelined
      (:class:`~dstc.hw.accumulate_pipeline.AccumulatePipeline`: :attr:`latency` 1 or 2,
      forwarding between back-to-back OHMMAs into the same cell). Either way one scatter
      per cycle, never a stall, and the sums of sequential updates.

    ``read_data`` is row ``read_row`` of the tile (the back buffer with two) as it is now
    (combinational read); ``swap`` exchanges two buffers.

    The scatter network is conflict-free by contract: valid lanes must name distinct rows and
    distinct columns (what the bitmap decoder produces); otherwise the written values are
    undefined. With a pipelined accumulate, ``clear``, ``load_en`` and ``swap`` must wait
    until no scatter is in flight (the core's tile commands wait for the pipeline to
    empty); otherwise the tile is undefined.

    Parameter: ``config`` (:class:`~dstc.sim.config.DstcConfig`); ``_forwarding`` (private,
    default True) is only for the test that shows the forwarding is needed.
    """

    def elaborate(self, platform):
        m = Module()
        config = self.config
        rows, cols = config.array_rows, config.array_cols
        acc_shape = accum_shape(config)
        width = acc_shape.width

        storage = TileBuffers(m, config, self)
        cells = storage.cells                       # the front buffer
        tile_rows = Array(Cat(row) for row in cells)
        pipe = AccumulatePipeline(m, config, self.scatter_en, self.scatter,
                                  forwarding=self._forwarding)
        placement = pipe.gather

        # Gather: lane (r, c) reads cell (rows[r], cols[c]) -- a row mux, then a column mux;
        # the lane's adder adds its product (after the pipeline registers, if any).
        sums = [[Signal(acc_shape, name=f"sum_{r}_{c}") for c in range(cols)] for r in range(rows)]
        for r in range(rows):
            gathered_row = Signal(width * config.tile_n, name=f"gathered_row_{r}")
            m.d.comb += gathered_row.eq(tile_rows[placement.rows[r]])
            for c in range(cols):
                current = gathered_row.word_select(placement.cols[c], width)
                adder = m.submodules[f"adder_{r}_{c}"] = accumulation_adder(config)
                m.d.comb += [adder.a.eq(pipe.operand(r, c, current)),
                             adder.b.eq(pipe.product(r, c)), sums[r][c].eq(adder.sum)]

        # Scatter (the write stage's placement and sums): route lane column c to tile column
        # cols[c], then lane row r to rows[r].
        write = pipe.write(sums)
        placement, sums = write.placement, write.sums
        row_hit = {(r, i): Signal(name=f"row_hit_{r}_{i}")
                   for r in range(rows) for i in range(config.tile_m)}
        col_hit = {(c, j): Signal(name=f"col_hit_{c}_{j}")
                   for c in range(cols) for j in range(config.tile_n)}
        for r in range(rows):
            for i in range(config.tile_m):
                m.d.comb += row_hit[r, i].eq(placement.row_valid[r] & (placement.rows[r] == i))
        for c in range(cols):
            for j in range(config.tile_n):
                m.d.comb += col_hit[c, j].eq(placement.col_valid[c] & (placement.cols[c] == j))
        self.scatter_sums(m, storage, write.en, sums, row_hit, col_hit)
        return m
