"""The dense baseline's accumulator tile, accessed one block of cells at a time."""

from amaranth import Cat, Module
from amaranth.lib import data
from amaranth.lib.wiring import In, Out

from ..sim.isa import DenseGeometry
from .accumulator_signature import storage_signature
from .dense_component import DenseComponent
from .shapes import accum_shape, and_or_select, index_shape
from .tile_buffers import TileBuffers

__all__ = ["DenseAccumulator"]


class DenseAccumulator(DenseComponent):
    """The ``tile_m x tile_n`` accumulator tile in registers, read and written as aligned
    ``block_rows x block_cols`` blocks (numbered row-major, see
    :class:`~dstc.sim.isa.DenseGeometry`).

    * ``block_data`` is block ``block_read`` as it is now (combinational gather);
    * each cycle does one of (highest priority first): ``clear`` (every cell becomes 0),
      ``load_en`` (row ``load_row`` becomes ``load_data``), ``write_en`` (block
      ``write_block`` becomes ``write_data``);
    * ``read_data`` is row ``read_row`` as it is now (for draining).

    The cells are :class:`~dstc.hw.tile_buffers.TileBuffers`: with ``tile_buffers=2`` the
    blocks and the updates use the front buffer, ``read_data`` the back one, and ``swap``
    exchanges them.

    Block-aligned access is all a dense core needs: the gather is one ``blocks``-way
    multiplexer and the scatter a decoder, instead of the sparse core's per-lane crossbar.
    Signature: :func:`~dstc.hw.accumulator_signature.storage_signature` plus the block ports
    (``block_read``, ``block_data``, ``write_en``, ``write_block``, ``write_data``; a block is
    ``block_rows x block_cols`` accumulator values). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`); raises :class:`~dstc.sim.config.ConfigError` if
    it has no dense baseline.
    """

    def __init__(self, config):
        geometry = DenseGeometry.of(config)
        block = data.ArrayLayout(data.ArrayLayout(accum_shape(config), geometry.block_cols),
                                 geometry.block_rows)
        super().__init__(config, {
            **dict(storage_signature(config).members.items()),
            "block_read": In(index_shape(geometry.blocks)),
            "block_data": Out(block),
            "write_en": In(1),
            "write_block": In(index_shape(geometry.blocks)),
            "write_data": In(block),
        })

    def elaborate(self, platform):
        m = Module()
        config, geometry = self.config, self.geometry
        rows, cols = geometry.block_rows, geometry.block_cols
        storage = TileBuffers(m, config, self)

        def block_cells(block, cells=storage.cells):
            top, left = geometry.block_origin(block)
            return [cells[top + i][left + j] for i in range(rows) for j in range(cols)]

        m.d.comb += self.block_data.eq(
            and_or_select(self.block_read, [Cat(block_cells(b)) for b in range(geometry.blocks)]))

        def write(target):
            for b in range(geometry.blocks):
                with m.If(self.write_block == b):
                    m.d.sync += Cat(block_cells(b, target)).eq(self.write_data)

        storage.update(self.write_en, write)
        return m
