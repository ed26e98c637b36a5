"""Golden model of the DSTC datapath: OHMMA, SpWMMA and whole-matrix SpGEMM.

Semantics (bit-exact with the RTL):

* **OHMMA** (one machine-level outer product): chunk ``i`` of a condensed A column (up to
  ``array_rows`` values with their row positions) times chunk ``j`` of a condensed B row (up to
  ``array_cols`` values with their column positions); each product of two valid lanes is added
  into the accumulator cell at (row position, column position).
* **k-step**: a condensed A column times a condensed B row. It issues one OHMMA per pair of
  non-empty chunks, ``ceil(nnzA / array_rows) * ceil(nnzB / array_cols)`` in all, A chunk in the
  outer loop and B chunk in the inner loop; an empty side issues nothing.
* **SpWMMA**: the ``k_chunk`` k-steps of a tile in k order.

Every accumulator cell receives at most one product per k-step, so each cell accumulates its
products in k order whatever the chunk order. Zeros are skipped, which differs from a dense
product in two documented ways: a product with a zero factor is never added (so ``0 x inf``
and ``0 x NaN`` do not turn the cell into NaN, and a ``-0`` accumulator stays ``-0``).
"""

import dataclasses

import numpy as np

from .arith import Arithmetic
from .bitmap import OperandError, check_tile, encode_operand
from .isa import Ohmma

__all__ = ["Ohmma", "TileStats", "kstep_ohmmas", "ohmma", "bitmap_issues", "spwmma",
           "SpgemmResult", "spgemm", "dense_reference"]


@dataclasses.dataclass
class TileStats:
    """Work counts: OHMMA issued, products of two nonzeros, and MAC slots issued."""

    ohmma: int = 0
    useful_macs: int = 0
    mac_slots: int = 0

    def __iadd__(self, other):
        self.ohmma += other.ohmma
        self.useful_macs += other.useful_macs
        self.mac_slots += other.mac_slots
        return self


def _chunks(positions, values, lanes):
    """Cut a condensed vector into chunks of ``lanes`` (positions, values, valid), padded."""
    count = positions.size
    chunks = []
    for start in range(0, count, lanes):
        take = min(lanes, count - start)
        pos = np.zeros(lanes, dtype=np.int64)
        val = np.zeros(lanes, dtype=values.dtype)
        valid = np.zeros(lanes, dtype=bool)
        pos[:take] = positions[start:start + take]
        val[:take] = values[start:start + take]
        valid[:take] = True
        chunks.append((pos, val, valid))
    return chunks


def kstep_ohmmas(a_positions, a_values, b_positions, b_values, config):
    """The OHMMA sequence of one k-step, in issue order (A chunk outer, B chunk inner)."""
    a_chunks = _chunks(np.asarray(a_positions), np.asarray(a_values), config.array_rows)
    b_chunks = _chunks(np.asarray(b_positions), np.asarray(b_values), config.array_cols)
    return [Ohmma(a_values=av, a_rows=ap, a_valid=aok, b_values=bv, b_cols=bp, b_valid=bok)
            for ap, av, aok in a_chunks for bp, bv, bok in b_chunks]


def ohmma(acc, op, arith):
    """Apply one OHMMA to the accumulator tile ``acc`` (``tile_m x tile_n`` accumulator
    values); returns the new tile. Raises ``ValueError`` when two valid lanes target the same
    row or column, and :class:`~sim.bitmap.OperandError` for lanes that are not
    ``array_rows`` / ``array_cols`` long or valid positions outside the tile."""
    config = arith.config
    for side, lanes, positions, valid, values, limit, limit_name in (
            ("a", config.array_rows, op.a_rows, op.a_valid, op.a_values, config.tile_m, "tile_m"),
            ("b", config.array_cols, op.b_cols, op.b_valid, op.b_values, config.tile_n,
             "tile_n")):
        for field, array in (("positions", positions), ("valid", valid), ("values", values)):
            if np.shape(array) != (lanes,):
                raise OperandError(f"{side} {field}: {np.shape(array)} lanes, the array has "
                                   f"{lanes}")
        used = np.asarray(positions)[np.asarray(valid, dtype=bool)]
        if used.size and (used.min() < 0 or used.max() >= limit):
            bad = int(used.min()) if used.min() < 0 else int(used.max())
            raise OperandError(f"{side} positions: {bad} is outside the tile; positions lie in "
                               f"[0, {limit}) ({limit_name})")
    rows = op.a_rows[op.a_valid]
    cols = op.b_cols[op.b_valid]
    if len(set(rows.tolist())) != rows.size or len(set(cols.tolist())) != cols.size:
        raise ValueError("OHMMA lanes must target distinct rows and distinct columns")
    acc = acc.copy()
    cells = np.ix_(rows, cols)
    products = arith.multiply(op.a_values[op.a_valid][:, None], op.b_values[op.b_valid][None, :])
    acc[cells] = arith.add(acc[cells], products)
    return acc


