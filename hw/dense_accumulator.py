"""The dense baseline's accumulator tile, accessed one block of cells at a time."""

from amaranth import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..sim.dense_model import DenseGeometry
from .shapes import accum_shape, and_or_select, index_shape

__all__ = ["DenseAccumulator"]


class DenseAccumulator(wiring.Component):
    """The ``tile_m x tile_n`` accumulator tile in registers, read and written as aligned
    ``block_rows x block_cols`` blocks (numbered row-major, see
    :class:`~dstc.sim.dense_model.DenseGeometry`).

    * ``block_data`` is block ``block_read`` as it is now (combinational gather);
    * each cycle does one of (highest priority first): ``clear`` (every cell becomes 0),
      ``load_en`` (row ``load_row`` becomes ``load_data``), ``write_en`` (block
      ``write_block`` becomes ``write_data``);
    * ``read_data`` is row ``read_row`` as it is now (for draining).

    Block-aligned access is all a dense core needs: the gather is one ``blocks``-way
    multiplexer and the scatter a decoder, instead of the sparse core's per-lane crossbar.
    Parameters: ``config``.
    """

    def __init__(self, config):
        self._config = config
        geometry = self._geometry = DenseGeometry.of(config)
        accum = accum_shape(config)
        row = data.ArrayLayout(accum, config.tile_n)
        block = data.ArrayLayout(data.ArrayLayout(accum, geometry.block_cols),
                                 geometry.block_rows)
        super().__init__({
            "clear": In(1),
            "load_en": In(1),
            "load_row": In(index_shape(config.tile_m)),
            "load_data": In(row),
            "block_read": In(index_shape(geometry.blocks)),
            "block_data": Out(block),
            "write_en": In(1),
            "write_block": In(index_shape(geometry.blocks)),
            "write_data": In(block),
            "read_row": In(index_shape(config.tile_m)),
            "read_data": Out(row),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        config, geometry = self._config, self._geometry
        rows, cols = geometry.block_rows, geometry.block_cols
        acc_shape = accum_shape(config)

        cells = [[Signal(acc_shape, name=f"cell_{i}_{j}") for j in range(config.tile_n)]
                 for i in range(config.tile_m)]
        m.d.comb += self.read_data.eq(and_or_select(self.read_row, [Cat(row) for row in cells]))

        def block_cells(block):
            top, left = geometry.block_origin(block)
            return [cells[top + i][left + j] for i in range(rows) for j in range(cols)]

        m.d.comb += self.block_data.eq(
            and_or_select(self.block_read, [Cat(block_cells(b)) for b in range(geometry.blocks)]))

        with m.If(self.clear):
            m.d.sync += [cell.eq(0) for row in cells for cell in row]
        with m.Elif(self.load_en):
            for i in range(config.tile_m):
                with m.If(self.load_row == i):
                    m.d.sync += [cells[i][j].eq(self.load_data[j]) for j in range(config.tile_n)]
        with m.Elif(self.write_en):
            for b in range(geometry.blocks):
                with m.If(self.write_block == b):
                    m.d.sync += Cat(block_cells(b)).eq(self.write_data)
        return m
