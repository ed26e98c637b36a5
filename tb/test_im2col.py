"""im2col in the bitmap format (sim/im2col.py): the lowered activation built from the encoded
activation by shifts, masks and popcount-offset gathers must be, bit for bit, the encoding of
the dense im2col: same coarse bitmap, same stored tiles, same element bitmaps, same condensed
values. The dense im2col itself is checked against numpy's sliding windows."""

import numpy as np
import pytest
from conv_layers import LAYERS, conv_shape, random_shape
from numpy.lib.stride_tricks import sliding_window_view

from dstc.sim.bitmap import encode_a, encode_b
from dstc.sim.config import DstcConfig, preset
from dstc.sim.conv import random_conv_operands
from dstc.sim.conv_shape import ConvError, ConvShape
from dstc.sim.im2col import ActivationBitmap, LoweringCost, encode_activation, im2col, lower

PRESETS = ("small", "small-fp16", "default")
# Tiles wider than a 64-bit word (two and four words per element bitmap) and a k-chunk of 1.
WIDE = DstcConfig(array_rows=8, array_cols=16, tile_m=32, tile_n=128, k_chunk=8)
WIDEST = DstcConfig(array_rows=8, array_cols=16, tile_m=8, tile_n=256, k_chunk=2,
                    operand_type="int8", accum_type="int32")
NARROW = DstcConfig(array_rows=1, array_cols=1, tile_m=1, tile_n=1, k_chunk=1,
                    operand_type="int8", accum_type="int16")





def _activation(rng, shape, config, density):
    _, x = random_conv_operands(shape, config, 1.0, density, rng)
    return x


def assert_same_encoding(got, want):
    """Two encoded operands are identical: role, shape, tile shape, dtype, coarse bitmap, the
    set of stored tiles, every element bitmap and every condensed value's bits."""
    assert (got.role, got.shape, got.tile_shape, got.dtype) == (want.role, want.shape,
                                                                want.tile_shape, want.dtype)
    assert np.array_equal(got.coarse, want.coarse)
    assert got.tiles.keys() == want.tiles.keys()
    for key, tile in want.tiles.items():
        assert np.array_equal(got.tiles[key].bitmaps, tile.bitmaps), key
        assert got.tiles[key].values.dtype == tile.values.dtype, key
        assert got.tiles[key].values.tobytes() == tile.values.tobytes(), key


def _check_lowering(x, shape, config):
    activation = encode_activation(x, config)
    lowered = lower(activation, shape, config)
    dense = im2col(activation.decode(), shape)
    assert_same_encoding(lowered.to_encoded(), encode_b(dense, config))
    assert np.array_equal(lowered.bitmap(), dense != 0)
    assert lowered.nnz == lowered.cost.values == np.count_nonzero(dense)
    return lowered


def sliding_im2col(x, shape):
    """An independent dense im2col: numpy's sliding windows over the padded input, every
    dilation-th element of each window, every stride-th window."""
    (ph, pw), (sh, sw), (dh, dw) = shape.padding, shape.stride, shape.dilation
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(padded, shape.kernel_span, axis=(1, 2))
    windows = windows[:, ::sh, ::sw, ::dh, ::dw][:, :shape.out_height, :shape.out_width]
    return windows.transpose(0, 3, 4, 1, 2).reshape(shape.k, shape.pixels)


@pytest.mark.parametrize("name", LAYERS)
def test_dense_im2col_matches_sliding_windows(name, rng):
    shape = conv_shape(name)
    x = rng.integers(-100, 100, shape.input_shape)
    assert np.array_equal(im2col(x, shape), sliding_im2col(x, shape))


@pytest.mark.parametrize("config_name", PRESETS)
@pytest.mark.parametrize("name", LAYERS)
def test_lowering_equals_encoded_dense_im2col(name, config_name, rng):
    config = preset(config_name)
    shape = conv_shape(name)
    for density in (0.0, 0.3, 1.0):
        _check_lowering(_activation(rng, shape, config, density), shape, config)


@pytest.mark.parametrize("config", [WIDE, WIDEST, NARROW], ids=["tile_n128", "tile_n256",
                                                                 "tile1x1"])
@pytest.mark.parametrize("name", ["3x3-pad1", "stride2-pad1", "wide-rows", "wide-rows-stride2",
                                  "asymmetric", "one-column"])
def test_lowering_other_tile_shapes(name, config, rng):
    shape = conv_shape(name)
    _check_lowering(_activation(rng, shape, config, 0.5), shape, config)


def test_random_layers(rng):
    """Random ragged layers (strides 1..3, padding 0..2, dilation 1..3, kernels 1..5) at
    random densities on every preset."""
    checked = 0
    while checked < 120:
        config = preset(PRESETS[checked % len(PRESETS)])
        shape = random_shape(rng, [8, 14, 14, 5, 5, 4, 4, 3, 3, 3, 3, 4, 4])
        if shape is None:
            continue
        x = _activation(rng, shape, config, float(rng.random()))
        assert np.array_equal(im2col(x, shape), sliding_im2col(x, shape)), shape
        _check_lowering(x, shape, config)
        checked += 1


