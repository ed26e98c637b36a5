"""im2col in the bitmap format: the lowered activation B built from the encoded activation.

A convolution runs on the core as the SpGEMM ``D = A @ B`` of :mod:`dstc.sim.conv_shape`: A
the weights (``F x C*R*S``), B the *im2col* of the activation (``C*R*S x OH*OW``). Building B
densely and encoding it costs ``K * P`` element reads and writes, ``R * S / (sh * sw)`` times
the activation's size. :func:`lower` builds the encoded B **directly from the encoded
activation**, as the paper's co-designed algorithm does (docs/workloads.md, "Sparse
convolution: im2col in the bitmap format"):

* **layout**: an activation ``C x H x W`` is the B operand of a 1x1 convolution, the matrix
  ``C x (H*W)`` with row-major pixels (:class:`ActivationBitmap`): channel ``c``'s bitmap is one
  bit string over its pixels, ``bit y*W + x``; it is what the previous layer's drain and bitmap
  encoder produce (that layer's ``D = F x OH*OW``);
* **planes**: for a horizontal stride ``sw``, each channel's bit string is split once into
  ``sw`` *phase planes* (the columns ``x = j*sw + phi``, row by row), packed into 64-bit words
  with each word's value offset (the exclusive prefix popcount). With ``sw = 1`` the plane is the
  channel's bit string itself;
* **shift and mask**: the lowered row ``k = (c, r, s)`` over output pixels ``p = oy*OW + ox``
  is, output row by output row, the plane row ``y = oy*sh + r*dh - ph`` of phase
  ``phi = (s*dw - pw) mod sw`` shifted by ``q = floor((s*dw - pw) / sw)`` bits and masked to
  the columns inside the input (``0 <= ox + q < W_phi``) and rows inside it (``0 <= y < H``).
  Each ``u``-bit word of the lowered row (``u = min(64, tile_n)``, a tile's element bitmap or
  a 64-bit part of it) is an OR of at most ``ceil((u - 1) / OW) + 1`` such shifted, masked
  pieces, one per output row it touches: a funnel shift of two plane words each;
* **gather**: the set bits of one piece are consecutive in the plane, so their values are one
  contiguous run of the plane's values, starting at the prefix popcount of the piece's first
  bit (word offset + popcount of the bits below it in its word) and as long as the piece's
  popcount. The lowered values are these runs, concatenated in tile order.

The work is one funnel shift and two popcounts per (lowered word, output row) piece plus one
copy per nonzero: it grows with the lowered bitmap's words (``K * P / u``) and the nonzeros,
not with ``K * P``. :attr:`LoweredActivation.cost` counts it. The result is bit for bit the
encoding of the dense im2col (``encode_b(im2col(x))``: same coarse bitmap, same element
bitmaps, same condensed values), tested in ``tb/test_im2col.py``.
"""

import dataclasses

import numpy as np

from .arith import Arithmetic
from .bitmap import BitmapTile, EncodedOperand, check_operand, encode_b
from .conv_shape import ConvError, ConvShape

__all__ = ["ActivationBitmap", "encode_activation", "im2col", "LoweringCost",
           "LoweredActivation", "lower"]

_WORD = 64
_ALL_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
# Pieces (lowered word x output row) computed per block of k tiles: bounds the temporaries
# (~20 arrays of 8 bytes per piece and 16 bytes per value gathered, about 60 MB) whatever the
# layer.
_BLOCK_PIECES = 1 << 18


