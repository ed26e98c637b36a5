"""The base of the sparse core's accumulators: configuration, latency and the scatter."""

from amaranth import Cat, Mux, Signal

from .accumulator_signature import scatter_signature
from .config_component import ConfigComponent

__all__ = ["ScatterAccumulator"]


class ScatterAccumulator(ConfigComponent):
    """What every sparse-core accumulator variant shares: the
    :func:`~dstc.hw.accumulator_signature.scatter_signature`, its :attr:`latency` and the
    scatter of the lanes' sums into the tile (:meth:`scatter_sums`). A variant subclasses it and
    writes ``elaborate``: its gather and its lane-to-cell hit signals.

    Parameter: ``config`` (:class:`~dstc.sim.config.DstcConfig`); ``_forwarding`` (private,
    default True) is only for the test that shows the pipelined accumulate's forwarding is
    needed.
    """

    def __init__(self, config, *, _forwarding=True):
        self._forwarding = _forwarding
        super().__init__(config, scatter_signature(config))

    @property
    def latency(self):
        """Cycles between the cycle a scatter is presented and the cycle at whose end the tile
        holds its sums: ``config.accumulate_stages - 1`` (0: single-cycle gather, add and
        scatter)."""
        return self.config.accumulate_stages - 1

    def scatter_sums(self, m, storage, en, sums, row_hit, col_hit):
        """Write the lanes' sums into the front buffer of ``storage``
        (:class:`~dstc.hw.tile_buffers.TileBuffers`) when ``en``: lane column ``c`` is routed
        to every tile column ``j`` with ``col_hit[c, j]``, then lane row ``r`` to every tile
        row ``i`` with ``row_hit[r, i]``; a cell is written when its row and its column are
        both hit.

        ``sums`` is ``array_rows x array_cols`` accumulator values; ``row_hit`` and
        ``col_hit`` map ``(lane, tile index)`` to a 1-bit signal, for the pairs the lane can
        reach (every pair for a crossbar). At most one lane may hit a tile row or column in a
        cycle (the conflict-free contract).
        """
        config = self.config
        rows, cols = len(sums), len(sums[0])
        width = len(sums[0][0])

        def reaching(hits, count, index):
            return [lane for lane in range(count) if (lane, index) in hits]

        routed = [[Signal(width, name=f"routed_{r}_{j}") for j in range(config.tile_n)]
                  for r in range(rows)]
        for r in range(rows):
            for j in range(config.tile_n):
                value = 0
                for c in reaching(col_hit, cols, j):
                    value = value | Mux(col_hit[c, j], sums[r][c], 0)
                m.d.comb += routed[r][j].eq(value)

        row_any = [Signal(name=f"row_any_{i}") for i in range(config.tile_m)]
        col_any = [Signal(name=f"col_any_{j}") for j in range(config.tile_n)]
        m.d.comb += [row_any[i].eq(Cat(row_hit[r, i] for r in reaching(row_hit, rows, i)).any())
                     for i in range(config.tile_m)]
        m.d.comb += [col_any[j].eq(Cat(col_hit[c, j] for c in reaching(col_hit, cols, j)).any())
                     for j in range(config.tile_n)]

        written = [[Signal(width, name=f"written_{i}_{j}") for j in range(config.tile_n)]
                   for i in range(config.tile_m)]
        for i in range(config.tile_m):
            for j in range(config.tile_n):
                value = 0
                for r in reaching(row_hit, rows, i):
                    value = value | Mux(row_hit[r, i], routed[r][j], 0)
                m.d.comb += written[i][j].eq(value)

        def write(target):
            for i in range(config.tile_m):
                for j in range(config.tile_n):
                    with m.If(row_any[i] & col_any[j]):
                        m.d.sync += target[i][j].eq(written[i][j])

        storage.update(en, write)
