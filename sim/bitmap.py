"""The two-level bitmap format of DSTC operands.

A matrix is cut into tiles: A (``M x K``) into ``tile_m x k_chunk`` tiles, B (``K x N``) into
``k_chunk x tile_n`` tiles (the last tiles are zero-padded). The **coarse bitmap** has one bit per
tile, set when the tile holds any nonzero; only those tiles are stored. A stored
:class:`BitmapTile` holds one **element bitmap** per k (A: the tile's column k, ``tile_m`` bits;
B: the tile's row k, ``tile_n`` bits) and the **condensed values**: the nonzeros vector by
vector in k order, each vector in position order (so A is column-major and B row-major).

Zero means ``+0`` or ``-0`` (see :meth:`sim.arith.Arithmetic.is_nonzero`); NaN is nonzero.

Every encoded operand that enters a model (:func:`encode_operand`, :func:`check_operand`,
:func:`check_tile`) is checked against the configuration: role, matrix shape, tile shape,
k-chunk, bitmap shapes, coarse bitmap, zero padding, value dtype and value range. A mismatch
raises :class:`OperandError` (a ``ValueError``) naming the parameter, the value and the rule.
"""

import dataclasses
import math

import numpy as np

from .arith import Arithmetic, OperandError

__all__ = ["OperandError", "BitmapTile", "EncodedOperand", "encode_a", "encode_b",
           "encode_vectors", "encode_operand", "check_operand", "check_tile", "select_chunk"]


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
        """The ``k_chunk x width`` vectors of tile ``index`` (zeros for an empty tile). Raises
        :class:`OperandError` for an index outside the grid (it would read as an empty tile)."""
        index = tuple(index)
        if len(index) != 2 or not all(0 <= i < g for i, g in zip(index, self.grid, strict=True)):
            raise OperandError(f"index={index!r}: must be a tile of the {self.grid[0]}x"
                               f"{self.grid[1]} grid")
        tile = self.tiles.get(index)
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


def _encode(matrix, role, config, name):
    matrix = Arithmetic(config).operands(matrix, name)
    if matrix.ndim != 2:
        raise OperandError(f"{name}: operand {role} must be a 2-D matrix, not {matrix.ndim}-D "
                           f"(shape {matrix.shape})")
    tile_shape = _tile_shape(role, config)
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


def encode_a(matrix, config, name="a"):
    """Encode A (``M x K``): ``tile_m x k_chunk`` tiles, column bitmaps, column-major values.

    ``matrix`` is converted to operand values first (:meth:`~sim.arith.Arithmetic.operands`),
    so the result holds int64 (``intN``) or float16 (fp16) values. Raises
    :class:`OperandError` naming ``name`` for values the operand type cannot hold or a matrix
    that is not 2-D."""
    return _encode(matrix, "A", config, name)


def encode_b(matrix, config, name="b"):
    """Encode B (``K x N``): ``k_chunk x tile_n`` tiles, row bitmaps, row-major values.
    Values and errors as :func:`encode_a`."""
    return _encode(matrix, "B", config, name)


def _tile_shape(role, config):
    return (config.tile_m, config.k_chunk) if role == "A" else (config.k_chunk, config.tile_n)


_TILE_LABEL = {"A": ("tile_m", "k_chunk"), "B": ("k_chunk", "tile_n")}


def encode_operand(matrix, role, config, name):
    """The operand ``role`` (``"A"`` or ``"B"``) of a GEMM from what a caller passed as
    ``name``: a dense matrix is converted and encoded (:func:`encode_a` / :func:`encode_b`); an
    :class:`EncodedOperand` is checked against ``config`` (:func:`check_operand`) and returned
    as it is. Raises :class:`OperandError`."""
    if isinstance(matrix, EncodedOperand):
        return check_operand(matrix, role, config, name)
    return _encode(matrix, role, config, name)


def _check_values(values, config, name, where):
    """The condensed ``values`` of a stored tile: the configuration's operand dtype rule, the
    range of ``intN``, and nonzero (a set bit stores a nonzero)."""
    values = np.asarray(values)
    operand = config.operand
    if operand.is_float:
        if values.dtype != np.float16:
            raise OperandError(f"{name}: {where} holds {values.dtype} values; fp16 operands "
                               f"are float16 (encode the matrix with this configuration)")
    else:
        if values.dtype.kind not in "iu":
            raise OperandError(f"{name}: {where} holds {values.dtype} values; {operand.name} "
                               f"operands must be integers")
        low, high = -(1 << (operand.width - 1)), (1 << (operand.width - 1)) - 1
        if values.size:
            smallest, largest = int(values.min()), int(values.max())
            if smallest < low or largest > high:
                bad = smallest if smallest < low else largest
                raise OperandError(f"{name}: {where} holds {bad}; {operand.name} operands must "
                                   f"lie in [{low}, {high}]")
    if values.size and not Arithmetic.is_nonzero(values).all():
        raise OperandError(f"{name}: {where} stores a zero value at a set bitmap bit; the "
                           f"format stores nonzeros only")