@dataclasses.dataclass(frozen=True, eq=False)
class ActivationBitmap:
    """An activation ``C x H x W`` in the bitmap format.

    ``operand`` is the :class:`~dstc.sim.bitmap.EncodedOperand` (role ``"B"``) of the matrix
    ``C x (H*W)``: row ``c`` is channel ``c``, column ``y*W + x`` its pixel ``(y, x)`` (row-major).
    ``height`` and ``width`` give ``H`` and ``W``. Raises :class:`ConvError` when the operand is
    not a B operand or its columns are not ``height * width``.
    """

    operand: EncodedOperand
    height: int
    width: int

    def __post_init__(self):
        if not isinstance(self.operand, EncodedOperand) or self.operand.role != "B":
            raise ConvError("activation: must be an EncodedOperand of role 'B' "
                            "(channels x pixels)")
        for name in ("height", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ConvError(f"{name}={value!r}: must be a positive integer")
        if self.operand.shape[1] != self.height * self.width:
            raise ConvError(
                f"activation: the operand has {self.operand.shape[1]} pixel columns, "
                f"height x width = {self.height} x {self.width} = {self.height * self.width}")

    @property
    def shape(self):
        """``(C, H, W)``."""
        return self.operand.shape[0], self.height, self.width

    @property
    def nnz(self):
        return self.operand.nnz

    @property
    def density(self):
        """Nonzeros / (C * H * W)."""
        channels, height, width = self.shape
        return self.nnz / (channels * height * width)

    def decode(self):
        """The dense ``C x H x W`` activation (zeros restored as ``+0``)."""
        return self.operand.decode().reshape(self.shape)

    def bitmap(self):
        """Bool ``C x H x W``: the nonzeros."""
        out = np.zeros((self.operand.grid[0] * self.operand.tile_shape[0],
                        self.operand.grid[1] * self.operand.tile_shape[1]), dtype=bool)
        rows, cols = self.operand.tile_shape
        for (i, j), tile in self.operand.tiles.items():
            out[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols] = tile.bitmaps
        return out[:self.shape[0], :self.height * self.width].reshape(self.shape)

    def nonzeros(self):
        """``(channel, pixel, values)`` of every nonzero in the operand's stored order (tile by
        tile, row by row): int64, int64 and the values."""
        rows, cols = self.operand.tile_shape
        channels, pixels, values = [], [], []
        for (i, j) in sorted(self.operand.tiles):
            tile = self.operand.tiles[(i, j)]
            tile_rows, tile_cols = np.nonzero(tile.bitmaps)
            channels.append(i * rows + tile_rows)
            pixels.append(j * cols + tile_cols)
            values.append(tile.values)
        if not values:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=self.operand.dtype)
        return np.concatenate(channels), np.concatenate(pixels), np.concatenate(values)


def encode_activation(x, config, arith=None):
    """Encode a dense activation ``x`` (``C x H x W``) as an :class:`ActivationBitmap` with the
    configuration's B tiles (``k_chunk`` channels x ``tile_n`` pixels). Values are converted
    to operand values (:meth:`~dstc.sim.arith.Arithmetic.operands`: values the operand type
    cannot hold raise :class:`~dstc.sim.bitmap.OperandError`, a ``ValueError``); raises
    :class:`ConvError` when ``x`` is not 3-D."""
    arith = arith or Arithmetic(config)
    x = arith.operands(x, "activation")
    if x.ndim != 3:
        raise ConvError(f"activation shape {x.shape}: must be 3-D (C, H, W)")
    channels, height, width = x.shape
    if not min(x.shape):
        raise ConvError(f"activation shape {x.shape}: every dimension must be positive")
    return ActivationBitmap(encode_b(x.reshape(channels, height * width), config),
                            height, width)


def im2col(x, shape, rows=None):
    """The dense lowered activation B (``K x P``) of ``x`` (``C x H x W``) for the layer
    ``shape`` (:class:`ConvShape`): ``B[c*R*S + r*S + s, oy*OW + ox] =
    xp[c, oy*sh + r*dh, ox*sw + s*dw]``, ``xp`` zero-padded. Same dtype as ``x``. Costs
    ``K * P`` element copies. ``rows``: a ``slice`` of output rows ``oy`` (step 1) to lower
    only the columns of those pixels (``K x (rows * OW)``, for a product in bounded memory).
    Raises :class:`ConvError` when ``x`` is not ``shape.input_shape`` or ``rows`` is not a
    slice of step 1."""
    x = np.asarray(x)
    if x.shape != shape.input_shape:
        raise ConvError(f"activation shape {x.shape}: must be {shape.input_shape} (C, H, W)")
    (ph, pw), (sh, sw), (dh, dw) = shape.padding, shape.stride, shape.dilation
    channels, height, width = x.shape
    oh, ow = shape.out_height, shape.out_width
    if rows is None:
        rows = slice(0, oh)
    if not isinstance(rows, slice) or rows.step not in (None, 1):
        raise ConvError(f"rows={rows!r}: must be a slice of output rows with step 1")
    first, stop, _ = rows.indices(oh)
    count = max(0, stop - first)
    padded = np.zeros((channels, height + 2 * ph, width + 2 * pw), dtype=x.dtype)
    padded[:, ph:ph + height, pw:pw + width] = x
    kernel_rows, kernel_cols = shape.kernel
    out = np.empty((channels, kernel_rows, kernel_cols, count, ow), dtype=x.dtype)
    for r in range(kernel_rows):
        top = first * sh + r * dh
        for s in range(kernel_cols):
            out[:, r, s] = padded[:, top:top + (count - 1) * sh + 1:sh,
                                  s * dw:s * dw + (ow - 1) * sw + 1:sw]
    return out.reshape(shape.k, count * ow)


