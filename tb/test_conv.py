"""Sparse convolution (sim/conv.py): the golden model against an independent convolution
(scipy.signal.correlate; bit-exact for integers, wrapped to the accumulator) and against a
k-ordered fp32 reference built from numpy's sliding windows (bit-exact for fp16); the layer's
cycles against the command-level model; bad input."""

import dataclasses
import math

import numpy as np
import pytest
from conv_layers import CONV_LAYERS, conv_shape, random_shape
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from dstc.sim.arith import Arithmetic, wrap
from dstc.sim.bitmap import encode_a, encode_b
from dstc.sim.config import preset
from dstc.sim.conv import (
    ConvCycles,
    check_density,
    conv2d,
    conv_cycles,
    conv_reference,
    random_conv_operands,
    tile_operands,
)
from dstc.sim.conv_shape import ConvError, ConvShape
from dstc.sim.gemm_cycles import (
    LaneClassCost,
    dense_baseline_cycles,
    dense_mode_cycles,
    gemm_cycles,
    structured_24_cycles,
)
from dstc.sim.im2col import encode_activation, im2col, lower
from dstc.sim.program import gemm_program, sparse_gemm_cycles

PRESETS = ("small", "small-fp16", "default", "int8")


def _arguments(shape):
    return dict(stride=shape.stride, padding=shape.padding, dilation=shape.dilation)


def scipy_conv(weights, x, shape):
    """The layer by scipy.signal.correlate (exact float64 or int64 sums; no kernel flip): one
    'valid' correlation over (C, H, W) per filter with the kernel dilated by inserting zeros,
    on the zero-padded input, then every stride-th output."""
    (ph, pw), (sh, sw), (dh, dw) = shape.padding, shape.stride, shape.dilation
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    dilated = np.zeros(weights.shape[:2] + shape.kernel_span, dtype=weights.dtype)
    dilated[:, :, ::dh, ::dw] = weights
    out = np.stack([signal.correlate(padded, kernel, mode="valid", method="direct")[0]
                    for kernel in dilated])
    return out[:, ::sh, ::sw][:, :shape.out_height, :shape.out_width]


