"""The pipeline registers and the forwarding of a pipelined accumulate step (gather | add |
scatter), shared by every sparse-core accumulator."""

import types

from amaranth import Cat, Mux, Signal

from .shapes import accum_shape

__all__ = ["AccumulatePipeline"]


class AccumulatePipeline:
    """Splits an accumulator's read-modify-write of one OHMMA into ``config.accumulate_stages``
    cycles, built into the accumulator's own module (like
    :class:`~dstc.hw.tile_buffers.TileBuffers`). The accumulator keeps its gather network, its
    adders and its scatter network; this helper places the registers between them and
    forwards sums between back-to-back OHMMAs.

    Stages (S = ``config.accumulate_stages``), for a scatter presented in cycle ``s``:

    * S = 1: gather, add and scatter in cycle ``s`` (no register: the helper hands every value
      through, and the accumulator's Verilog is what it was without it);
    * S = 2: gather in ``s`` | add and scatter in ``s + 1``;
    * S = 3: gather in ``s`` | add in ``s + 1`` | scatter in ``s + 2``.

    The tile is written at the end of ``s + S - 1`` (:attr:`latency` = S - 1). The gather in
    cycle ``s`` therefore misses the writes of the S - 1 older scatters presented in
    ``s - 1 .. s - S + 1``, which are still in flight (none with S = 1, one with S = 2, two
    with S = 3). **Forwarding**: in its add cycle ``s + 1``, each lane of the scatter takes,
    instead of the value it gathered, the sum that the youngest of those older scatters
    computed for the same cell (forwarding source ``k`` = the scatter presented ``k`` cycles
    earlier, whose sums the adders produced ``k`` cycles before; source 1 wins over source
    2). Cells are compared separably: lane ``(r, c)`` writes ``(rows[r], cols[c])``, so in
    the gather cycle the helper compares the new scatter's ``array_rows`` row indices with
    source ``k``'s (``forward_row_match_<k>_<r>_<r'>``: equal, and lane row ``r'`` of the source
    valid and enabled) and its ``array_cols`` column indices likewise
    (``forward_col_match_<k>_<c>_<c'>``), and registers the match bits. Lane ``(r, c)`` hits
    source ``k`` when a row and a column match (registered too, ``forward_hit_<k>_<r>_<c>``,
    so that only a 2-input select precedes the adder); as valid lanes name distinct rows and
    distinct columns, at most one ``r'`` and one ``c'`` match, so the forwarded sum is a row
    select (``array_rows`` inputs) then a column select (``array_cols`` inputs).

    Registers (S >= 2): ``add_en``, ``add_placement``, ``add_products`` and
    ``add_current_<r>_<c>`` (the gathered values) before the add stage; the match and hit
    bits; the source sums ``forward_<k>_sum_<r>_<c>``. With S = 3 also ``write_en``,
    ``write_placement`` and ``write_sum_<r>_<c>`` before the scatter stage: those sums are
    forwarding source 1, and ``forward_2_sum_<r>_<c>`` (source 2) is them a cycle later; with
    S = 2 source 1 is ``forward_1_sum_<r>_<c>``, the sums registered.
    Clear, load and swap take no part in it: the core asserts them only when no scatter is in
    flight (the spec's tile commands wait for the pipeline to empty).

    Parameters: ``m`` (the accumulator's ``Module``), ``config``
    (:class:`~dstc.sim.config.DstcConfig`), ``scatter_en`` and ``scatter`` (the accumulator's
    ports), and ``forwarding`` (default True; False leaves the forwarding out, which makes
    back-to-back updates of a cell lose sums: only for the test that shows it is needed).
    """

    def __init__(self, m, config, scatter_en, scatter, *, forwarding=True):
        self._m, self._config = m, config
        self._stages = stages = config.accumulate_stages
        self._forwarding = forwarding and stages > 1
        self._shape = accum_shape(config)
        rows, cols = config.array_rows, config.array_cols
        self._enable, self._gather = scatter_en, scatter.placement
        self._products = scatter.products
        if stages == 1:
            return
        placement = scatter.placement
        self._add_en = Signal(name="add_en")
        self._add_placement = Signal.like(placement, name="add_placement")
        self._add_products = Signal.like(scatter.products, name="add_products")
        m.d.sync += [self._add_en.eq(scatter_en), self._add_placement.eq(placement),
                     self._add_products.eq(scatter.products)]
        # The pipeline position k (1 .. S-1) of the scatter presented k cycles before this
        # one: its enable and placement, as seen in the gather cycle.
        positions = [(self._add_en, self._add_placement)]
        if stages == 3:
            self._write_en = Signal(name="write_en")
            self._write_placement = Signal.like(placement, name="write_placement")
            self._write_sums = self._grid("write_sum")
            m.d.sync += [self._write_en.eq(self._add_en),
                         self._write_placement.eq(self._add_placement)]
            positions.append((self._write_en, self._write_placement))
        if not self._forwarding:
            return
        # Forwarding sources, youngest first: the sums the adders produced k cycles ago.
        # Source 1 of S = 3 is the scatter stage's own sum register.
        if stages == 3:
            self._sources = [self._write_sums, self._grid("forward_2_sum")]
        else:
            self._sources = [self._grid("forward_1_sum")]
        self._row_match, self._col_match, self._hit, self._row_selects = [], [], [], {}
        for k, (enable, older) in enumerate(positions, start=1):
            # This cycle's comparisons, and registered for the add stage: the match bits
            # (select the forwarded sum) and each lane's hit (any row and any column match:
            # selects it over the gathered value, one register off the adder's path).
            row_now = [[enable & older.row_valid[o] & (placement.rows[r] == older.rows[o])
                        for o in range(rows)] for r in range(rows)]
            col_now = [[older.col_valid[o] & (placement.cols[c] == older.cols[o])
                        for o in range(cols)] for c in range(cols)]
            row_match = [[Signal(name=f"forward_row_match_{k}_{r}_{o}") for o in range(rows)]
                         for r in range(rows)]
            col_match = [[Signal(name=f"forward_col_match_{k}_{c}_{o}") for o in range(cols)]
                         for c in range(cols)]
            hit = [[Signal(name=f"forward_hit_{k}_{r}_{c}") for c in range(cols)]
                   for r in range(rows)]
            m.d.sync += [row_match[r][o].eq(row_now[r][o]) for r in range(rows)
                         for o in range(rows)]
            m.d.sync += [col_match[c][o].eq(col_now[c][o]) for c in range(cols)
                         for o in range(cols)]
            m.d.sync += [hit[r][c].eq(Cat(row_now[r]).any() & Cat(col_now[c]).any())
                         for r in range(rows) for c in range(cols)]
            self._row_match.append(row_match)
            self._col_match.append(col_match)
            self._hit.append(hit)

    def _grid(self, name):
        """``[array_rows][array_cols]`` new signals ``<name>_<r>_<c>`` of the accumulator
        shape."""
        config = self._config
        return [[Signal(self._shape, name=f"{name}_{r}_{c}") for c in range(config.array_cols)]
                for r in range(config.array_rows)]

    @property
    def latency(self):
        """Cycles between the cycle a scatter is presented and the cycle at whose end the
        tile holds its sums: ``accumulate_stages - 1``."""
        return self._stages - 1

    @property
    def gather(self):
        """The placement the gather network reads with (the ``scatter`` port's, this
        cycle)."""
        return self._gather

    def operand(self, r, c, current):
        """The value lane ``(r, c)``'s adder adds its product to, given ``current``, the cell
        its gather network read this cycle (a value of the accumulator shape): ``current``
        itself with one stage; otherwise ``current`` registered
        (``add_current_<r>_<c>``) and replaced by a forwarded sum when an older scatter in
        flight writes the same cell."""
        if self._stages == 1:
            return current
        m, config = self._m, self._config
        registered = Signal(self._shape, name=f"add_current_{r}_{c}")
        m.d.sync += registered.eq(current)
        if not self._forwarding:
            return registered
        value = registered
        for k in reversed(range(self._stages - 1)):           # the youngest source wins
            col_match = self._col_match[k][c]
            row_values = self._row_select(k, r)
            picked = 0
            for o in range(config.array_cols):
                picked = picked | Mux(col_match[o], row_values[o], 0)
            forwarded = Signal(self._shape, name=f"forward_{k + 1}_value_{r}_{c}")
            m.d.comb += forwarded.eq(picked)
            value = Mux(self._hit[k][r][c], forwarded, value)
        operand = Signal(self._shape, name=f"operand_{r}_{c}")
        m.d.comb += operand.eq(value)
        return operand

    def _row_select(self, k, r):
        """Source ``k``'s lane row that lane row ``r`` matches: ``array_cols`` values
        ``forward_<k+1>_row_<r>_<c'>`` (zero without a match), made once per lane row and
        shared by its lanes."""
        key = (k, r)
        if key not in self._row_selects:
            m, config = self._m, self._config
            row_match, source = self._row_match[k][r], self._sources[k]
            values = []
            for o in range(config.array_cols):
                value = Signal(self._shape, name=f"forward_{k + 1}_row_{r}_{o}")
                selected = 0
                for p in range(config.array_rows):
                    selected = selected | Mux(row_match[p], source[p][o], 0)
                m.d.comb += value.eq(selected)
                values.append(value)
            self._row_selects[key] = values
        return self._row_selects[key]

    def product(self, r, c):
        """Lane ``(r, c)``'s product in the add stage (registered with two or three
        stages)."""
        products = self._products if self._stages == 1 else self._add_products
        return products[r][c]

    def write(self, sums):
        """The scatter stage, given ``sums`` (``[array_rows][array_cols]`` adder outputs):
        a namespace with ``en`` (1 bit: write this cycle), ``placement`` (the writing
        scatter's) and ``sums`` (the values to scatter, registered with three stages).
        Call it once, after :meth:`operand` for every lane."""
        m, config = self._m, self._config
        rows, cols = config.array_rows, config.array_cols
        if self._stages == 1:
            return types.SimpleNamespace(en=self._enable, placement=self._gather, sums=sums)
        if self._stages == 2:
            written = types.SimpleNamespace(en=self._add_en, placement=self._add_placement,
                                            sums=sums)
        else:
            m.d.sync += [self._write_sums[r][c].eq(sums[r][c]) for r in range(rows)
                         for c in range(cols)]
            written = types.SimpleNamespace(en=self._write_en, placement=self._write_placement,
                                            sums=self._write_sums)
        if self._forwarding:
            # Source 1 of S = 2 registers the sums; source 2 of S = 3 is source 1 a cycle
            # later (source 1 being the scatter stage's sum register).
            later, earlier = ((self._sources[0], sums) if self._stages == 2
                              else (self._sources[1], self._write_sums))
            m.d.sync += [later[r][c].eq(earlier[r][c]) for r in range(rows)
                         for c in range(cols)]
        return written
