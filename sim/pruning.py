"""Bank-balanced pruning of a static operand (issue 10, item 5; numpy only).

An accumulator with ``G`` row classes (``LaneClassCost``: row lane ``l`` serves only the rows
``r`` with ``r mod G == class(l)``, ``L / G`` lanes per class, ``L = array_rows``) issues
``max_g ceil(n_g / (L / G))`` row chunks for a k-step whose A column holds ``n_g`` nonzeros in
class ``g`` (``n`` in all), where the crossbar issues ``ceil(n / L)``. Weights are static, so
the pruning can shape them: :func:`bank_balanced_prune` keeps, in every ``tile_m``-row column
chunk (column ``k`` of tile row ``i``: the A column of one k-step), at most ``ceil(n / G)``
nonzeros per class.

**Claim** (tested in ``tb/test_pruning.py``, exhaustively on small cases and through
:func:`~dstc.sim.gemm_cycles.gemm_cycles` on random and VGG-16 weights): with ``l = L / G``,

* ``max_g ceil(n_g / l) >= ceil(n / L)`` always (some class holds at least ``n / G``);
* ``max_g ceil(n_g / l) == ceil(n / L)`` **iff** ``max_g n_g <= l * ceil(n / L)``;
* the balance rule ``n_g <= ceil(n / G)`` implies it, for any ``n`` (a multiple of ``G`` or
  not): ``ceil(n_g / l) <= ceil(ceil(n / G) / l) = ceil(n / (G l)) = ceil(n / L)`` (nested
  ceilings of positive integers). So on balanced weights G row classes cost **exactly** the
  crossbar's cycles, k-step by k-step;
* weights balanced for ``G`` are also lossless for every ``G'`` dividing ``G``: a class of
  ``G'`` is the union of ``G / G'`` classes of ``G``, so
  ``n_g' <= (G / G') * l * ceil(n / L) = (L / G') * ceil(n / L)``.

The rule is sufficient, not necessary: ``l * ceil(n / L)`` can exceed ``ceil(n / G)``.

**Method.** The number of nonzeros of each chunk is the one plain magnitude pruning of the
whole matrix gives (the ``round(density * M * K)`` largest ``|w|``, as ``dstc network``'s
``layer`` method), so both prunings have exactly the same density and the same nonzeros per
k-step; within a chunk of ``n`` nonzeros the kept set is the best balanced one: the ``n``
largest ``|w|`` among the ``ceil(n / G)`` largest of each class. Per chunk this is optimal
(the capacity rule is a partition matroid, on which the greedy choice is optimal).
:func:`kept_magnitude_fraction` measures its cost: ``sum |kept| / sum |all|``.
"""

import dataclasses
import numbers

import numpy as np

__all__ = ["bank_balanced_prune", "magnitude_prune", "kept_magnitude_fraction",
           "is_bank_balanced", "chunk_class_counts", "PruningComparison", "compare_pruning",
           "prune_bank_balanced"]


def _check_density(density):
    if (isinstance(density, bool) or not isinstance(density, numbers.Real)
            or not 0.0 <= density <= 1.0):
        raise ValueError(f"density={density!r}: a density must be a number between 0 and 1")
    return float(density)


def _check_weights(weights):
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"weights: must be a 2-D matrix (M x K), not {weights.ndim}-D")
    if not np.issubdtype(weights.dtype, np.number) or np.issubdtype(weights.dtype,
                                                                     np.complexfloating):
        raise ValueError(f"weights: must be real numbers, not {weights.dtype}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights: must be finite (NaN or infinite weights)")
    return weights


def _check_classes(row_classes, tile_m):
    for name, value in (("row_classes", row_classes), ("tile_m", tile_m)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r}: must be a positive integer")
    if tile_m % row_classes:
        raise ValueError(f"row_classes={row_classes}: must divide tile_m ({tile_m})")
    return int(row_classes), int(tile_m)