def k_ordered_fp32(weights, x, shape):
    """An fp32 reference accumulated in k order (k = c*R*S + r*S + s), products exact, from
    numpy's sliding windows (independent of dstc.sim's im2col and golden model)."""
    (ph, pw), (sh, sw), (dh, dw) = shape.padding, shape.stride, shape.dilation
    padded = np.pad(x.astype(np.float32), ((0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(padded, shape.kernel_span, axis=(1, 2))
    windows = windows[:, ::sh, ::sw, ::dh, ::dw][:, :shape.out_height, :shape.out_width]
    out = np.zeros(shape.output_shape, dtype=np.float32)
    weights = weights.astype(np.float32)
    for c in range(shape.channels):
        for r in range(shape.kernel[0]):
            for s in range(shape.kernel[1]):
                products = weights[:, c, r, s, None, None] * windows[None, c, :, :, r, s]
                out = (out + products).astype(np.float32)
    return out


@pytest.mark.parametrize("config_name", PRESETS)
@pytest.mark.parametrize("name", CONV_LAYERS)
def test_conv_against_scipy(name, config_name, rng):
    config = preset(config_name)
    shape = conv_shape(name)
    weights, x = random_conv_operands(shape, config, 0.6, 0.5, rng)
    result = conv2d(weights, x, config, **_arguments(shape))
    assert result.output.shape == shape.output_shape
    assert result.shape == shape
    if config.operand.is_float:
        exact = scipy_conv(weights.astype(np.float64), x.astype(np.float64), shape)
        want = k_ordered_fp32(weights, x, shape)
        assert result.output.dtype == np.float32
        assert result.output.tobytes() == want.tobytes()
        np.testing.assert_allclose(result.output, exact, rtol=1e-5, atol=1e-4)
    else:
        exact = scipy_conv(weights, x, shape)
        assert np.array_equal(result.output, wrap(exact, config.accum.width))
    assert conv_reference(weights, x, config, **_arguments(shape)).tobytes() == (
        result.output.tobytes())


def test_integer_accumulator_wraps(rng):
    """int8 x int8 summed over K = 288 overflows the small preset's int16 accumulator: the
    result is the exact sum wrapped modulo 2^16."""
    config = preset("small")
    shape = ConvShape(32, 6, 6, 4, (3, 3), 1, 1, 1)
    weights = np.full(shape.weight_shape, 127)
    x = rng.integers(100, 128, shape.input_shape)
    result = conv2d(weights, x, config, padding=1)
    exact = scipy_conv(weights, x, shape)
    assert exact.max() > 1 << 15
    assert np.array_equal(result.output, wrap(exact, 16))


def test_bias_is_the_initial_accumulator(rng):
    config = preset("small")
    shape = conv_shape("stride2-pad1")
    weights, x = random_conv_operands(shape, config, 0.5, 0.5, rng)
    bias = rng.integers(-1000, 1000, shape.filters)
    result = conv2d(weights, x, config, bias=bias, **_arguments(shape))
    want = wrap(scipy_conv(weights, x, shape) + bias[:, None, None], 16)
    assert np.array_equal(result.output, want)
    with pytest.raises(ConvError, match=r"bias shape \(3,\): must be \(9,\), one per filter"):
        conv2d(weights, x, config, bias=bias[:3], **_arguments(shape))


def test_random_layers(rng):
    """Random ragged layers and densities on the small presets, golden against scipy."""
    checked = 0
    while checked < 25:
        config = preset(("small", "small-fp16")[checked % 2])
        shape = random_shape(rng, [6, 11, 11, 7, 4, 4, 3, 3, 3, 3, 3, 3])
        if shape is None:
            continue
        weights, x = random_conv_operands(shape, config, float(rng.random()),
                                          float(rng.random()), rng)
        output = conv2d(weights, x, config, **_arguments(shape)).output
        if config.operand.is_float:
            assert output.tobytes() == k_ordered_fp32(weights, x, shape).tobytes(), shape
        else:
            assert np.array_equal(output, wrap(scipy_conv(weights, x, shape), 16)), shape
        checked += 1


def test_conv_is_spgemm_of_the_lowered_operands(rng):
    """conv2d's GEMM is spgemm of the encoded weights and the lowered activation: the same
    tiles issued and skipped as the dense im2col's GEMM."""
    config = preset("small")
    shape = conv_shape("3x3-pad1")
    weights, x = random_conv_operands(shape, config, 0.3, 0.3, rng)
    result = conv2d(weights, encode_activation(x, config), config, **_arguments(shape))
    program = gemm_program(weights.reshape(shape.filters, shape.k), im2col(x, shape), config)
    assert (result.gemm.tiles_issued, result.gemm.tiles_skipped) == (program.tiles_issued,
                                                                     program.tiles_skipped)


@pytest.mark.parametrize("with_c", [False, True])
@pytest.mark.parametrize("config_name", ["small", "default"])
@pytest.mark.parametrize("name", ["3x3-pad1", "stride2-pad1", "1x1", "dilation2",
                                  "asymmetric"])
def test_cycles_equal_the_command_level_model(name, config_name, with_c, rng):
    config = preset(config_name)
    shape = conv_shape(name)
    for density_w, density_x in ((0.5, 0.4), (0.05, 1.0), (1.0, 0.0), (0.2, 0.1)):
        weights, x = random_conv_operands(shape, config, density_w, density_x, rng)
        lowered = lower(encode_activation(x, config), shape, config)
        got = conv_cycles(weights, lowered, config, with_c=with_c)
        a = weights.reshape(shape.filters, shape.k)
        b = im2col(x, shape)
        c = np.zeros((shape.filters, shape.pixels), dtype=np.int64) if with_c else None
        program = gemm_program(encode_a(Arithmetic(config).operands(a), config),
                               encode_b(b, config), config, c=c)
        assert got.cycles == sparse_gemm_cycles(program)
        assert (got.tiles_issued, got.tiles_skipped) == (program.tiles_issued,
                                                         program.tiles_skipped)
        gemm = shape.gemm_shape
        assert got.gemm_shape == gemm == (shape.filters, shape.pixels, shape.k)
        assert got.dense_mode_cycles == dense_mode_cycles(gemm, config, with_c=with_c)
        assert got.dense_baseline_cycles == dense_baseline_cycles(gemm, config, with_c=with_c)
        assert got.structured_24_cycles == structured_24_cycles(gemm, config, with_c=with_c)
        assert got.density_weights == np.count_nonzero(a) / a.size
        assert got.density_lowered == np.count_nonzero(b) / b.size
        assert got.useful_macs == int(((a != 0).sum(axis=0) * (b != 0).sum(axis=1)).sum())
        if got.cycles:
            assert got.speedup == got.dense_mode_cycles / got.cycles
            assert got.utilisation == got.useful_macs / (got.cycles * config.macs)
        else:
            assert got.speedup == math.inf and got.utilisation == 0.0
        product = got.density_weights * got.density_lowered
        assert got.ideal_speedup == (1 / product if product else math.inf)


def test_cycles_take_a_kstep_cost(rng):
    config = preset("default")
    shape = conv_shape("first-layer-c3")
    weights, x = random_conv_operands(shape, config, 0.5, 0.5, rng)
    lowered = lower(encode_activation(x, config), shape, config)
    cost = LaneClassCost(config, row_classes=2, col_classes=2)
    got = conv_cycles(weights, lowered, config, cost=cost)
    want = gemm_cycles(weights.reshape(shape.filters, shape.k) != 0, im2col(x, shape) != 0,
                       config, cost=cost)
    assert (got.cycles, got.ohmma) == (want.cycles, want.ohmma)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.cycles = 0
    assert isinstance(got, ConvCycles)


def test_random_operands_have_the_densities(rng):
    config = preset("default")
    shape = ConvShape(64, 20, 20, 64, (3, 3), 1, 1, 1)
    weights, x = random_conv_operands(shape, config, 0.3, 0.7, rng)
    assert weights.shape == shape.weight_shape and x.shape == shape.input_shape
    assert abs(np.count_nonzero(weights) / weights.size - 0.3) < 0.02
    assert abs(np.count_nonzero(x) / x.size - 0.7) < 0.02
    weights, x = random_conv_operands(shape, preset("small"), 1.0, 0.0, rng)
    assert np.count_nonzero(weights) == weights.size and not np.any(x)
    assert weights.min() >= -128 and weights.max() <= 127


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, message", [
    (dict(stride=0), r"stride=0: must be positive"),
    (dict(stride=-2), r"stride=-2: must be positive"),
    (dict(stride=(1, 0)), r"stride=\(1, 0\): must be positive"),
    (dict(dilation=0), r"dilation=0: must be positive"),
    (dict(dilation=(-1, 1)), r"dilation=\(-1, 1\): must be positive"),
    (dict(padding=-1), r"padding=-1: must be at least 0"),
    (dict(padding=(0, -3)), r"padding=\(0, -3\): must be at least 0"),
    (dict(stride=1.5), r"stride=1.5: must be an integer or a pair of integers"),
    (dict(stride=(1, 2, 3)), r"stride=\(1, 2, 3\): must be an integer or a pair"),
    (dict(padding=True), r"padding=True: must be an integer or a pair of integers"),
])
def test_bad_stride_padding_dilation(arguments, message):
    config = preset("small")
    weights, x = np.ones((2, 3, 3, 3), dtype=np.int64), np.ones((3, 8, 8), dtype=np.int64)
    with pytest.raises(ConvError, match=message):
        conv2d(weights, x, config, **arguments)
    with pytest.raises(ConvError, match=message):
        ConvShape(3, 8, 8, 2, **arguments)


def test_shapes_that_do_not_agree():
    config = preset("small")
    x = np.ones((3, 5, 6), dtype=np.int64)
    with pytest.raises(ConvError, match=r"weights shape \(2, 4, 3, 3\): its 4 input channels "
                                        r"must equal the activation's 3 channels"):
        conv2d(np.ones((2, 4, 3, 3), dtype=np.int64), x, config)
    with pytest.raises(ConvError, match=r"kernel=\(7, 3\) with dilation=\(1, 1\) spans 7 rows: "
                                        r"must fit in the padded input \(height 5 \+ 2 x "
                                        r"padding 0 = 5\)"):
        conv2d(np.ones((2, 3, 7, 3), dtype=np.int64), x, config)
    with pytest.raises(ConvError, match=r"spans 9 columns: must fit in the padded input "
                                        r"\(width 6 \+ 2 x padding 1 = 8\)"):
        conv2d(np.ones((2, 3, 3, 5), dtype=np.int64), x, config, padding=1, dilation=2)
    with pytest.raises(ConvError, match=r"weights shape \(2, 27\): must be 4-D"):
        conv2d(np.ones((2, 27), dtype=np.int64), x, config)
    with pytest.raises(ConvError, match=r"activation shape \(3, 30\): must be 3-D"):
        conv2d(np.ones((2, 3, 3, 3), dtype=np.int64), x.reshape(3, 30), config)
    with pytest.raises(ConvError, match=r"activation shape \(3, 30\): must be 3-D"):
        conv_reference(np.ones((2, 3, 3, 3), dtype=np.int64), x.reshape(3, 30), config)
    with pytest.raises(ConvError, match=r"channels=0: must be a positive integer"):
        ConvShape(0, 5, 5, 2)
    lowered = lower(encode_activation(x, config), ConvShape(3, 5, 6, 2, (3, 3)), config)
    with pytest.raises(ConvError, match=r"weights shape \(2, 3, 3, 2\): the layer's weights "
                                        r"are \(2, 3, 3, 3\)"):
        conv_cycles(np.ones((2, 3, 3, 2)), lowered, config)
    with pytest.raises(ConvError, match=r"lowered: must be a LoweredActivation"):
        conv_cycles(np.ones((2, 3, 3, 3)), im2col(x, ConvShape(3, 5, 6, 2, (3, 3))), config)


@pytest.mark.parametrize("density", [-0.1, 1.5, math.nan, math.inf, "0.5", None, True])
def test_densities_outside_0_1(density, rng):
    shape = ConvShape(3, 8, 8, 2)
    with pytest.raises(ConvError, match=rf"density_weights={density!r}: must be a number in "
                                        r"\[0, 1\]".replace("(", r"\(").replace(")", r"\)")):
        random_conv_operands(shape, preset("small"), density, 0.5, rng)
    with pytest.raises(ConvError, match=r"density_activation=.*: must be a number in \[0, 1\]"):
        random_conv_operands(shape, preset("small"), 0.5, density, rng)
    assert check_density("d", 0) == 0.0 and check_density("d", 1) == 1.0
    assert issubclass(ConvError, ValueError)


@pytest.mark.parametrize("config_name", ["small-fp16", "small"])
def test_sampled_output_tiles(config_name, rng):
    """One output tile (i, j) of a layer is the GEMM of weight tile row i and
    ``lowered.column_tile(j)``: its result is that tile of the layer's output, bit for bit
    (what runs through the RTL for sampled tiles)."""
    from dstc.sim.golden import spgemm

    config = preset(config_name)
    shape = conv_shape("stride2-pad2-5x5")
    weights, x = random_conv_operands(shape, config, 0.5, 0.6, rng)
    result = conv2d(weights, x, config, **_arguments(shape))
    d = result.output.reshape(shape.filters, shape.pixels)
    a = weights.reshape(shape.filters, shape.k)
    tm, tn = config.tile_m, config.tile_n
    rows, columns = -(-shape.filters // tm), -(-shape.pixels // tn)
    for i in range(rows):
        for j in range(columns):
            tile = spgemm(a[i * tm:(i + 1) * tm], result.lowered.column_tile(j), config)
            assert tile.d.tobytes() == np.ascontiguousarray(
                d[i * tm:(i + 1) * tm, j * tn:(j + 1) * tn]).tobytes(), (i, j)
            a_tile, b_tile = tile_operands(weights, result.lowered, config, i, j)
            assert spgemm(a_tile, b_tile, config).d.tobytes() == tile.d.tobytes()
            program = gemm_program(a_tile, b_tile, config)
            assert gemm_cycles(a_tile.decode() != 0, b_tile.decode() != 0, config).cycles == (
                sparse_gemm_cycles(program))
    with pytest.raises(ConvError, match=rf"tile_row={rows}: must be a weight tile row in "
                                        rf"\[0, {rows}\)"):
        tile_operands(weights, result.lowered, config, rows, 0)
    with pytest.raises(ConvError, match=rf"index={columns}: must be a column tile"):
        tile_operands(weights, result.lowered, config, 0, columns)
    with pytest.raises(ConvError, match=r"weights shape \(5, 4, 5, 4\): the layer's weights"):
        tile_operands(weights[..., :4], result.lowered, config, 0, 0)


def test_conv_shape_derived_sizes():
    shape = ConvShape(3, 224, 224, 64, (7, 7), 2, 3, 1)            # ResNet's first layer
    assert (shape.out_height, shape.out_width) == (112, 112)
    assert shape.gemm_shape == (64, 112 * 112, 3 * 49)
    assert shape.macs == 64 * 112 * 112 * 147
    assert shape.stride == (2, 2) and shape.padding == (3, 3) and shape.dilation == (1, 1)
    assert shape.describe() == ("3x224x224 -> 64x112x112, 7x7 kernel, stride 2,2, padding 3,3, "
                                "dilation 1,1")
    shape = ConvShape(4, 10, 9, 2, (3, 2), (2, 1), (1, 0), (2, 3))
    assert shape.kernel_span == (5, 4)
    assert (shape.out_height, shape.out_width) == ((10 + 2 - 5) // 2 + 1, 9 - 4 + 1)
    assert ConvShape.of((2, 4, 3, 2), (4, 10, 9), (2, 1), (1, 0), (2, 3)) == shape
    assert shape.weight_shape == (2, 4, 3, 2) and shape.output_shape == (2, 4, 6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        shape.stride = (1, 1)