@dataclasses.dataclass(frozen=True)
class LoweringCost:
    """Work done by :func:`lower`, in word and value operations.

    ``plane_words``: 64-bit words of the activation's phase planes (packed once per layer);
    ``pieces``: funnel shifts (each reads two plane words and takes two popcounts) that hit
    the input; ``lowered_words``: ``u``-bit words of the lowered bitmap written
    (``Kp x ceil(P / tile_n) * tile_n / u``); ``values``: values gathered (the lowered
    nonzeros); ``dense_elements``: ``K * P``, what a dense im2col copies.
    """

    plane_words: int
    pieces: int
    lowered_words: int
    values: int
    dense_elements: int

    @property
    def word_operations(self):
        """``plane_words + pieces + lowered_words``."""
        return self.plane_words + self.pieces + self.lowered_words


@dataclasses.dataclass(frozen=True, eq=False)
class LoweredActivation:
    """The lowered activation B (``K x P``) in the bitmap format, packed.

    ``words``: uint64 ``[k_tiles, n_tiles, k_chunk, tile_n / u]``: the element bitmap of row
    ``kk`` of B tile ``(kt, nt)`` is ``words[kt, nt, kk]``, ``u = min(64, tile_n)`` bits per
    word, bit ``i`` of word ``w`` being pixel column ``nt*tile_n + w*u + i`` of the tile.
    ``values``: the condensed values in the encoded operand's order (tile by tile, ``(kt, nt)``
    row-major; in a tile row by row, each row by pixel). ``counts``: int64
    ``[k_tiles, n_tiles]`` nonzeros per tile; ``coarse`` their ``> 0``. ``cost``: the
    :class:`LoweringCost`.
    """

    shape: ConvShape
    tile_shape: tuple
    words: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    cost: LoweringCost

    @property
    def coarse(self):
        """Bool ``[k_tiles, n_tiles]``: tiles holding a nonzero."""
        return self.counts > 0

    @property
    def matrix_shape(self):
        """``(K, P)``."""
        return self.shape.k, self.shape.pixels

    @property
    def nnz(self):
        return int(self.values.size)

    @property
    def density(self):
        """Nonzeros / (K * P)."""
        return self.nnz / (self.shape.k * self.shape.pixels)

    def _bits(self, words):
        """Bool ``[..., k_chunk, tile_n]`` from words ``[..., k_chunk, tile_n / u]``."""
        unit = min(_WORD, self.tile_shape[1])
        as_bytes = np.ascontiguousarray(words.astype("<u8")).view(np.uint8)
        bits = np.unpackbits(as_bytes, axis=-1, bitorder="little")
        bits = bits.reshape(words.shape + (_WORD,))[..., :unit].astype(bool)
        return bits.reshape(words.shape[:-1] + (self.tile_shape[1],))

    def bitmap(self):
        """Bool ``K x P``: the nonzeros of B (for :func:`~dstc.sim.gemm_cycles.gemm_cycles`)."""
        kc, tn = self.tile_shape
        gk, gn = self.counts.shape
        bits = self._bits(self.words).transpose(0, 2, 1, 3).reshape(gk * kc, gn * tn)
        return bits[:self.shape.k, :self.shape.pixels]

    def to_encoded(self):
        """The :class:`~dstc.sim.bitmap.EncodedOperand` (role ``"B"``, ``K x P``), equal to
        ``encode_b(im2col(x, shape), config)`` bit for bit."""
        kc, tn = self.tile_shape
        coarse = self.coarse
        index = np.argwhere(coarse)
        bits = self._bits(self.words[coarse])
        ends = np.cumsum(self.counts[coarse])
        tiles = {}
        for n, (i, j) in enumerate(index.tolist()):
            start = int(ends[n - 1]) if n else 0
            tiles[(i, j)] = BitmapTile(bitmaps=bits[n], values=self.values[start:int(ends[n])])
        return EncodedOperand(role="B", shape=self.matrix_shape, tile_shape=(kc, tn),
                              coarse=coarse.copy(), tiles=tiles, dtype=self.values.dtype)

    def column_tile(self, index):
        """The B operand of output tile column ``index`` alone: the
        :class:`~dstc.sim.bitmap.EncodedOperand` of ``B[:, index*tile_n : (index+1)*tile_n]``
        (``K x width``, the last column tile possibly narrower), equal to encoding that slice
        of the dense im2col. With the weights' tile row ``i`` it is the GEMM of one output tile
        ``(i, index)``, for running sampled tiles of a layer. Raises :class:`ConvError` for an
        index outside ``[0, n_tiles)``."""
        kc, tn = self.tile_shape
        gk, gn = self.counts.shape
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or not (
                0 <= index < gn):
            raise ConvError(f"index={index!r}: must be a column tile in [0, {gn})")
        index = int(index)
        ends = np.cumsum(self.counts.ravel()).reshape(gk, gn)
        bits = self._bits(self.words[:, index])
        tiles = {}
        for kt in np.flatnonzero(self.counts[:, index]).tolist():
            end = int(ends[kt, index])
            tiles[(kt, 0)] = BitmapTile(bitmaps=bits[kt],
                                        values=self.values[end - int(self.counts[kt, index]):end])
        width = min(tn, self.shape.pixels - index * tn)
        return EncodedOperand(role="B", shape=(self.shape.k, width), tile_shape=(kc, tn),
                              coarse=self.coarse[:, index:index + 1].copy(), tiles=tiles,
                              dtype=self.values.dtype)

    def dense(self):
        """The dense ``K x P`` lowered activation (zeros as ``+0``)."""
        return self.to_encoded().decode()