def magnitude_prune(weights, density):
    """Plain magnitude pruning: a bool mask (``M x K``, True: kept) of the
    ``round(density * M * K)`` largest ``|w|`` (Python's ``round``; ties towards the lower
    row-major index), as ``dstc network --pruning layer``. Raises ``ValueError`` for a
    ``weights`` that is not a finite real 2-D matrix or a density outside [0, 1]."""
    from .network import keep_largest

    weights = _check_weights(weights)
    density = _check_density(density)
    return keep_largest(np.abs(weights.astype(np.float64)), round(density * weights.size))


def _chunks(array, tile_m, fill):
    """``array`` (``M x K``) padded to whole tiles with ``fill`` and viewed as
    ``[tiles, tile_m, K]``."""
    m, k = array.shape
    tiles = -(-m // tile_m)
    padded = np.full((tiles * tile_m, k), fill, dtype=array.dtype)
    padded[:m] = array
    return padded.reshape(tiles, tile_m, k)


def chunk_class_counts(mask, row_classes, tile_m):
    """Nonzeros per chunk and class: int64 ``[ceil(M / tile_m), K, row_classes]``, element
    ``[i, k, g]`` counting the set elements of ``mask`` (``M x K``, nonzero: set) in rows
    ``i * tile_m + r`` with ``r mod row_classes == g``, ``0 <= r < tile_m``. Raises
    ``ValueError`` for a mask that is not 2-D or classes that do not divide ``tile_m``."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask: must be a 2-D matrix (M x K), not {mask.ndim}-D")
    row_classes, tile_m = _check_classes(row_classes, tile_m)
    chunks = _chunks(mask != 0, tile_m, False)                      # [tiles, tile_m, K]
    tiles, _, k = chunks.shape
    per_class = chunks.reshape(tiles, tile_m // row_classes, row_classes, k)
    return per_class.sum(axis=1, dtype=np.int64).transpose(0, 2, 1)


def is_bank_balanced(mask, row_classes, tile_m):
    """True when every chunk of ``mask`` (``M x K``) holds at most ``ceil(n / row_classes)``
    set elements in each row class, ``n`` being the chunk's set elements. Raises like
    :func:`chunk_class_counts`."""
    counts = chunk_class_counts(mask, row_classes, tile_m)
    n = counts.sum(axis=-1, keepdims=True)
    return bool(np.all(counts <= -(-n // row_classes)))


def bank_balanced_prune(weights, density, row_classes, tile_m):
    """Prune ``weights`` (``M x K``, finite real) to ``density`` with every chunk of
    ``tile_m`` rows of each column balanced across ``row_classes`` classes (rows ``r mod
    row_classes``, counted from the top of the tile): a class never holds more than
    ``ceil(n / row_classes)`` of the chunk's ``n`` nonzeros.

    Returns a bool mask ``M x K`` (True: kept) with exactly ``round(density * M * K)`` set
    elements and, chunk by chunk, as many as :func:`magnitude_prune` keeps (module docstring:
    method and optimality). ``row_classes = 1`` gives :func:`magnitude_prune`'s mask. Raises
    ``ValueError`` for bad weights, a density outside [0, 1], or ``row_classes`` / ``tile_m``
    that are not positive integers or where ``row_classes`` does not divide ``tile_m``.
    """
    weights = _check_weights(weights)
    row_classes, tile_m = _check_classes(row_classes, tile_m)
    plain = magnitude_prune(weights, density)
    if row_classes == 1:
        return plain
    m, k = weights.shape
    per_class = tile_m // row_classes
    dtype = weights.dtype if np.issubdtype(weights.dtype, np.floating) else np.float64
    # Magnitudes as [tiles, K, tile_m] (each chunk contiguous); rows of the last tile beyond M
    # get -1, below every real magnitude, so they are never kept (a chunk always has enough
    # real rows).
    magnitude = _chunks(np.abs(weights).astype(dtype), tile_m, -1.0)
    tiles = magnitude.shape[0]
    magnitude = np.ascontiguousarray(magnitude.transpose(0, 2, 1))
    n = _chunks(plain, tile_m, False).sum(axis=1)                  # [tiles, K]
    cap = -(-n // row_classes)                                     # ceil(n / G)
    # Rank of each element within its class of its chunk (0: largest; ties: lower row first):
    # row r = q * G + g is element [g, q] of the chunk's [G, per_class] view.
    by_class = np.ascontiguousarray(
        magnitude.reshape(tiles, k, per_class, row_classes).transpose(0, 1, 3, 2))
    order = np.argsort(-by_class, axis=-1, kind="stable")
    class_rank = np.empty(order.shape, dtype=np.int16)
    np.put_along_axis(class_rank, order, np.arange(per_class, dtype=np.int16), axis=-1)
    class_rank = class_rank.transpose(0, 1, 3, 2).reshape(tiles, k, tile_m)
    candidate = class_rank < cap[:, :, None]
    # The n largest candidates of each chunk (ties: lower row first).
    score = np.where(candidate, magnitude, -np.inf)
    order = np.argsort(-score, axis=-1, kind="stable")
    chunk_rank = np.empty(order.shape, dtype=np.int16)
    np.put_along_axis(chunk_rank, order, np.arange(tile_m, dtype=np.int16), axis=-1)
    keep = chunk_rank < n[:, :, None]
    return keep.transpose(0, 2, 1).reshape(tiles * tile_m, k)[:m]


def kept_magnitude_fraction(weights, mask):
    """``sum |w| over the kept elements / sum |w|`` of ``weights`` (``M x K``) under ``mask``
    (same shape, nonzero: kept); 1.0 for an all-zero matrix. Raises ``ValueError`` for shapes
    that differ or weights that are not finite."""
    weights, mask = _check_weights(weights), np.asarray(mask)
    if mask.shape != weights.shape:
        raise ValueError(f"mask {mask.shape} and weights {weights.shape}: must have the same "
                         f"shape")
    total = float(np.abs(weights).sum(dtype=np.float64))
    if total == 0.0:
        return 1.0
    return float(np.abs(weights)[mask != 0].sum(dtype=np.float64)) / total


@dataclasses.dataclass(frozen=True)
class PruningComparison:
    """Bank-balanced against plain magnitude pruning of one matrix at one density."""

    density: float            #: requested density
    row_classes: int          #: G of the balance
    tile_m: int               #: chunk height
    kept: int                 #: nonzeros kept (equal in both)
    magnitude_fraction: float  #: kept magnitude fraction of plain magnitude pruning
    balanced_fraction: float  #: kept magnitude fraction of bank-balanced pruning

    @property
    def relative_loss(self):
        """``1 - balanced / magnitude`` (0.0 when magnitude pruning keeps nothing)."""
        if not self.magnitude_fraction:
            return 0.0
        return 1.0 - self.balanced_fraction / self.magnitude_fraction


def compare_pruning(weights, density, row_classes, tile_m):
    """Both prunings of ``weights`` at ``density``: a :class:`PruningComparison`. Raises like
    :func:`bank_balanced_prune`."""
    plain = magnitude_prune(weights, density)
    balanced = bank_balanced_prune(weights, density, row_classes, tile_m)
    return PruningComparison(
        density=float(density), row_classes=int(row_classes), tile_m=int(tile_m),
        kept=int(balanced.sum()), magnitude_fraction=kept_magnitude_fraction(weights, plain),
        balanced_fraction=kept_magnitude_fraction(weights, balanced))


def prune_bank_balanced(matrices, density, config):
    """A pruning method of ``dstc.sim.network.PRUNING_METHODS``' signature: every matrix
    pruned by :func:`bank_balanced_prune` for ``G = config.array_rows`` row classes (one row
    lane per class, the most any lane-class variant of ``config`` can have) and the
    configuration's ``tile_m``; such weights cost no extra cycle on every variant whose
    ``row_classes`` divides ``array_rows`` (module docstring). Returns one bool mask per
    matrix. Raises ``ValueError`` when ``config`` is None (the method needs the tile shape)
    and like :func:`bank_balanced_prune`."""
    if config is None:
        raise ValueError("config=None: bank-balanced pruning needs the configuration's "
                         "tile_m and array_rows")
    return [bank_balanced_prune(matrix, density, config.array_rows, config.tile_m)
            for matrix in matrices]
