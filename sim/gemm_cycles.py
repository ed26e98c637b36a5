"""Exact cycles of a whole SpGEMM from the operands' bitmaps, vectorised (numpy only).

:func:`sparse_gemm_cycles` in ``sim/program.py`` builds every command of a GEMM (values
included) and runs :class:`~dstc.sim.cycles.CoreTiming` over them: exact, but at 4096^3 it takes
about 27 minutes and 36 GiB. This module computes the **same number** from the two bitmaps
alone, with whole-array operations: a 4096^3 GEMM of the default preset takes well under a
second. docs/workloads.md derives the formula; in short, for each output tile ``(i, j)`` that
has at least one tile pair ``kt`` with both coarse bits set (``P > 0`` such pairs):

* the tile starts with ``S0`` command cycles (1 CLEAR, or ``tile_m`` LOAD_ROW when C is given);
* each issued SpWMMA costs ``F`` header cycles (``F = spwmma_fixed_cycles(config)``: 1 with
  ``kstep_bitmaps="header"``, 0 with ``"inline"``, whose KSTEPs carry their own bitmaps),
  each of its non-empty k-steps ``n = cost(k-step)`` cycles (``n >= 1``): the next issue
  command is accepted in the cycle of the last OHMMA;
* the DRAIN waits for the pipeline: ``1 + pipeline_latency(config)`` cycles after the last
  OHMMA, minus the header cycles of the header-only SpWMMAs (pairs whose k-steps never overlap) that
  follow it, never less than 0;
* the DRAIN is accepted, then sends ``tile_m`` rows; the next tile starts one cycle later.

So a tile occupies ``S0 + F * P + I + tail + 1 + tile_m`` cycles (``I``: its OHMMA issue
cycles) and the GEMM ``sum over tiles + 1`` (the hand-over of the last row). Skipped tiles
cost nothing; a GEMM whose tiles are all skipped sends no command and takes 0 cycles.

With two tile buffers (``config.tile_buffers = 2``) the next tile starts the cycle after the
DRAIN is accepted, while the rows leave, and only its own DRAIN waits for them: with
``X = S0 + P + I + tail`` (the cycles from a tile's first command to its DRAIN), the DRAIN of
every tile but the first comes ``1 + max(X, tile_m)`` cycles after the previous one, and the
GEMM takes ``X_first + sum over the other tiles of (1 + max(X, tile_m)) + tile_m + 2``
(:func:`tile_sequence_cycles`).

The cost of a k-step is the caller's :class:`KstepCost`; the default :class:`ChunkCost` is the
core's ``ceil(nnzA / array_rows) * ceil(nnzB / array_cols)``; :func:`kstep_cost` gives the cost
of a configuration's accumulator variant. A cost sees either per-class nonzero counts of the
k-step's A column and B row (the default, enough for the chunk and lane-class costs) or, when
it sets ``operands = "bitmaps"``, the k-step's bitmaps themselves (costs that depend on the
positions inside a chunk, such as the banked buffer of ``dstc.sim.banked``). Dense-mode
cycles (the same core, every k-step a DENSE) and dense-baseline cycles
(:class:`~dstc.sim.dense_model.DenseTiming`, the iso-MAC Volta-style core) are closed forms of
the shape alone.

The tests (``tb/test_gemm_cycles.py``) check every function here against the command-level
model on hundreds of GEMMs.
"""

import abc
import dataclasses
import math

import numpy as np

from .cycles import spwmma_fixed_cycles
from .dense_model import DenseTiming
from .isa import DOT_LENGTH, DenseGeometry, dense_pipeline_latency, pipeline_latency

__all__ = ["KstepCost", "ChunkCost", "LaneClassCost", "kstep_cost", "GemmCycles", "gemm_cycles",
           "class_counts", "kstep_bitmaps",
           "dense_mode_cycles", "dense_baseline_cycles", "dense_baseline_program_cycles",
           "tile_sequence_cycles",
           "STRUCTURED_24_SPEEDUP", "structured_24_cycles", "speedup", "utilisation"]

# Elements of one (tile rows x k tiles x n tiles) block of per-pair arrays processed at once:
# bounds the peak memory whatever the shape (about 100 MB of temporaries).
_BLOCK_ELEMENTS = 1 << 22


