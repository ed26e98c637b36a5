"""The accumulator tile's flip-flops, one or two buffers, shared by every accumulator."""

import contextlib

from amaranth import Cat, Mux, Signal

from .shapes import accum_shape, and_or_select

__all__ = ["TileBuffers"]


class TileBuffers:
    """The ``config.tile_buffers`` buffers of ``tile_m x tile_n`` accumulator values behind
    the storage ports of :func:`~dstc.hw.accumulator_signature.storage_signature`, built into
    the accumulator's own module (so that synthesis counts them as its flip-flops and keeps
    its netlist whole). Every accumulator variant builds its storage with it, and adds only
    its gather and its write network.

    * **One buffer** (``tile_buffers=1``): the cells ``cell_<i>_<j>``; :attr:`cells` are those
      cells and ``read_data`` reads the same tile; ``swap`` has no effect.
    * **Two buffers**: ``buf<b>_cell_<i>_<j>`` and the register ``front`` (reset 0): the
      front buffer is the one the commands compute in (:attr:`cells`, the clear, the load and
      the writes), the other one is the back buffer that ``read_data`` reads (the drain).
      ``swap`` exchanges them at the end of the cycle; a clear, load or write in that cycle
      still goes to the old front buffer.

    Each cycle does one of (highest priority first), on the front buffer: ``clear`` (every
    cell becomes 0), ``load_en`` (row ``load_row`` becomes ``load_data``), and the
    accumulator's own writes (:meth:`update`). ``read_data`` is row ``read_row`` of the back
    buffer as it is now (combinational).

    Parameters: ``m`` (the accumulator's ``Module``), ``config``
    (:class:`~dstc.sim.config.DstcConfig`) and ``ports`` (the accumulator component, whose
    storage ports this drives and reads).
    """

    def __init__(self, m, config, ports):
        self._m, self._config, self._ports = m, config, ports
        shape = accum_shape(config)
        count = config.tile_buffers
        self._buffers = [
            [[Signal(shape, name=f"cell_{i}_{j}" if count == 1 else f"buf{b}_cell_{i}_{j}")
              for j in range(config.tile_n)] for i in range(config.tile_m)]
            for b in range(count)]
        if count == 1:
            self._front = None
            self._cells = self._buffers[0]
            rows = [Cat(row) for row in self._cells]
            m.d.comb += ports.read_data.eq(and_or_select(ports.read_row, rows))
            return
        front = self._front = Signal(name="front")
        with m.If(ports.swap):
            m.d.sync += front.eq(~front)
        self._cells = [[Signal(shape, name=f"front_{i}_{j}") for j in range(config.tile_n)]
                       for i in range(config.tile_m)]
        for i in range(config.tile_m):
            for j in range(config.tile_n):
                m.d.comb += self._cells[i][j].eq(
                    Mux(front, self._buffers[1][i][j], self._buffers[0][i][j]))
        # The back buffer's row: row read_row of buffer ~front (index: buffer above the row).
        rows = [Cat(row) for buffer in self._buffers for row in buffer]
        m.d.comb += ports.read_data.eq(and_or_select(Cat(ports.read_row, ~front), rows))

    @property
    def cells(self):
        """The front buffer now: ``[tile_m][tile_n]`` values (the cells themselves with one
        buffer), for the accumulator's gather."""
        return self._cells

    def update(self, write_en, write):
        """Emit the tile's updates, highest priority first: ``clear``, ``load_en``, then, when
        ``write_en`` (a 1-bit value), the accumulator's writes: ``write(cells)`` is called
        once per buffer with that buffer's ``[tile_m][tile_n]`` cell signals and adds its
        ``m.d.sync`` statements (they take effect in the front buffer only)."""
        m, ports = self._m, self._ports
        for index, cells in enumerate(self._buffers):
            with self._selected(index):
                with m.If(ports.clear):
                    m.d.sync += [cell.eq(0) for row in cells for cell in row]
                with m.Elif(ports.load_en):
                    for i, row in enumerate(cells):
                        with m.If(ports.load_row == i):
                            m.d.sync += [cell.eq(ports.load_data[j]) for j, cell in enumerate(row)]
                with m.Elif(write_en):
                    write(cells)

    def _selected(self, index):
        """Context in which statements act on buffer ``index`` only while it is the front."""
        if self._front is None:
            return contextlib.nullcontext()
        return self._m.If(self._front == index)