def check_tile(tile, role, config, name):
    """Check one stored tile of operand ``role`` (``"A"``: bitmaps ``k_chunk x tile_m``;
    ``"B"``: ``k_chunk x tile_n``) against ``config``: type, bitmap shape (so no k-vector is
    lost or missing), and values (:func:`check_operand` lists the value rules). Returns the
    tile; raises :class:`OperandError` naming ``name``."""
    if not isinstance(tile, BitmapTile):
        raise OperandError(f"{name}: must be a BitmapTile, not {type(tile).__name__}")
    width, width_name = ((config.tile_m, "tile_m") if role == "A"
                         else (config.tile_n, "tile_n"))
    rows, cols = tile.bitmaps.shape
    if (rows, cols) != (config.k_chunk, width):
        raise OperandError(f"{name}: bitmaps are {rows}x{cols} (k-vectors x positions), the "
                           f"configuration needs {config.k_chunk}x{width} (k_chunk x "
                           f"{width_name})")
    _check_values(tile.values, config, name, "the tile")
    return tile


def check_operand(operand, role, config, name):
    """Check an :class:`EncodedOperand` passed as ``name`` against ``config`` for use as
    operand ``role`` (``"A"`` or ``"B"``); returns it unchanged.

    Rules: an :class:`EncodedOperand` of that role; a 2-D ``shape`` of positive sizes; the
    configuration's tile shape (A ``tile_m x k_chunk``, B ``k_chunk x tile_n``); a bool coarse
    bitmap of ``ceil(rows / tile rows) x ceil(cols / tile cols)`` whose set bits are exactly the
    stored tiles; every stored tile with ``k_chunk`` bitmaps of the tile width, at least one set
    bit, and no set bit in the zero padding beyond the matrix; ``dtype`` and every tile's values
    of the operand type (``intN``: an integer dtype, values in range; fp16: float16, NaN and
    inf allowed) and nonzero. Raises :class:`OperandError` naming ``name``, the value and the
    rule.
    """
    if not isinstance(operand, EncodedOperand):
        raise OperandError(f"{name}: must be an EncodedOperand (encode_a / encode_b), not "
                           f"{type(operand).__name__}")
    if operand.role != role:
        raise OperandError(f"{name}: encoded as operand {operand.role!r}, must be operand "
                           f"{role!r} (encode_{role.lower()})")
    shape = tuple(operand.shape)
    if len(shape) != 2 or not all(isinstance(size, int | np.integer) and not isinstance(
            size, bool) and size >= 1 for size in shape):
        raise OperandError(f"{name}: shape {operand.shape!r} must be two positive sizes")
    want = _tile_shape(role, config)
    got = tuple(operand.tile_shape)
    if got != want:
        labels = " x ".join(_TILE_LABEL[role])
        got_text = "x".join(str(v) for v in got)
        raise OperandError(f"{name}: encoded for tile {got_text} ({labels}), the configuration "
                           f"needs {want[0]}x{want[1]}")
    grid = (-(-shape[0] // want[0]), -(-shape[1] // want[1]))
    coarse = np.asarray(operand.coarse)
    if coarse.dtype != np.bool_ or coarse.shape != grid:
        raise OperandError(f"{name}: coarse bitmap is {coarse.dtype} {coarse.shape}, a "
                           f"{shape[0]}x{shape[1]} matrix needs a bool {grid} grid")
    stored = set(operand.tiles)
    marked = {tuple(index) for index in np.argwhere(coarse).tolist()}
    if stored != marked:
        extra = sorted(stored - marked, key=str)
        missing = sorted(marked - stored, key=str)
        detail = (f"tile {extra[0]} is stored but its coarse bit is clear" if extra else
                  f"tile {missing[0]} has its coarse bit set but is not stored")
        raise OperandError(f"{name}: {detail}; the stored tiles must be exactly the set bits "
                           f"of the coarse bitmap")
    _check_dtype(operand.dtype, config, name)
    for (i, j), tile in operand.tiles.items():
        where = f"tile ({i}, {j})"
        check_tile(tile, role, config, f"{name} {where}")
        if tile.values.dtype != operand.dtype:
            raise OperandError(f"{name}: {where} holds {tile.values.dtype} values, the operand's "
                               f"dtype is {operand.dtype}")
        if not tile.bitmaps.any():
            raise OperandError(f"{name}: {where} is stored but empty; only tiles holding a "
                               f"nonzero are stored")
        # Rows and columns of the tile (in matrix orientation) inside the matrix.
        inside = (shape[0] - i * want[0], shape[1] - j * want[1])
        matrix_bits = tile.bitmaps.T if role == "A" else tile.bitmaps
        if matrix_bits[inside[0]:].any() or matrix_bits[:, inside[1]:].any():
            raise OperandError(f"{name}: {where} has a set bit outside the {shape[0]}x{shape[1]} "
                               f"matrix (in its zero padding)")
    return operand


def _check_dtype(dtype, config, name):
    dtype = np.dtype(dtype)
    if config.operand.is_float and dtype != np.float16:
        raise OperandError(f"{name}: dtype {dtype}; fp16 operands are float16")
    if not config.operand.is_float and dtype.kind not in "iu":
        raise OperandError(f"{name}: dtype {dtype}; {config.operand.name} operands must have "
                           f"an integer dtype")