class KstepCost(abc.ABC):
    """Cycles (OHMMA issued) of one non-empty k-step, from its per-class nonzero counts.

    A k-step's A column (``tile_m`` positions) is summarised by ``row_classes`` counts: count
    ``g`` is the number of nonzeros in rows ``r`` with ``r mod row_classes == g``; its B row
    (``tile_n`` positions) by ``col_classes`` counts, by column ``c mod col_classes``. With one
    class each the counts are plain popcounts.

    Subclasses implement :meth:`issues`. The result must be at least 1 for every k-step whose
    two sides both hold a nonzero (the core accepts the next command in the cycle of a k-step's
    last OHMMA, so a k-step of 0 OHMMA cannot exist); k-steps with an empty side get no KSTEP
    and are never charged, whatever the method returns for them. :func:`gemm_cycles` raises
    ``ValueError`` if a cost breaks the rule.

    A cost that is a product ``a_factor(a_counts) * b_factor(b_counts)`` (chunk counts, lane
    classes, per-class bank stalls) sets :attr:`separable` and implements the two factors: the
    GEMM's per-pair sums then become matrix products (fast path, used by the 4096^3 sweep).
    Other costs go through :meth:`issues` on every (A column, B row) pair (general path, about
    2.5 times slower for the chunk cost).

    A cost whose cycles depend on where the nonzeros sit, not only on how many each class
    holds, sets :attr:`operands` to ``"bitmaps"``: its methods then receive, in place of the
    counts, the k-step's bitmaps, bool ``[..., tile_m]`` (the A column, row ``r`` at index
    ``r``) and bool ``[..., tile_n]`` (the B row), with the same rules (and the same fast path
    when it is separable); :attr:`row_classes` and :attr:`col_classes` are then unused.
    """

    #: What the methods receive: ``"counts"`` (per-class nonzero counts) or ``"bitmaps"``.
    operands = "counts"

    #: Row classes ``G`` (A-side counts per ``row mod G``); must divide ``tile_m``.
    row_classes = 1
    #: Column classes ``H`` (B-side counts per ``col mod H``); must divide ``tile_n``.
    col_classes = 1
    #: True when ``issues(a, b) == a_factor(a) * b_factor(b)``.
    separable = False

    @abc.abstractmethod
    def issues(self, a_counts, b_counts):
        """OHMMA issued by k-steps: ``a_counts`` int ``[..., row_classes]`` and ``b_counts``
        int ``[..., col_classes]`` (leading axes broadcast) -> int ``[...]``."""

    def a_factor(self, a_counts):
        """A-side factor of a separable cost: int ``[..., row_classes]`` -> int ``[...]``."""
        raise NotImplementedError(f"{type(self).__name__} is not separable")

    def b_factor(self, b_counts):
        """B-side factor of a separable cost: int ``[..., col_classes]`` -> int ``[...]``."""
        raise NotImplementedError(f"{type(self).__name__} is not separable")


