"""Accumulator tile with gather/scatter-add of one OHMMA's products."""

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import wiring

from .accumulate_pipeline import AccumulatePipeline
from .accumulator_signature import scatter_signature
from .int_adder import accumulation_adder
from .isa import scatter_layout
from .shapes import accum_shape
from .tile_buffers import TileBuffers

__all__ = ["AccumulatorTile", "scatter_layout"]


class AccumulatorTile(wiring.Component):
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

    def __init__(self, config, *, _forwarding=True):
        self._config = config
        self._forwarding = _forwarding
        super().__init__(scatter_signature(config))

    @property
    def latency(self):
        """Cycles between the cycle a scatter is presented and the cycle at whose end the tile
        holds its sums: ``config.accumulate_stages - 1`` (0: single-cycle gather, add and
        scatter)."""
        return self._config.accumulate_stages - 1

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        config = self._config
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
        row_hit = [[Signal(name=f"row_hit_{r}_{i}") for i in range(config.tile_m)]
                   for r in range(rows)]
        col_hit = [[Signal(name=f"col_hit_{c}_{j}") for j in range(config.tile_n)]
                   for c in range(cols)]
        for r in range(rows):
            for i in range(config.tile_m):
                m.d.comb += row_hit[r][i].eq(placement.row_valid[r] & (placement.rows[r] == i))
        for c in range(cols):
            for j in range(config.tile_n):
                m.d.comb += col_hit[c][j].eq(placement.col_valid[c] & (placement.cols[c] == j))

        routed = [[Signal(width, name=f"routed_{r}_{j}") for j in range(config.tile_n)]
                  for r in range(rows)]
        for r in range(rows):
            for j in range(config.tile_n):
                value = 0
                for c in range(cols):
                    value = value | Mux(col_hit[c][j], sums[r][c], 0)
                m.d.comb += routed[r][j].eq(value)

        row_any = [Signal(name=f"row_any_{i}") for i in range(config.tile_m)]
        col_any = [Signal(name=f"col_any_{j}") for j in range(config.tile_n)]
        m.d.comb += [row_any[i].eq(Cat(row_hit[r][i] for r in range(rows)).any())
                     for i in range(config.tile_m)]
        m.d.comb += [col_any[j].eq(Cat(col_hit[c][j] for c in range(cols)).any())
                     for j in range(config.tile_n)]

        written = [[Signal(width, name=f"written_{i}_{j}") for j in range(config.tile_n)]
                   for i in range(config.tile_m)]
        for i in range(config.tile_m):
            for j in range(config.tile_n):
                value = 0
                for r in range(rows):
                    value = value | Mux(row_hit[r][i], routed[r][j], 0)
                m.d.comb += written[i][j].eq(value)

        def scatter(target):
            for i in range(config.tile_m):
                for j in range(config.tile_n):
                    with m.If(row_any[i] & col_any[j]):
                        m.d.sync += target[i][j].eq(written[i][j])

        storage.update(write.en, scatter)
        return m