def test_float_specials_and_negative_zero():
    """-0 is a zero (bit clear, dropped); NaN, inf and subnormals are nonzeros whose bits are
    carried unchanged."""
    config = preset("small-fp16")
    shape = ConvShape(2, 5, 6, 1, (3, 3), 1, 1, 1)
    bits = np.array([0x8000, 0x7E01, 0x7C00, 0xFC00, 0x0001, 0x8001, 0x3C00, 0x0000, 0xFE00],
                    dtype=np.uint16)
    x = np.resize(bits, shape.input_shape).view(np.float16)
    lowered = _check_lowering(x, shape, config)
    assert not np.any(lowered.values.view(np.uint16) == 0x8000)
    assert np.any(lowered.values.view(np.uint16) == 0x7E01)


def test_chained_activation_is_a_layer_output():
    """An activation is the B operand ``C x H*W``: the previous layer's output ``D = F x
    OH*OW`` encoded as B is the next layer's input, with no re-layout."""
    config = preset("small")
    d = np.arange(-20, 20).reshape(4, 10) % 7 - 3          # F = 4 filters, OH x OW = 2 x 5
    activation = ActivationBitmap(encode_b(d, config), 2, 5)
    assert np.array_equal(activation.decode(), d.reshape(4, 2, 5))
    assert np.array_equal(activation.bitmap(), d.reshape(4, 2, 5) != 0)
    shape = ConvShape(4, 2, 5, 3, (2, 2), 1, 1, 1)
    lowered = lower(activation, shape, config)
    assert_same_encoding(lowered.to_encoded(), encode_b(im2col(d.reshape(4, 2, 5), shape),
                                                        config))


def test_worked_example():
    """The worked example of docs/workloads.md: a 1 x 4 x 5 activation, 3 x 3 kernel, padding
    1, small preset (k-chunk 4, tile_n 8)."""
    config = preset("small")
    x = np.array([[[0, 3, 0, 0, 5],
                   [1, 0, 0, 2, 0],
                   [0, 0, 4, 0, 0],
                   [6, 0, 0, 0, 7]]])
    shape = ConvShape(1, 4, 5, 1, (3, 3), 1, 1, 1)
    lowered = _check_lowering(x, shape, config)
    bitmap = lowered.bitmap()
    # Row k = 4 (r = 1, s = 1) is the activation itself; k = 5 (s = 2) is it shifted left by
    # one column with column 4 masked; k = 0 (r = 0, s = 0) shifted down and right by one.
    assert np.array_equal(bitmap[4].reshape(4, 5), x[0] != 0)
    assert "".join("1" if bit else "0" for bit in bitmap[5]) == "10010" "00100" "01000" "00010"
    assert "".join("1" if bit else "0" for bit in bitmap[0]) == "00000" "00100" "01001" "00010"
    # B tile (0, 0): k = 0..3, pixels 0..7; one value in rows 0, 1, 2, two in row 3.
    assert lowered.words[0, 0, :, 0].tolist() == [0b10000000, 0b01000000, 0b00100000,
                                                  0b01000100]
    assert lowered.values[:5].tolist() == [3, 3, 3, 3, 1]
    assert lowered.counts.tolist() == [[5, 9, 4], [11, 8, 2], [2, 1, 0]]
    assert lowered.cost == LoweringCost(plane_words=2, pieces=43, lowered_words=36, values=42,
                                        dense_elements=180)


def test_cost_grows_with_words_and_nonzeros(rng):
    """A 3x3 layer: the lowering's word operations are a fraction of the dense im2col's
    element copies, the same at every density, and its value copies are the nonzeros."""
    config = preset("default")
    shape = ConvShape(32, 28, 28, 8, (3, 3), 1, 1, 1)
    costs = []
    for density in (0.1, 0.5, 1.0):
        x = _activation(rng, shape, config, density)
        lowered = lower(encode_activation(x, config), shape, config)
        dense = im2col(x, shape)
        assert lowered.cost.values == np.count_nonzero(dense)
        assert lowered.cost.dense_elements == dense.size
        costs.append(lowered.cost)
    assert len({(cost.plane_words, cost.lowered_words) for cost in costs}) == 1
    words = costs[0].lowered_words
    assert words == shape.k // config.k_chunk * config.k_chunk * 25 * 1   # 784 px = 24.5 tiles
    assert costs[-1].word_operations * 5 < costs[-1].dense_elements
    assert costs[-1].pieces <= 3 * words        # a 32-pixel word spans at most 3 rows of 28