class ChunkCost(KstepCost):
    """The core's k-step: ``ceil(nnzA / array_rows) * ceil(nnzB / array_cols)`` OHMMA
    (:func:`~dstc.sim.golden.kstep_issues`)."""

    separable = True

    def __init__(self, config):
        self.rows, self.cols = config.array_rows, config.array_cols

    def a_factor(self, a_counts):
        return -(-np.asarray(a_counts)[..., 0].astype(np.int64) // self.rows)

    def b_factor(self, b_counts):
        return -(-np.asarray(b_counts)[..., 0].astype(np.int64) // self.cols)

    def issues(self, a_counts, b_counts):
        return self.a_factor(a_counts) * self.b_factor(b_counts)

    def __repr__(self):
        return f"ChunkCost(array_rows={self.rows}, array_cols={self.cols})"


class LaneClassCost(KstepCost):
    """Lane classes (issue 10, "banks by construction"): row lanes split into ``row_classes``
    groups of ``array_rows / G`` lanes, each serving the rows of one class; likewise columns.
    A k-step costs ``max_g ceil(n_g / (array_rows / G)) * max_h ceil(m_h / (array_cols / H))``.
    With ``G = H = 1`` it equals :class:`ChunkCost`.

    Raises ``ValueError`` when a class count does not divide the lanes and the tile side.
    """

    separable = True

    def __init__(self, config, row_classes=1, col_classes=1):
        for name, classes, lanes, side, side_name in (
                ("row_classes", row_classes, config.array_rows, config.tile_m, "tile_m"),
                ("col_classes", col_classes, config.array_cols, config.tile_n, "tile_n")):
            if type(classes) is not int or classes < 1:
                raise ValueError(f"{name}={classes!r}: must be a positive integer")
            if lanes % classes or side % classes:
                raise ValueError(f"{name}={classes}: must divide the lanes ({lanes}) and "
                                 f"{side_name} ({side})")
        self.row_classes, self.col_classes = row_classes, col_classes
        self.row_lanes = config.array_rows // row_classes
        self.col_lanes = config.array_cols // col_classes

    def a_factor(self, a_counts):
        return (-(-np.asarray(a_counts).astype(np.int64) // self.row_lanes)).max(axis=-1)

    def b_factor(self, b_counts):
        return (-(-np.asarray(b_counts).astype(np.int64) // self.col_lanes)).max(axis=-1)

    def issues(self, a_counts, b_counts):
        return self.a_factor(a_counts) * self.b_factor(b_counts)

    def __repr__(self):
        return f"LaneClassCost(row_classes={self.row_classes}, col_classes={self.col_classes})"


def kstep_cost(config):
    """The k-step cost of ``config``'s accumulator variant: :class:`LaneClassCost` with the
    configuration's ``row_classes`` and ``col_classes`` when either is above 1, else
    :class:`ChunkCost` (the crossbar and the reach-limited lanes with lane skipping, which has
    the chunk model's cycles exactly): the cost :func:`~dstc.sim.golden.bitmap_issues` gives
    the command-level model (tested equal). Raises ``ValueError`` like :class:`LaneClassCost`
    for class counts that do not divide the lanes and the tile."""
    if config.row_classes == 1 and config.col_classes == 1:
        return ChunkCost(config)
    return LaneClassCost(config, config.row_classes, config.col_classes)


@dataclasses.dataclass(frozen=True)
class GemmCycles:
    """What :func:`gemm_cycles` finds; every count equals the command-level program's."""

    cycles: int            #: cycles of the whole program (0 when no command is sent)
    tiles_issued: int      #: SpWMMA sent (tile pairs with both coarse bits set)
    headers: int           #: SPWMMA header beats sent (``tiles_issued``; 0 with inline bitmaps)
    tiles_skipped: int     #: tile pairs skipped by the coarse bitmaps
    output_tiles: int      #: output tiles drained (with at least one issued pair)
    ksteps: int            #: KSTEP commands (k-steps with a nonzero on both sides)
    commands: int          #: every command of the program
    ohmma: int             #: OHMMA issued (sum of the k-step costs)
    useful_macs: int       #: products of two nonzeros: ``sum_k nnz(A[:, k]) * nnz(B[k, :])``


def _bitmap(matrix, name):
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"{name}: must be a 2-D bitmap, not {matrix.ndim}-D")
    return matrix if matrix.dtype == np.bool_ else matrix != 0


def _padded(matrix, rows, cols):
    if matrix.shape == (rows, cols):
        return matrix
    out = np.zeros((rows, cols), dtype=bool)
    out[:matrix.shape[0], :matrix.shape[1]] = matrix
    return out


def class_counts(a_bitmap, b_bitmap, config, row_classes=1, col_classes=1):
    """Per-k-step, per-class nonzero counts of the two operands.

    ``a_bitmap`` (``M x K``) and ``b_bitmap`` (``K x N``) are bool (or anything whose nonzeros
    mark the nonzeros). Returns ``(a_counts, b_counts)``: uint16 arrays
    ``[ceil(M/tile_m), Kp, row_classes]`` (A column ``k`` of tile row ``i``, rows ``r`` with
    ``r mod G == g``) and ``[Kp, ceil(N/tile_n), col_classes]``, ``Kp`` being ``K`` rounded up
    to a multiple of ``k_chunk`` (the padding counts 0). Raises ``ValueError`` on shapes that
    are not 2-D or do not agree, or classes that do not divide the tile.
    """
    a, b = _bitmap(a_bitmap, "a_bitmap"), _bitmap(b_bitmap, "b_bitmap")
    (m, k), (k_b, n) = a.shape, b.shape
    if k != k_b:
        raise ValueError(f"inner dimensions differ: A is {m}x{k}, B is {k_b}x{n}")
    tm, tn, kc = config.tile_m, config.tile_n, config.k_chunk
    if tm % row_classes:
        raise ValueError(f"row_classes={row_classes}: must divide tile_m ({tm})")
    if tn % col_classes:
        raise ValueError(f"col_classes={col_classes}: must divide tile_n ({tn})")
    gm, gn, kp = -(-m // tm), -(-n // tn), -(-k // kc) * kc
    a = _padded(a, gm * tm, kp).reshape(gm, tm // row_classes, row_classes, kp)
    b = _padded(b, kp, gn * tn).reshape(kp, gn, tn // col_classes, col_classes)
    a_counts = a.sum(axis=1, dtype=np.uint16).transpose(0, 2, 1)
    b_counts = b.sum(axis=2, dtype=np.uint16)
    return a_counts, b_counts


def kstep_bitmaps(a_bitmap, b_bitmap, config):
    """The bitmaps of every k-step, as a cost with ``operands = "bitmaps"`` receives them.

    ``a_bitmap`` (``M x K``) and ``b_bitmap`` (``K x N``): bool nonzero maps (other dtypes:
    nonzero means set). Returns ``(a_columns, b_rows)``: bool arrays
    ``[ceil(M/tile_m), Kp, tile_m]`` (element ``[i, k, r]``: A row ``i * tile_m + r``, column
    ``k``) and ``[Kp, ceil(N/tile_n), tile_n]`` (element ``[k, j, c]``: B row ``k``, column
    ``j * tile_n + c``), ``Kp`` being ``K`` rounded up to a multiple of ``k_chunk`` (the
    padding is empty). Raises ``ValueError`` on shapes that are not 2-D or do not agree."""
    a, b = _bitmap(a_bitmap, "a_bitmap"), _bitmap(b_bitmap, "b_bitmap")
    (m, k), (k_b, n) = a.shape, b.shape
    if k != k_b:
        raise ValueError(f"inner dimensions differ: A is {m}x{k}, B is {k_b}x{n}")
    tm, tn, kc = config.tile_m, config.tile_n, config.k_chunk
    gm, gn, kp = -(-m // tm), -(-n // tn), -(-k // kc) * kc
    a_columns = np.ascontiguousarray(_padded(a, gm * tm, kp).reshape(gm, tm, kp)
                                     .transpose(0, 2, 1))
    b_rows = _padded(b, kp, gn * tn).reshape(kp, gn, tn)
    return a_columns, b_rows


def _operands(a_bitmap, b_bitmap, config, cost):
    """What ``cost``'s methods receive for every k-step: per-class counts or bitmaps."""
    if cost.operands == "bitmaps":
        return kstep_bitmaps(a_bitmap, b_bitmap, config)
    if cost.operands != "counts":
        raise ValueError(f"cost {cost!r}: operands={cost.operands!r}; must be 'counts' or "
                         f"'bitmaps'")
    return class_counts(a_bitmap, b_bitmap, config, cost.row_classes, cost.col_classes)


def _checked(issues, nonempty, cost):
    issues = np.asarray(issues, dtype=np.int64)
    if np.any(issues[nonempty] < 1):
        raise ValueError(f"cost {cost!r}: a k-step with nonzeros on both sides must cost at "
                         f"least 1 cycle (got {int(issues[nonempty].min())})")
    return np.where(nonempty, issues, 0)


def gemm_cycles(a_bitmap, b_bitmap, config, cost=None, with_c=False):
    """Exact cycles of ``D = C + A @ B`` on the core, from the bitmaps alone.

    ``a_bitmap`` (``M x K``) and ``b_bitmap`` (``K x N``): bool nonzero maps of the operands
    (other dtypes: nonzero means set). ``cost``: a :class:`KstepCost` (default
    :class:`ChunkCost`, the core as built). ``config.kstep_bitmaps`` decides whether each
    SpWMMA pays a header cycle (:func:`~dstc.sim.cycles.spwmma_fixed_cycles`). ``with_c``:
    the program loads C with ``tile_m`` LOAD_ROW per output tile instead of one CLEAR.

    Returns a :class:`GemmCycles` whose ``cycles`` equals
    ``sparse_gemm_cycles(gemm_program(A, B, config))`` (with C when ``with_c``), for the
    default cost; for another cost, the same program timed by :class:`CoreTiming` with each
    KSTEP issuing ``cost.issues`` OHMMA. Peak memory is about three bitmaps plus ~100 MB.
    Raises ``ValueError`` for shapes that are not 2-D or do not agree, and for a cost that
    charges 0 cycles for a non-empty k-step.
    """
    cost = ChunkCost(config) if cost is None else cost
    # Per-class counts or k-step bitmaps (see KstepCost.operands); called counts either way.
    a_counts, b_counts = _operands(a_bitmap, b_bitmap, config, cost)
    gm, kp, _ = a_counts.shape
    gn = b_counts.shape[1]
    tm, kc = config.tile_m, config.k_chunk
    gk = kp // kc
    a_nz = a_counts.any(axis=-1)                       # [gm, kp]
    b_nz = b_counts.any(axis=-1)                       # [kp, gn]
    coarse_a = a_nz.reshape(gm, gk, kc).any(axis=-1)   # [gm, gk]
    coarse_b = b_nz.reshape(gk, kc, gn).any(axis=1)    # [gk, gn]
    a_pop, b_pop = a_counts.sum(axis=-1, dtype=np.int64), b_counts.sum(axis=-1, dtype=np.int64)
    useful = int((a_pop.sum(axis=0) * b_pop.sum(axis=1)).sum())
    ksteps = int((a_nz.sum(axis=0, dtype=np.int64) * b_nz.sum(axis=1, dtype=np.int64)).sum())
    if cost.separable:
        fa = _checked(cost.a_factor(a_counts), a_nz, cost)   # [gm, kp]
        fb = _checked(cost.b_factor(b_counts), b_nz, cost)   # [kp, gn]
        fa3 = fa.reshape(gm, gk, kc).transpose(1, 0, 2).astype(np.float64)
        fb3 = fb.reshape(gk, kc, gn).astype(np.float64)
    start = tm if with_c else 1
    fixed = spwmma_fixed_cycles(config)
    rows_per_block = max(1, _BLOCK_ELEMENTS // max(1, gk * gn))
    cycles = issued = drained = ohmma = 0
    first = None           # X of the first tile in program order
    # 1-based k tile numbers, so that 0 can mean "no issuing pair".
    kt_number = np.arange(1, gk + 1, dtype=np.int32)[:, None, None]
    for i0 in range(0, gm, rows_per_block):
        rows = slice(i0, min(gm, i0 + rows_per_block))
        if cost.separable:
            # Issue cycles of every tile pair: [gk, rows, gn]; integers, exact in float64.
            pair_issues = np.matmul(fa3[:, rows], fb3)
        else:
            pair_issues = _general_pair_issues(a_counts[rows], b_counts, a_nz[rows], b_nz,
                                               cost, gk, kc)
        pairs = coarse_a.T[:, rows, None] & coarse_b[:, None, :]          # [gk, rows, gn]
        issuing = pair_issues > 0
        # The k tile number of each output tile's last issuing pair (0: none); every pair
        # after it is header-only and shortens the drain's wait.
        last_issue = np.where(issuing, kt_number, 0).max(axis=0)          # [rows, gn]
        trailing = (pairs & (kt_number > last_issue)).sum(axis=0)
        wait = 1 + pipeline_latency(config)
        tail = np.where(last_issue > 0,
                        np.maximum(0, wait - fixed * trailing), 0)
        n_pairs = pairs.sum(axis=0)
        tile_issues = pair_issues.sum(axis=0).astype(np.int64)
        live = n_pairs > 0
        before_drain = start + fixed * n_pairs + tile_issues + tail  # X
        if first is None and live.any():
            first = int(before_drain[live][0])   # row-major: the program's first tile
        cycles += int(np.where(live, _drain_period(before_drain, config), 0).sum())
        issued += int(n_pairs.sum())
        drained += int(live.sum())
        ohmma += int(tile_issues.sum())
    if drained:
        # The first tile, and the end: the last DRAIN's rows and the hand-over of the last.
        cycles += first - int(_drain_period(first, config)) + tm + 2
    # else: nothing is sent, the core stays idle: 0 cycles (what the RTL measures).
    headers = issued if fixed else 0
    return GemmCycles(cycles=cycles, tiles_issued=issued, headers=headers,
                      tiles_skipped=gm * gn * gk - issued, output_tiles=drained, ksteps=ksteps,
                      commands=drained * (start + 1) + headers + ksteps, ohmma=ohmma,
                      useful_macs=useful)


def _drain_period(before_drain, config):
    """Cycles from one DRAIN's accept to the next one's, for a tile whose DRAIN comes
    ``before_drain`` (``X``, an int or an array) cycles after its first command:
    ``X + 1 + tile_m`` with one tile buffer (the tile starts after the previous drain), and
    ``1 + max(X, tile_m)`` with two (it starts the cycle after the previous DRAIN; its own
    DRAIN waits for the previous rows)."""
    tm = config.tile_m
    if config.tile_buffers == 1:
        return before_drain + 1 + tm
    return 1 + np.maximum(before_drain, tm)


def tile_sequence_cycles(before_drain, tiles, config):
    """Cycles of ``tiles`` equal output tiles back to back, each ``before_drain`` cycles from
    its first command to its DRAIN (``X``), with ``config.tile_buffers`` buffers: ``tiles *
    (X + 1 + tile_m) + 1`` with one, ``X + (tiles - 1) * (1 + max(X, tile_m)) + tile_m + 2``
    with two (the same for one tile); 0 for no tile."""
    if tiles == 0:
        return 0
    return (before_drain + (tiles - 1) * int(_drain_period(before_drain, config))
            + config.tile_m + 2)


def _general_pair_issues(a_counts, b_counts, a_nz, b_nz, cost, gk, kc):
    """Per-pair issue cycles ``[gk, rows, gn]`` of a non-separable cost (one tile row of A at
    a time against every B column tile)."""
    rows, kp = a_counts.shape[:2]
    gn = b_counts.shape[1]
    out = np.empty((gk, rows, gn), dtype=np.int64)
    for r in range(rows):
        both = a_nz[r][:, None] & b_nz                                       # [kp, gn]
        steps = _checked(cost.issues(a_counts[r][:, None, :], b_counts), both, cost)
        out[:, r, :] = steps.reshape(gk, kc, gn).sum(axis=1)
    return out


def _check_shape(shape):
    if len(shape) != 3:
        raise ValueError(f"shape={shape!r}: must be (M, N, K)")
    for name, value in zip("MNK", shape, strict=True):
        if type(value) is not int and not isinstance(value, np.integer) or value < 1:
            raise ValueError(f"{name}={value!r}: must be a positive integer")
    return tuple(int(value) for value in shape)


def dense_mode_cycles(shape, config, with_c=False):
    """Cycles of the GEMM ``shape = (M, N, K)`` in the sparse core's dense mode: every output
    tile, ``ceil(K / k_chunk) * k_chunk`` DENSE k-steps of ``a_chunks * b_chunks`` OHMMA each.
    Equals :func:`~dstc.sim.program.dense_gemm_cycles` (closed form, any size).
    Raises ``ValueError`` for sizes that are not positive integers."""
    m, n, k = _check_shape(shape)
    tiles = -(-m // config.tile_m) * -(-n // config.tile_n)
    ksteps = -(-k // config.k_chunk) * config.k_chunk
    start = config.tile_m if with_c else 1
    before_drain = start + ksteps * config.max_ohmma_per_kstep + 1 + pipeline_latency(config)
    return tile_sequence_cycles(before_drain, tiles, config)


def dense_baseline_cycles(shape, config, with_c=False):
    """Cycles of the GEMM on the iso-MAC dense baseline (:class:`DenseTiming`): per output
    tile, CLEAR (or ``tile_m`` LOAD_ROW), ``ceil(K / k_chunk) * k_chunk / DOT_LENGTH`` DENSE
    groups of ``blocks`` cycles each, and a DRAIN. Raises ``ValueError`` for sizes that are not
    positive integers, and :class:`~dstc.sim.config.ConfigError` for a configuration the
    baseline cannot be built for."""
    m, n, k = _check_shape(shape)
    blocks = DenseGeometry.of(config).blocks
    tiles = -(-m // config.tile_m) * -(-n // config.tile_n)
    groups = -(-k // config.k_chunk) * config.k_chunk // DOT_LENGTH
    start = config.tile_m if with_c else 1
    # First DENSE accepted start - 1 + blocks cycles after the tile's first command, the last
    # (groups - 1) * blocks later; the DRAIN waits 1 + dense_pipeline_latency more.
    before_drain = start - 1 + groups * blocks + 1 + dense_pipeline_latency(config)
    return tile_sequence_cycles(before_drain, tiles, config)


def dense_baseline_program_cycles(shape, config, with_c=False):
    """The same as :func:`dense_baseline_cycles`, command by command through
    :class:`DenseTiming` (the reference the closed form is tested against; slow)."""
    from .isa import Opcode

    m, n, k = _check_shape(shape)
    timing = DenseTiming(config)
    tiles = -(-m // config.tile_m) * -(-n // config.tile_n)
    groups = -(-k // config.k_chunk) * config.k_chunk // DOT_LENGTH
    starts = [Opcode.LOAD_ROW] * config.tile_m if with_c else [Opcode.CLEAR]
    for _ in range(tiles):
        for opcode in starts:
            timing.accept(opcode)
        for _ in range(groups):
            timing.accept(Opcode.DENSE)
        timing.accept(Opcode.DRAIN)
    return timing.finish_cycle


#: Speedup of an NVIDIA sparse tensor core on 2:4-pruned A over the dense one (A100).
STRUCTURED_24_SPEEDUP = 2


def structured_24_cycles(shape, config, with_c=False):
    """Cycles of the GEMM on an NVIDIA-style 2:4 structured-sparse tensor core built like the
    dense baseline (docs/workloads.md): A pruned to 2 nonzeros in every 4 consecutive k and
    stored compressed (``ceil(K / 4) * 2`` values per row plus metadata), B dense; the core
    multiplies the compressed A by the B rows the metadata selects at the dense core's MAC
    rate, so a GEMM costs the dense baseline's cycles of ``M x N x ceil(K / 4) * 2`` (the
    math at 2x, the per-tile fixed costs unchanged). Raises like
    :func:`dense_baseline_cycles`."""
    m, n, k = _check_shape(shape)
    compressed = math.ceil(k / 4) * 4 // STRUCTURED_24_SPEEDUP
    return dense_baseline_cycles((m, n, compressed), config, with_c=with_c)


def speedup(baseline_cycles, cycles):
    """``baseline_cycles / cycles`` as a float: how many times faster than a baseline a GEMM
    of ``cycles`` runs. A GEMM that sends no command takes 0 cycles: its speedup is ``inf``
    (as the ideal speedup of an all-zero operand is). Raises ``ValueError`` for negative
    cycle counts."""
    if baseline_cycles < 0 or cycles < 0:
        raise ValueError(f"cycles {baseline_cycles} and {cycles}: must not be negative")
    return baseline_cycles / cycles if cycles else math.inf


def utilisation(useful_macs, cycles, macs):
    """Useful MACs per multiplier-cycle: ``useful_macs / (cycles * macs)``, 0.0 for a GEMM of
    0 cycles (no multiplier-cycle, no useful MAC). Raises ``ValueError`` for negative counts
    or useful MACs without cycles."""
    if useful_macs < 0 or cycles < 0 or macs < 1:
        raise ValueError(f"useful_macs={useful_macs}, cycles={cycles}, macs={macs}: counts "
                         f"must not be negative and macs must be positive")
    if not cycles:
        if useful_macs:
            raise ValueError(f"useful_macs={useful_macs} in 0 cycles: impossible")
        return 0.0
    return useful_macs / (cycles * macs)
