"""The two-level bitmap format of DSTC operands.

A matrix is cut into tiles: A (``M x K``) into ``tile_m x k_chunk`` tiles, B (``K x N``) into
``k_chunk x tile_n`` tiles (the last tiles are zero-padded). The **coarse bitmap** has one bit per
tile, set when the tile holds any nonzero; only those tiles are stored. A stored
:class:`BitmapTile` holds one **element bitmap** per k (A: the tile's column k, ``tile_m`` bits;
B: the tile's row k, ``tile_n`` bits) and the **condensed values**: the nonzeros vector by
vector in k order, each vector in position order (so A is column-major and B row-major).

Zero means ``+0`` or ``-0`` (see :meth:`sim.arith.Arithmetic.is_nonzero`); NaN is nonzero.
"""

import dataclasses
import math

import numpy as np

from .arith import Arithmetic

__all__ = ["BitmapTile", "EncodedOperand", "encode_a", "encode_b", "encode_vectors",
           "select_chunk"]


@dataclasses.dataclass(frozen=True, eq=False)
class BitmapTile:
    """One stored tile: ``bitmaps`` (bool, ``k_chunk x width``) and condensed ``values``.

    ``bitmaps[k]`` is the element bitmap of vector ``k`` (bit ``p`` set when position ``p`` is
    nonzero); ``values`` has ``bitmaps.sum()`` entries, vector by vector.
    """

    bitmaps: np.ndarray
    values: np.ndarray

    def __post_init__(self):
        if self.bitmaps.ndim != 2 or self.bitmaps.dtype != np.bool_:
            raise ValueError("bitmaps must be a 2-D bool array")
        if self.values.shape != (int(self.bitmaps.sum()),):
            raise ValueError(f"{self.values.shape[0]} values do not match the "
                             f"{int(self.bitmaps.sum())} set bits of the bitmaps")

    @property
    def counts(self):
        """Nonzeros of each vector (popcount of each bitmap)."""
        return self.bitmaps.sum(axis=1)

    @property
    def offsets(self):
        """Index in ``values`` of each vector's first nonzero (exclusive prefix of counts)."""
        return np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)

    def vector(self, k):
        """``(positions, values)`` of the nonzeros of vector ``k``."""
        positions = np.flatnonzero(self.bitmaps[k])
        start = int(self.offsets[k])
        return positions, self.values[start:start + positions.size]

    def dense(self):
        """The ``k_chunk x width`` array of vectors, zeros restored (as ``+0``)."""
        out = np.zeros(self.bitmaps.shape, dtype=self.values.dtype)
        out[self.bitmaps] = self.values
        return out


def select_chunk(bitmap, chunk, lanes):
    """Positions of the nonzeros ``chunk * lanes`` to ``chunk * lanes + lanes - 1`` of a bool
    ``bitmap``: ``(positions, valid)``, lanes past the last nonzero invalid with position 0.

    This is what the hardware bitmap decoder ("select") computes.
    """
    nonzeros = np.flatnonzero(np.asarray(bitmap, dtype=bool))[chunk * lanes:(chunk + 1) * lanes]
    positions = np.zeros(lanes, dtype=np.int64)
    positions[:nonzeros.size] = nonzeros
    return positions, np.arange(lanes) < nonzeros.size


def encode_vectors(vectors):
    """Encode a ``k x width`` array of vectors into a :class:`BitmapTile`."""
    vectors = np.asarray(vectors)
    bitmaps = Arithmetic.is_nonzero(vectors)
    return BitmapTile(bitmaps=bitmaps, values=vectors[bitmaps])


@dataclasses.dataclass(frozen=True, eq=False)
class EncodedOperand:
    """A whole matrix in two-level bitmap form.

    ``role`` is ``"A"`` (``shape = (M, K)``, tiles indexed ``(m_tile, k_tile)``) or ``"B"``
    (``shape = (K, N)``, tiles indexed ``(k_tile, n_tile)``). ``coarse`` is the bool grid of
    non-empty tiles; ``tiles`` maps the index of each non-empty tile to its :class:`BitmapTile`.
    """

    role: str
    shape: tuple
    tile_shape: tuple
    coarse: np.ndarray
    tiles: dict
    dtype: np.dtype

    @property
    def grid(self):
        """Number of tiles along each dimension."""
        return self.coarse.shape

    def tile_vectors(self, index):
        """The ``k_chunk x width`` vectors of tile ``index`` (zeros for an empty tile)."""
        tile = self.tiles.get(tuple(index))
        if tile is not None:
            return tile.dense()
        rows, cols = self.tile_shape
        width = rows if self.role == "A" else cols
        k_chunk = cols if self.role == "A" else rows
        return np.zeros((k_chunk, width), dtype=self.dtype)

    def decode(self):
        """The dense matrix (zeros restored as ``+0``)."""
        rows, cols = self.tile_shape
        grid_r, grid_c = self.grid
        out = np.zeros((grid_r * rows, grid_c * cols), dtype=self.dtype)
        for (i, j), tile in self.tiles.items():
            block = tile.dense()
            out[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols] = (
                block.T if self.role == "A" else block)
        return out[:self.shape[0], :self.shape[1]]

    @property
    def nnz(self):
        return sum(int(tile.bitmaps.sum()) for tile in self.tiles.values())


def _encode(matrix, role, tile_shape):
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"operand {role} must be a 2-D matrix, not {matrix.ndim}-D")
    rows, cols = tile_shape
    grid = (math.ceil(matrix.shape[0] / rows), math.ceil(matrix.shape[1] / cols))
    padded = np.zeros((grid[0] * rows, grid[1] * cols), dtype=matrix.dtype)
    padded[:matrix.shape[0], :matrix.shape[1]] = matrix
    coarse = np.zeros(grid, dtype=bool)
    tiles = {}
    for i in range(grid[0]):
        for j in range(grid[1]):
            block = padded[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols]
            tile = encode_vectors(block.T if role == "A" else block)
            if tile.values.size:
                coarse[i, j] = True
                tiles[(i, j)] = tile
    return EncodedOperand(role=role, shape=matrix.shape, tile_shape=tile_shape, coarse=coarse,
                          tiles=tiles, dtype=matrix.dtype)


def encode_a(matrix, config):
    """Encode A (``M x K``): ``tile_m x k_chunk`` tiles, column bitmaps, column-major values."""
    return _encode(matrix, "A", (config.tile_m, config.k_chunk))


def encode_b(matrix, config):
    """Encode B (``K x N``): ``k_chunk x tile_n`` tiles, row bitmaps, row-major values."""
    return _encode(matrix, "B", (config.k_chunk, config.tile_n))