def _low_mask(bits):
    """uint64 masks of the ``bits`` (0..64) low bits."""
    bits = np.asarray(bits, dtype=np.int64)
    shifted = np.left_shift(np.uint64(1), np.minimum(bits, 63).astype(np.uint64)) - np.uint64(1)
    return np.where(bits >= _WORD, _ALL_ONES, shifted)


@dataclasses.dataclass(frozen=True, eq=False)
class _Planes:
    """The activation's phase planes: ``words`` uint64 ``[C, sw, nwords + 1]`` (a zero word at
    the end of each plane), ``starts`` int64 of the same shape (value index of each word's
    first nonzero), ``values`` in plane order, ``widths`` int64 ``[sw]`` (``W_phi``)."""

    words: np.ndarray
    starts: np.ndarray
    values: np.ndarray
    widths: np.ndarray


def _planes(activation, stride):
    channels, height, width = activation.shape
    widths = np.array([len(range(phi, width, stride)) for phi in range(stride)], dtype=np.int64)
    bits_per_plane = height * int(widths[0])
    nwords = -(-bits_per_plane // _WORD) + 1
    bitmap = activation.bitmap()
    planes = np.zeros((channels, stride, nwords * _WORD), dtype=bool)
    for phi in range(stride):
        plane = bitmap[:, :, phi::stride].reshape(channels, -1)
        planes[:, phi, :plane.shape[1]] = plane
    words = np.packbits(planes, axis=-1, bitorder="little").view("<u8").astype(np.uint64)
    counts = np.bitwise_count(words).astype(np.int64).ravel()
    starts = (np.cumsum(counts) - counts).reshape(words.shape)
    # Values from the operand's stored order to plane order: (channel, phase, row, column).
    channel, pixel, values = activation.nonzeros()
    y, x = np.divmod(pixel, width)
    key = ((channel * stride + x % stride) * height + y) * int(widths[0]) + x // stride
    return _Planes(words=words, starts=starts, values=values[np.argsort(key, kind="stable")],
                   widths=widths)


def lower(activation, shape, config):
    """im2col in the bitmap format: the encoded B (``K x P``) of the layer ``shape`` from the
    encoded ``activation``, without building the dense im2col.

    ``activation``: an :class:`ActivationBitmap` of ``shape.input_shape``; ``shape``: a
    :class:`~dstc.sim.conv_shape.ConvShape`; ``config``: the core (B tiles of ``k_chunk x
    tile_n``). Returns a :class:`LoweredActivation`, whose :meth:`~LoweredActivation.to_encoded`
    equals ``encode_b(im2col(activation.decode(), shape), config)`` bit for bit. Raises
    :class:`ConvError` when the activation is not an :class:`ActivationBitmap` or its shape is
    not the layer's, or its values are not the configuration's operand type, and
    :class:`~dstc.sim.bitmap.OperandError` when its encoding does not fit the configuration
    (tile shape, coarse bitmap, padding, value range: :func:`~dstc.sim.bitmap.check_operand`).
    """
    if not isinstance(activation, ActivationBitmap):
        raise ConvError(f"activation: must be an ActivationBitmap (encode_activation), not "
                        f"{type(activation).__name__}")
    if not isinstance(shape, ConvShape):
        raise ConvError(f"shape: must be a ConvShape, not {type(shape).__name__}")
    if activation.shape != shape.input_shape:
        raise ConvError(f"activation shape {activation.shape}: the layer's input is "
                        f"{shape.input_shape} (C, H, W)")
    dtype = Arithmetic(config).operand_dtype
    if activation.operand.dtype != dtype:
        raise ConvError(f"activation dtype {activation.operand.dtype}: the configuration's "
                        f"{config.operand_type} operands are held as {dtype} "
                        f"(encode it with encode_activation and this configuration)")
    check_operand(activation.operand, "B", config, "activation")
    (ph, pw), (sh, sw), (dh, dw) = shape.padding, shape.stride, shape.dilation
    _, height, _ = shape.input_shape
    rows, cols = shape.kernel
    oh, ow, k_total, pixels = shape.out_height, shape.out_width, shape.k, shape.pixels
    kc, tn = config.k_chunk, config.tile_n
    unit = min(_WORD, tn)
    per_tile = tn // unit
    gk, gn = -(-k_total // kc), -(-pixels // tn)
    units = gn * per_tile
    reach = (unit - 2) // ow + 2 if unit > 1 else 1   # output rows one word can touch

    planes = _planes(activation, sw)
    flat_words = planes.words.ravel()
    flat_starts = planes.starts.ravel()
    plane_len = planes.words.shape[-1]

    words = np.zeros((gk, gn, kc, per_tile), dtype=np.uint64)
    counts = np.zeros((gk, gn), dtype=np.int64)
    values = []
    pieces = 0
    t = np.arange(units, dtype=np.int64)[None, :, None]
    j = np.arange(reach, dtype=np.int64)[None, None, :]
    p0 = t * unit
    oy = p0 // ow + j
    ox_lo = np.maximum(0, p0 - oy * ow)
    ox_hi = np.minimum(ow, p0 + unit - oy * ow)
    # Whole k tiles per block: the values of a block of k tiles are contiguous in the result.
    tiles_per_block = max(1, _BLOCK_PIECES // max(1, kc * units * reach))
    for kt0 in range(0, gk, tiles_per_block):
        kts = min(gk, kt0 + tiles_per_block) - kt0
        k = np.arange(kt0 * kc, (kt0 + kts) * kc, dtype=np.int64)[:, None, None]
        c, rs = np.divmod(k, rows * cols)
        r, s = np.divmod(rs, cols)
        y = oy * sh + r * dh - ph
        x0 = s * dw - pw
        phi, q = x0 % sw, x0 // sw
        lo = np.maximum(ox_lo, -q)
        hi = np.minimum(ox_hi, planes.widths[phi] - q)
        live = (k < k_total) & (oy < oh) & (y >= 0) & (y < height) & (lo < hi)
        count = np.where(live, hi - lo, 0)
        first = np.where(live, y * planes.widths[phi] + lo + q, 0)      # bit in the plane
        dest = np.where(live, lo + oy * ow - p0, 0)                    # bit in the word
        base = (np.minimum(c, shape.channels - 1) * sw + phi) * plane_len
        index = base + (first >> 6)
        shift = (first & 63).astype(np.uint64)
        low = flat_words[index] >> shift
        high = np.where(shift > 0, flat_words[index + 1] << ((np.uint64(_WORD) - shift)
                                                            & np.uint64(63)), np.uint64(0))
        piece = (low | high) & _low_mask(count)
        pieces += int(live.sum())
        # Into the encoded operand's order: tile (kt, nt), row kk, word, piece.
        order = (kts, kc, gn, per_tile)
        block_words = np.bitwise_or.reduce(piece << dest.astype(np.uint64), axis=-1)
        words[kt0:kt0 + kts] = block_words.reshape(order).transpose(0, 2, 1, 3)
        run_start = flat_starts[index] + np.bitwise_count(flat_words[index]
                                                          & _low_mask(first & 63))
        run_len = np.bitwise_count(piece).astype(np.int64)
        starts = run_start.reshape(order + (reach,)).transpose(0, 2, 1, 3, 4).ravel()
        lengths = run_len.reshape(order + (reach,)).transpose(0, 2, 1, 3, 4).ravel()
        counts[kt0:kt0 + kts] = run_len.reshape(order + (reach,)).sum(axis=(1, 3, 4))
        # Run n covers values[start_n : start_n + length_n] of the planes.
        ends = np.cumsum(lengths)
        gather = np.repeat(starts - (ends - lengths), lengths) + np.arange(
            int(ends[-1]) if ends.size else 0, dtype=np.int64)
        values.append(planes.values[gather])

    cost = LoweringCost(plane_words=int(planes.words.size), pieces=pieces,
                        lowered_words=int(words.size), values=int(counts.sum()),
                        dense_elements=k_total * pixels)
    return LoweredActivation(shape=shape, tile_shape=(kc, tn), words=words,
                             values=np.concatenate(values), counts=counts, cost=cost)