def kstep_issues(count_a, count_b, config):
    """OHMMA issued by a k-step with ``count_a`` and ``count_b`` nonzeros (numpy-friendly),
    for a configuration without lane classes. Raises :class:`ValueError` for one with lane
    classes (their cost depends on the bitmaps: :func:`bitmap_issues`)."""
    if config.row_classes > 1 or config.col_classes > 1:
        raise ValueError(f"row_classes={config.row_classes}, col_classes={config.col_classes}: "
                         f"with lane classes a k-step's cost depends on its bitmaps; use "
                         f"bitmap_issues")
    return (-(-np.asarray(count_a) // config.array_rows)
            * -(-np.asarray(count_b) // config.array_cols))


def _class_rounds(bitmaps, classes, class_lanes):
    """``max_g ceil(n_g / class_lanes)`` of bool bitmaps ``[..., width]`` whose positions
    ``r`` fall in class ``r mod classes``."""
    bitmaps = np.asarray(bitmaps, dtype=bool)
    counts = bitmaps.reshape(*bitmaps.shape[:-1], bitmaps.shape[-1] // classes, classes)
    counts = counts.sum(axis=-2, dtype=np.int64)
    return (-(-counts // class_lanes)).max(axis=-1)


def bitmap_issues(a_bitmaps, b_bitmaps, config):
    """OHMMA issued by k-steps with A column bitmaps ``a_bitmaps`` (bool ``[..., tile_m]``)
    and B row bitmaps ``b_bitmaps`` (bool ``[..., tile_n]``; leading axes broadcast) ->
    int ``[...]``.

    With G = ``row_classes`` and H = ``col_classes`` a k-step costs
    ``max_g ceil(n_g / (array_rows / G)) * max_h ceil(m_h / (array_cols / H))``, ``n_g`` being
    the A nonzeros at rows ``r`` with ``r mod G == g`` (``m_h`` likewise for B columns); zero
    when either side is empty. Without classes (G = H = 1) it is :func:`kstep_issues` of the
    popcounts."""
    return (_class_rounds(a_bitmaps, config.row_classes, config.row_class_lanes)
            * _class_rounds(b_bitmaps, config.col_classes, config.col_class_lanes))


def spwmma(acc, a_tile, b_tile, config, arith=None):
    """One SpWMMA: ``acc`` plus the sparse product of two :class:`~sim.bitmap.BitmapTile`.

    Equal, bit for bit, to applying :func:`kstep_ohmmas` k-step by k-step (tested); done here a
    k-step at a time because each cell receives at most one product per k-step.
    ``acc``: ``tile_m x tile_n`` accumulator values; ``a_tile``: bitmaps ``k_chunk x tile_m``;
    ``b_tile``: bitmaps ``k_chunk x tile_n``. Returns ``(new_acc, TileStats)``. Raises
    :class:`~sim.bitmap.OperandError` for a tile of another shape or with values the operand
    type cannot hold (:func:`~sim.bitmap.check_tile`), or an accumulator tile of another shape
    or out of range.
    """
    arith = arith or Arithmetic(config)
    check_tile(a_tile, "A", config, "a_tile")
    check_tile(b_tile, "B", config, "b_tile")
    acc = arith.accumulators(acc, "acc")
    if acc.shape != (config.tile_m, config.tile_n):
        raise OperandError(f"acc: shape {acc.shape}, the accumulator tile is "
                           f"{config.tile_m}x{config.tile_n} (tile_m x tile_n)")
    return _spwmma(acc.copy(), a_tile, b_tile, config, arith)


def _spwmma(acc, a_tile, b_tile, config, arith):
    """:func:`spwmma` on checked tiles, updating ``acc`` (accumulator dtype) in place."""
    stats = TileStats()
    for k in range(config.k_chunk):
        rows, a_vals = a_tile.vector(k)
        cols, b_vals = b_tile.vector(k)
        if rows.size == 0 or cols.size == 0:
            continue
        cells = np.ix_(rows, cols)
        acc[cells] = arith.add(acc[cells], arith.multiply(a_vals[:, None], b_vals[None, :]))
        issues = int(bitmap_issues(a_tile.bitmaps[k], b_tile.bitmaps[k], config))
        stats += TileStats(issues, rows.size * cols.size, issues * config.macs)
    return acc, stats


@dataclasses.dataclass
class SpgemmResult:
    """Result of a whole SpGEMM: ``d`` (``M x N``) and the work done and skipped."""

    d: np.ndarray
    stats: TileStats
    tiles_issued: int
    tiles_skipped: int


def spgemm(a, b, config, c=None, arith=None):
    """``D = C + A @ B`` through SpWMMA tiles, skipping empty tile pairs (two-level skipping).

    ``a`` (``M x K``) and ``b`` (``K x N``) are dense operand matrices (converted by
    :meth:`~sim.arith.Arithmetic.operands`) or :class:`~sim.bitmap.EncodedOperand` (checked
    against ``config`` by :func:`~sim.bitmap.check_operand`); ``c`` (``M x N``, default zeros)
    is in accumulator values. Tiles are visited output tile by output tile, k tiles in order,
    so every cell accumulates in k order. Returns a :class:`SpgemmResult`. Raises
    :class:`~sim.bitmap.OperandError` for operands or C that do not fit the configuration
    (shape, tile shape, role, dtype, range) and ``ValueError`` when the shapes disagree.
    """
    arith = arith or Arithmetic(config)
    enc_a = encode_operand(a, "A", config, "a")
    enc_b = encode_operand(b, "B", config, "b")
    (m, k_a), (k_b, n) = enc_a.shape, enc_b.shape
    if k_a != k_b:
        raise ValueError(f"inner dimensions differ: A is {m}x{k_a}, B is {k_b}x{n}")
    grid_m, grid_k = enc_a.grid
    grid_n = enc_b.grid[1]
    tm, tn = config.tile_m, config.tile_n
    d = np.zeros((grid_m * tm, grid_n * tn), dtype=arith.accum_dtype)
    if c is not None:
        c = arith.accumulators(c, "c")
        if c.shape != (m, n):
            raise OperandError(f"c: shape {c.shape}, C must be {m}x{n} (M x N)")
        d[:m, :n] = c
    stats, issued, skipped = TileStats(), 0, 0
    for i in range(grid_m):
        for j in range(grid_n):
            acc = d[i * tm:(i + 1) * tm, j * tn:(j + 1) * tn]
            for kt in range(grid_k):
                if not (enc_a.coarse[i, kt] and enc_b.coarse[kt, j]):
                    skipped += 1
                    continue
                acc, tile_stats = _spwmma(acc, enc_a.tiles[(i, kt)], enc_b.tiles[(kt, j)],
                                          config, arith)
                stats += tile_stats
                issued += 1
            d[i * tm:(i + 1) * tm, j * tn:(j + 1) * tn] = acc
    return SpgemmResult(d=d[:m, :n], stats=stats, tiles_issued=issued, tiles_skipped=skipped)


def dense_reference(a, b, config, c=None, arith=None):
    """The dense product, zeros included: ``C + A @ B``.

    Integers: exact, wrapped to the accumulator width. Floats: each product rounded to fp32
    (exact for fp16) and added in k order with fp32 round-to-nearest-even, the order the sparse
    core uses, so the two agree bit for bit except where skipped zeros matter (see module doc).
    ``a`` (``M x K``), ``b`` (``K x N``): dense operand values; ``c``: ``M x N`` accumulator
    values. Returns the ``M x N`` result; raises :class:`~sim.bitmap.OperandError` as
    :func:`spgemm` does.
    """
    arith = arith or Arithmetic(config)
    a, b = arith.operands(a, "a"), arith.operands(b, "b")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise OperandError(f"a, b: shapes {a.shape} and {b.shape}; A must be M x K and B K x N")
    d = np.zeros((a.shape[0], b.shape[1]), dtype=arith.accum_dtype)
    if c is not None:
        c = arith.accumulators(c, "c")
        if c.shape != d.shape:
            raise OperandError(f"c: shape {c.shape}, C must be {d.shape[0]}x{d.shape[1]} "
                               f"(M x N)")
        d = c.copy()
    if not arith.is_float:
        return arith.add(d, a @ b)
    for k in range(a.shape[1]):
        d = arith.add(d, arith.multiply(a[:, k:k + 1], b[k:k + 1, :]))
    return d