def test_bad_activation():
    config = preset("small")
    shape = ConvShape(2, 4, 4, 1, (3, 3), 1, 1, 1)
    activation = encode_activation(np.ones((2, 4, 4), dtype=np.int64), config)
    with pytest.raises(ConvError, match=r"activation: must be an ActivationBitmap"):
        lower(np.ones((2, 4, 4)), shape, config)
    with pytest.raises(ConvError, match=r"activation shape \(2, 4, 4\): the layer's input is "
                                        r"\(3, 4, 4\)"):
        lower(activation, ConvShape(3, 4, 4, 1, (3, 3), 1, 1, 1), config)
    with pytest.raises(ConvError, match=r"activation dtype int64: the configuration's fp16 "
                                        r"operands are held as float16"):
        lower(activation, shape, preset("small-fp16"))
    with pytest.raises(ConvError, match=r"16 pixel columns, height x width = 4 x 5 = 20"):
        ActivationBitmap(activation.operand, 4, 5)
    with pytest.raises(ConvError, match=r"width=0: must be a positive integer"):
        ActivationBitmap(activation.operand, 16, 0)
    with pytest.raises(ConvError, match=r"role 'B'"):
        ActivationBitmap(encode_a(np.ones((2, 16), dtype=np.int64), config), 4, 4)
    with pytest.raises(ConvError, match=r"activation shape \(2, 16\): must be 3-D"):
        encode_activation(np.ones((2, 16), dtype=np.int64), config)
    with pytest.raises(ConvError, match=r"activation shape \(2, 4, 5\): must be \(2, 4, 4\)"):
        im2col(np.ones((2, 4, 5)), shape)
    with pytest.raises(ValueError, match=r"int8 values must lie in \[-128, 127\]"):
        encode_activation(np.full((1, 2, 2), 300), config)


@pytest.mark.parametrize("config_name", ["small", "default"])
def test_column_tile_is_one_output_tile_column(config_name, rng):
    """``column_tile(j)`` is the encoded slice ``B[:, j*tile_n:(j+1)*tile_n]`` (the last one
    narrower): the B operand of the output tiles of column j, for sampled-tile runs."""
    config = preset(config_name)
    shape = ConvShape(6, 9, 7, 3, (3, 3), 1, 1, 1)           # P = 63: a ragged last tile
    x = _activation(rng, shape, config, 0.4)
    lowered = lower(encode_activation(x, config), shape, config)
    dense = im2col(x, shape)
    tn = config.tile_n
    for j in range(-(-shape.pixels // tn)):
        want = encode_b(dense[:, j * tn:(j + 1) * tn], config)
        assert_same_encoding(lowered.column_tile(j), want)
    for index in (-1, -(-shape.pixels // tn), 1.0, True):
        with pytest.raises(ConvError, match=rf"index={index!r}: must be a column tile in "
                                            rf"\[0, {-(-shape.pixels // tn)}\)"):
            lowered.column_tile(index)


def test_lowering_bench_counts(rng):
    """``python -m dstc.gen.im2col_bench``'s measurement on a small layer: counts consistent
    with the lowering, bytes of the bitmap format below the dense bytes at low density."""
    from dstc.gen.im2col_bench import format_table, measure_lowering

    shape = ConvShape(16, 12, 12, 4, (3, 3), 1, 1, 1)
    rows = measure_lowering(shape, preset("default"), (0.1, 1.0), seed=5, repeats=1)
    assert [row.density for row in rows] == [0.1, 1.0]
    for row in rows:
        assert row.dense_elements == shape.k * shape.pixels
        assert row.word_operations == row.plane_words + row.pieces + row.lowered_words
        assert row.dense_bytes == 2 * row.dense_elements
    assert rows[0].bitmap_bytes < rows[0].dense_bytes / 3
    assert rows[0].lowered_nnz < rows[1].lowered_nnz
    assert format_table(rows).count("\n") == 3
    with pytest.raises(ValueError, match=r"repeats=0: must be a positive integer"):
        measure_lowering(shape, preset("default"), (0.5,), repeats=0)
    with pytest.raises(ConvError, match=r"density=2: must be a number in \[0, 1\]"):
        measure_lowering(shape, preset("default"), (2,), repeats=1)


@pytest.mark.parametrize("block", [1, 100])
def test_lowering_in_blocks_of_k_tiles(block, monkeypatch, rng):
    """Large layers are lowered a few k tiles at a time (bounded memory): the same result with
    one k tile per block and with a few."""
    import dstc.sim.im2col as module

    monkeypatch.setattr(module, "_BLOCK_PIECES", block)
    config = preset("small-fp16")
    shape = conv_shape("dilation2-stride2")
    _check_lowering(_activation(rng, shape, config, 0.5), shape, config)
    shape = conv_shape("many-channels")
    _check_lowering(_activation(rng, shape, config, 0.5), shape, config)
