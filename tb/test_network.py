"""sim/network.py and ``dstc network`` (gen/network.py, gen/layerfile.py): the forward pass
equals an independent convolution, pruning keeps exactly ``round(d * n)`` weights, the
per-layer cycles are the exact model's, layer files are validated naming the layer and the
field."""

import csv
import json

import numpy as np
import pytest
from scipy.signal import correlate
from test_im2col import assert_same_encoding

from dstc.gen import layerfile, network, weights
from dstc.sim import network as net
from dstc.sim.bitmap import encode_b
from dstc.sim.config import preset
from dstc.sim.gemm_cycles import dense_mode_cycles, gemm_cycles, structured_24_cycles
from dstc.sim.im2col import im2col
from dstc.sim.program import gemm_program, sparse_gemm_cycles


@pytest.fixture(scope="module")
def vgg16():
    return weights.load_vgg16_weights()


def _reference_conv(x, kernel, bias, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """float64 cross-correlation by direct loops over the kernel taps (x: C x H x W, kernel:
    R x S x C x O Keras order), independent of sim/network.py's im2col."""
    r_size, s_size, _, out_channels = kernel.shape
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    padded = np.pad(x.astype(np.float64), ((0, 0), (ph, ph), (pw, pw)))
    ho = (padded.shape[1] - dh * (r_size - 1) - 1) // sh + 1
    wo = (padded.shape[2] - dw * (s_size - 1) - 1) // sw + 1
    out = np.zeros((out_channels, ho, wo)) + bias.astype(np.float64)[:, None, None]
    for r in range(r_size):
        for s in range(s_size):
            window = padded[:, r * dh:r * dh + sh * (ho - 1) + 1:sh,
                            s * dw:s * dw + sw * (wo - 1) + 1:sw]
            out += np.einsum("chw,co->ohw", window, kernel[r, s].astype(np.float64))
    return out


def test_real_layer_equals_scipy_correlate(vgg16):
    """conv1_2 of the real network on a real 20 x 24 crop: the fp16 forward pass's fp32
    accumulators equal scipy's correlation of the same fp16 operands (float64) within fp32
    rounding."""
    x16 = net.to_fp16(weights.network_input("china", (20, 24)))
    first = next(net.forward(net.VGG16_LAYERS[:1], [net.weight_matrix(vgg16[0].kernel)],
                             [vgg16[0].bias], x16, preset("default")))
    h1 = first.output          # conv1_1's fp16 output after ReLU (no pool after conv1_1)
    assert h1.shape == (64, 20, 24) and h1.dtype == np.float16
    np.testing.assert_array_equal(first.input, x16)
    np.testing.assert_array_equal(first.a_matrix, net.weight_matrix(vgg16[0].kernel)
                                  .astype(np.float16))
    conv1_1 = net.VGG16_LAYERS[0].shape(20, 24)
    np.testing.assert_array_equal(first.b_bitmap, im2col(x16, conv1_1) != 0)
    assert_same_encoding(first.lowered.to_encoded(),
                         encode_b(im2col(x16, conv1_1), preset("default")))
    layer = net.VGG16_LAYERS[1]
    kernel16 = vgg16[1].kernel.astype(np.float16)
    accum = net.conv2d(h1, net.weight_matrix(kernel16), vgg16[1].bias, layer)
    padded = np.pad(h1.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    reference = np.stack([
        correlate(padded, kernel16[:, :, :, o].transpose(2, 0, 1).astype(np.float64),
                  mode="valid")[0] + vgg16[1].bias[o] for o in range(64)])
    assert accum.shape == reference.shape == (64, 20, 24) and accum.dtype == np.float32
    scale = np.abs(reference).max()
    np.testing.assert_allclose(accum, reference, rtol=1e-5, atol=1e-6 * scale)
    # The next stage: ReLU, fp16 rounding, 2x2 max-pool.
    second = list(net.forward(net.VGG16_LAYERS[:2],
                              [net.weight_matrix(vgg16[0].kernel), net.weight_matrix(kernel16)],
                              [vgg16[0].bias, vgg16[1].bias], x16, preset("default")))[1]
    expected = np.maximum(reference, 0).astype(np.float16)
    pooled = expected.reshape(64, 10, 2, 12, 2).max(axis=(2, 4))
    assert second.output.shape == (64, 10, 12) and second.output.dtype == np.float16
    # Within one fp16 step (the float32 and float64 sums may round to neighbouring values).
    np.testing.assert_allclose(second.output.astype(np.float64), pooled.astype(np.float64),
                               rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("stride,padding,dilation", [
    ((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 2), (1, 1)), ((1, 2), (2, 0), (2, 1)),
    ((3, 3), (1, 1), (2, 2))])
def test_conv2d_equals_direct_loops(rng, stride, padding, dilation):
    x = rng.standard_normal((5, 11, 13)).astype(np.float16)
    kernel = rng.standard_normal((3, 2, 5, 7)).astype(np.float16)
    bias = rng.standard_normal(7).astype(np.float32)
    layer = net.ConvLayer("t", 5, 7, kernel=(3, 2), stride=stride, padding=padding,
                          dilation=dilation)
    out = net.conv2d(x, net.weight_matrix(kernel), bias, layer)
    reference = _reference_conv(x, kernel, bias, stride, padding, dilation)
    assert out.shape == reference.shape == (7, *layer.output_size(11, 13))
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-5)


def test_lowering_layout():
    """k = c*R*S + r*S + s, pixels in row-major order, padding zeros."""
    x = np.arange(2 * 4 * 5).reshape(2, 4, 5) + 1
    layer = net.ConvLayer("t", 2, 1, kernel=(2, 3), stride=(1, 2), padding=(1, 0))
    shape = layer.shape(4, 5)
    lowered = im2col(x, shape)
    ho, wo = layer.output_size(4, 5)
    assert (ho, wo) == (5, 2) and lowered.shape == (2 * 2 * 3, ho * wo)
    for c in range(2):
        for r in range(2):
            for s in range(3):
                for oy in range(ho):
                    for ox in range(wo):
                        y, xx = oy - 1 + r, ox * 2 + s
                        value = x[c, y, xx] if 0 <= y < 4 else 0
                        assert lowered[c * 6 + r * 3 + s, oy * wo + ox] == value
    for config in (preset("small"), preset("default")):    # int8 operands: bitmaps of fp16
        bits = net.lowered_bitmap(x % 3 == 0, layer, config)
        np.testing.assert_array_equal(bits, im2col((x % 3 == 0).astype(np.int8), shape) != 0)
    np.testing.assert_array_equal(im2col(x, shape, slice(2, 4)), lowered[:, 2 * wo:4 * wo])
    assert im2col(x, shape, slice(5, 5)).shape == (12, 0)


def test_forward_flushes_fp16_underflow_to_zero():
    """An fp32 accumulator value that rounds to 0 in fp16 is a zero of the next bitmap."""
    layer = net.ConvLayer("t", 1, 2, kernel=1)
    x = np.full((1, 2, 2), 1e-4, dtype=np.float32)
    a = np.array([[1e-4], [1.0]], dtype=np.float32)
    activity = next(net.forward([layer], [a], [np.zeros(2, np.float32)], x, preset("small")))
    assert activity.flushed == 4 and activity.overflowed == 0
    assert np.all(activity.output[0] == 0) and np.all(activity.output[1] > 0)
    big = next(net.forward([layer], [np.array([[1e3], [1.0]], np.float32)],
                           [np.zeros(2, np.float32)], np.full((1, 2, 2), 1e3, np.float32),
                           preset("small")))
    assert big.overflowed == 4 and np.all(np.isinf(big.output[0]))


def test_max_pool_same_padding(rng):
    x = rng.standard_normal((3, 5, 7)).astype(np.float16)
    pooled = net.max_pool(x, 2)
    assert pooled.shape == (3, 3, 4)
    for y in range(3):
        for xx in range(4):
            np.testing.assert_array_equal(pooled[:, y, xx],
                                          x[:, 2 * y:2 * y + 2, 2 * xx:2 * xx + 2].max(axis=(1, 2)))
    assert net.max_pool(x, 1) is x


def test_vgg16_layers():
    assert len(net.VGG16_LAYERS) == 13
    assert [layer.pool for layer in net.VGG16_LAYERS] == [1, 2, 1, 2, 1, 1, 2, 1, 1, 2, 1, 1, 1]
    size = (224, 224)
    shapes = []
    for layer in net.VGG16_LAYERS:
        shapes.append(layer.gemm_shape(*size))
        size = layer.pooled_size(*size)
    assert shapes[0] == (64, 224 * 224, 27) and shapes[-1] == (512, 14 * 14, 4608)
    assert sum(m * n * k for m, n, k in shapes) == 15_346_630_656   # VGG-16's 15.3 GMAC


# -- pruning ------------------------------------------------------------------------------------


@pytest.mark.parametrize("density", [1.0, 0.3, 0.07, 0.0])
def test_per_layer_pruning_keeps_round_d_n(vgg16, density):
    matrices = [net.weight_matrix(w.kernel) for w in vgg16]
    masks = net.prune(matrices, density)
    for matrix, mask in zip(matrices, masks, strict=True):
        assert mask.shape == matrix.shape and mask.dtype == np.bool_
        assert int(mask.sum()) == round(density * matrix.size)
        if 0 < density < 1:
            assert np.abs(matrix[mask]).min() >= np.abs(matrix[~mask]).max()


def test_global_pruning(vgg16):
    matrices = [net.weight_matrix(w.kernel) for w in vgg16]
    masks = net.prune(matrices, 0.3, "global")
    total = sum(m.size for m in matrices)
    assert sum(int(mask.sum()) for mask in masks) == round(0.3 * total)
    kept = min(np.abs(m[mask]).min() for m, mask in zip(matrices, masks, strict=True))
    dropped = max(np.abs(m[~mask]).max() for m, mask in zip(matrices, masks, strict=True))
    assert kept >= dropped
    # One threshold for all: the layers keep different fractions.
    fractions = [mask.mean() for mask in masks]
    assert max(fractions) - min(fractions) > 0.1


def test_bank_balanced_pruning_is_a_method():
    """--pruning bank: every chunk of tile_m rows keeps its nonzeros balanced over the
    array_rows row classes (sim/pruning.py), at the density asked for."""
    from dstc.sim.config import preset
    from dstc.sim.pruning import is_bank_balanced

    config = preset("small8")
    weights = np.random.default_rng(3).standard_normal((32, 24))
    (mask,) = net.prune([weights], 0.4, "bank", config)
    assert mask.sum() == round(0.4 * weights.size)
    assert is_bank_balanced(mask, config.array_rows, config.tile_m)


def test_pruning_ties_and_errors():
    mask = net.keep_largest(np.array([[1.0, 2.0, 2.0], [2.0, 0.5, 3.0]]), 3)
    np.testing.assert_array_equal(mask, [[False, True, True], [False, False, True]])
    assert not net.keep_largest(np.ones(4), 0).any() and net.keep_largest(np.ones(4), 4).all()
    with pytest.raises(ValueError, match="density=1.5: a density must be a number between"):
        net.prune([np.ones((2, 2))], 1.5)
    with pytest.raises(ValueError, match="pruning='nope': unknown method; known: layer, "
                                         "global, bank"):
        net.prune([np.ones((2, 2))], 0.5, "nope")
    with pytest.raises(ValueError, match="magnitudes: must be finite"):
        net.keep_largest(np.array([1.0, np.nan]), 1)


def test_pruning_hook(monkeypatch):
    """A new method (such as bank-balanced pruning) plugs in by name with the config."""
    seen = {}

    def every_other_row(matrices, density, config):
        seen["config"] = config
        return [np.arange(m.shape[0])[:, None] % 2 == np.zeros(m.shape, dtype=bool)
                for m in matrices]

    monkeypatch.setitem(net.PRUNING_METHODS, "rows", every_other_row)
    config = preset("default")
    masks = net.prune([np.ones((4, 3))], 0.5, "rows", config)
    assert seen["config"] is config and masks[0].sum() == 6
    monkeypatch.setitem(net.PRUNING_METHODS, "bad", lambda matrices, d, c: [np.ones((1, 1))])
    with pytest.raises(ValueError, match="pruning='bad': must return one bool mask"):
        net.prune([np.ones((4, 3))], 0.5, "bad")


# -- cycles -------------------------------------------------------------------------------------


def test_layer_cycles_equal_the_command_level_model(vgg16):
    """A real layer (conv1_1 pruned to 0.5, a real 10 x 12 crop, 16 output channels): the
    cycles equal the command-level program's, with the bias loaded as C."""
    config = preset("default")
    layer = net.ConvLayer("conv1_1", 3, 16, kernel=3, padding=1)
    a = net.weight_matrix(vgg16[0].kernel[:, :, :, :16])
    a = np.where(net.prune([a], 0.5)[0], a, 0).astype(np.float16)
    x16 = net.to_fp16(weights.network_input("china", (10, 12)))
    b = im2col(x16, layer.shape(10, 12))
    cycles = net.layer_cycles(a != 0, b != 0, config)
    bias = np.broadcast_to(vgg16[0].bias[:16, None], (16, b.shape[1]))
    program = gemm_program(a, b, config, c=bias)
    assert cycles.cycles == sparse_gemm_cycles(program)
    assert cycles.tiles_issued == program.tiles_issued
    shape = (16, 120, 27)
    assert cycles.shape == shape
    assert cycles.dense_mode_cycles == dense_mode_cycles(shape, config, with_c=True)
    assert cycles.structured_24_cycles == structured_24_cycles(shape, config, with_c=True)
    assert cycles.density_a == pytest.approx(0.5, abs=1 / a.size)
    assert cycles.speedup == cycles.dense_mode_cycles / cycles.cycles
    assert cycles.utilisation == cycles.useful_macs / (cycles.cycles * config.macs)


def test_run_network_small_crop(tmp_path, vgg16):
    config = preset("default")
    result = network.run_network(config, image="flower", size=(32, 40),
                                 weight_densities=(1.0, 0.3), out_dir=tmp_path,
                                 label="default")
    assert [run.weight_density for run in result.runs] == [1.0, 0.3]
    dense, pruned = result.runs
    assert [row.name for row in dense.rows] == [layer.name for layer in net.VGG16_LAYERS]
    # Recompute conv2_1 of the pruned run independently of the command's plumbing.
    matrices = [net.weight_matrix(w.kernel) for w in vgg16]
    masks = net.prune(matrices, 0.3)
    kept = [np.where(mask, m, 0) for mask, m in zip(masks, matrices, strict=True)]
    activities = list(net.forward(net.VGG16_LAYERS[:3], kept[:3], [w.bias for w in vgg16[:3]],
                                  weights.network_input("flower", (32, 40)), config))
    expected = gemm_cycles(activities[2].a_bitmap, activities[2].b_bitmap, config, with_c=True)
    row = pruned.rows[2]
    assert (row.m, row.n, row.k) == (128, 16 * 20, 576)
    assert (row.input_height, row.input_width) == (16, 20)
    assert row.cycles == expected.cycles and row.useful_macs == expected.useful_macs
    assert row.density_a == round(0.3 * 128 * 576) / (128 * 576)
    for run in result.runs:
        assert run.totals.cycles == sum(r.cycles for r in run.rows)
        assert run.totals.dense_mode_cycles == sum(r.dense_mode_cycles for r in run.rows)
        assert run.totals.speedup == run.totals.dense_mode_cycles / run.totals.cycles
        assert all(0 < r.density_b <= 1 for r in run.rows)
    assert pruned.totals.cycles < dense.totals.cycles
    assert dense.totals.dense_mode_cycles == pruned.totals.dense_mode_cycles
    names = sorted(path.name for path in result.paths)
    assert names == ["network.csv", "network.json", "network.png"]
    assert (tmp_path / "network.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "network.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 26 and int(table[15]["cycles"]) == row.cycles
    assert table[15]["weight_density"] == "0.3" and "seconds" not in table[0]
    document = json.loads((tmp_path / "network.json").read_text())
    assert document["config"] == config.to_dict() and document["pruning"] == "layer"
    assert document["runs"][1]["totals"]["cycles"] == pruned.totals.cycles
    assert "| **network** |" in network.format_table(result)


# -- layer files --------------------------------------------------------------------------------


def _conv(**fields):
    entry = {"type": "conv", "name": "c", "in_channels": 4, "out_channels": 8, "kernel": 3,
             "padding": 1, "input": [6, 7]}
    entry.update(fields)
    return {key: value for key, value in entry.items() if value is not None}


@pytest.mark.parametrize("entry,field,rule", [
    (_conv(stride=-1), "stride", "must be an integer >= 1 or a pair"),
    (_conv(stride=0), "stride", "must be an integer >= 1"),
    (_conv(padding=[1, 2, 3]), "padding", "must be an integer >= 0 or a pair"),
    (_conv(kernel=None), "kernel", "missing"),
    (_conv(kernel=9, padding=0), "kernel", "must fit in the padded input (height 6"),
    (_conv(input=[6]), "input", "must be [height, width]"),
    (_conv(in_channels=0), "in_channels", "must be an integer >= 1"),
    (_conv(weight_density=1.5), "weight_density", "between 0 and 1"),
    (_conv(activation_density="high"), "activation_density", "between 0 and 1"),
    (_conv(strides=2), "strides", "unknown field"),
    (_conv(type="pool"), "type", "must be 'conv' or 'gemm'"),
    (_conv(weights_layout="oihw"), "weights_layout", "only meaningful with 'weights'"),
    ({"type": "gemm", "name": "c", "m": 4, "k": 0, "n": 2}, "k", "must be an integer >= 1"),
    ({"type": "gemm", "name": "c", "m": 4, "n": 2}, "k", "missing"),
])
def test_layer_file_errors_name_the_layer_and_field(entry, field, rule):
    entries = [_conv(name="first"), entry]
    with pytest.raises(layerfile.LayerFileError) as caught:
        layerfile.parse_layers(entries, source="net.json")
    message = str(caught.value)
    assert message.startswith("net.json: layer 1 (c): field ")
    assert f"field {field!r}" in message and rule in message


def test_layer_file_structure_errors(tmp_path):
    with pytest.raises(layerfile.LayerFileError, match="must be a non-empty JSON list"):
        layerfile.parse_layers({"layers": []})
    with pytest.raises(layerfile.LayerFileError, match="layer 0: must be a JSON object"):
        layerfile.parse_layers([3])
    with pytest.raises(layerfile.LayerFileError,
                       match=r"layer 1 \(c\): field 'name': 'c' is already layer 0"):
        layerfile.parse_layers([_conv(), _conv()])
    with pytest.raises(layerfile.LayerFileError, match="layer 0 \\(layer0\\): field 'm'"):
        layerfile.parse_layers([{"type": "gemm", "k": 2, "n": 2}])
    path = tmp_path / "net.json"
    path.write_text("[{")
    with pytest.raises(layerfile.LayerFileError, match="net.json: not valid JSON"):
        layerfile.read_layer_file(path)
    with pytest.raises(layerfile.LayerFileError, match="missing.json: No such file"):
        layerfile.read_layer_file(tmp_path / "missing.json")
    huge = {"type": "gemm", "name": "huge", "m": 1 << 16, "k": 1 << 16, "n": 1}
    with pytest.raises(layerfile.LayerFileError, match="layer 0 \\(huge\\): operand A"):
        layerfile.parse_layers([huge])


def test_layer_file_weights(tmp_path, rng):
    kernel = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)     # O, I, R, S
    np.save(tmp_path / "w.npy", kernel)
    np.save(tmp_path / "w_hwio.npy", kernel.transpose(2, 3, 1, 0))
    np.save(tmp_path / "fc.npy", rng.standard_normal((5, 9)))
    bad = kernel.copy()
    bad[0, 0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    specs = layerfile.parse_layers([
        _conv(name="oihw", weights="w.npy"),
        _conv(name="hwio", weights="w_hwio.npy", weights_layout="hwio", weight_density=0.25),
        {"type": "gemm", "name": "fc", "m": 5, "k": 9, "n": 3, "weights": "fc.npy",
         "activation_density": 0.5},
    ], base=tmp_path)
    np.testing.assert_array_equal(specs[0].weights, kernel.reshape(8, 36))
    np.testing.assert_array_equal(specs[1].weights, specs[0].weights)
    assert specs[0].weight_density is None and specs[1].weight_density == 0.25
    assert specs[0].gemm_shape == (8, 42, 36) and specs[2].gemm_shape == (5, 3, 9)
    for fields, rule in (
            ({"weights": "nope.npy"}, "nope.npy: file not found"),
            ({"weights": "w.npy", "weights_layout": "hwio"}, "shape (8, 4, 3, 3), expected "
                                                             "(3, 3, 4, 8)"),
            ({"weights": "w.npy", "weights_layout": "nchw"}, "'nchw': must be 'oihw'"),
            ({"weights": "nan.npy"}, "NaN or infinite")):
        with pytest.raises(layerfile.LayerFileError) as caught:
            layerfile.parse_layers([_conv(**fields)], base=tmp_path)
        assert "layer 0 (c): field 'weights" in str(caught.value) and rule in str(caught.value)

    config = preset("small-fp16")
    result = network.run_network(config, layers=specs, seed=5)
    again = network.run_network(config, layers=specs, seed=5)
    assert [r.cycles for r in result.runs[0].rows] == [r.cycles for r in again.runs[0].rows]
    oihw, hwio, fc = result.runs[0].rows
    assert oihw.density_a == 1.0 and hwio.density_a == 0.25 and fc.kind == "gemm"
    assert oihw.density_b < oihw.input_density     # the padding's zeros
    assert result.runs[0].weight_density is None and result.seed == 5


def test_crop_too_large_is_refused(tmp_path):
    with pytest.raises(ValueError, match="size=2000x2000: conv1_2's lowered activations would "
                                         "have 2,304,000,000 elements"):
        network.run_network(preset("default"), size=(2000, 2000))


@pytest.mark.slow
def test_whole_network_within_budget():
    """The 13 layers on one 224 x 224 photo, end to end in a fresh process: < 60 s, < 2 GiB."""
    cost = network.bench_network()
    print(cost)
    assert cost["seconds"] < 60 and cost["peak_mib"] < 2048


def test_layer_file_command(tmp_path, capsys):
    path = tmp_path / "net.json"
    path.write_text(json.dumps([_conv(weight_density=0.5, activation_density=0.4),
                                {"type": "gemm", "name": "fc", "m": 10, "k": 20, "n": 4}]))
    out = tmp_path / "out"
    assert _dstc_network(["--layers", str(path), "--preset", "small-fp16", "--seed", "9",
                         "--no-figures", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| c | 8x42x36 |" in text and "(seed 9)" in text
    assert sorted(p.name for p in out.iterdir()) == ["network.csv", "network.json"]
    for argv, message in ((["--weight-density", "0.5"], "--weight-density: applies to VGG-16"),
                          (["--pruning", "global"], "--pruning: applies to VGG-16"),
                          (["--size", "64"], "--size: applies to VGG-16")):
        status = _dstc_network(["--layers", str(path), *argv, "-o", str(out)])
        assert status == 2 and message in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([_conv(stride=-2)]))
    status = _dstc_network(["--layers", str(bad), "-o", str(out)])
    error = capsys.readouterr().err
    assert status == 2 and "layer 0 (c): field 'stride'" in error
    assert "Traceback" not in error


def test_vgg16_command(tmp_path, capsys):
    out = tmp_path / "out"
    assert _dstc_network(["--no-rtl", "--image", "flower", "--size", "32x48",
                          "--weight-density", "0.5", "--pruning", "global", "--no-figures",
                          "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "VGG-16 on flower (32x48 crop), weight density 0.5, global pruning" in text
    assert "| conv1_1 | 64x1536x27 |" in text and "whole network" in text
    document = json.loads((out / "network.json").read_text())
    assert document["pruning"] == "global" and document["seed"] is None
    for argv, message in ((["--seed", "3"], "--seed: VGG-16 on a photo draws nothing"),
                          (["--size", "500"], "size=500x500: must fit in the photo (427x640)"),
                          (["--image", "nowhere.png"], "image='nowhere.png': not a sample"),
                          (["--offset", "300,0"], "offset=300,0")):
        status = _dstc_network([*argv, "--no-rtl", "--no-figures", "-o", str(out)])
        error = capsys.readouterr().err
        assert status == 2 and message in error and "Traceback" not in error
    for argv, message in ((["--rtl-layers", "conv9_9"], "'conv9_9' is not a VGG-16 layer"),
                          (["--preset", "int8"], "--rtl-tiles: the network's operands are "
                                                 "fp16, the configuration's are int8"),
                          (["--no-rtl", "--rtl-tiles", "2"], "--rtl-tiles: VGG-16 on a photo "
                                                             "draws nothing at random without")):
        try:
            status = _dstc_network([*argv, "--no-figures", "-o", str(out)])
        except SystemExit as stop:                   # argparse's errors exit with 2
            status = stop.code
        error = capsys.readouterr().err
        assert status == 2 and message in error and "Traceback" not in error


def _dstc_network(argv):
    """Exit status of ``dstc network ARGV`` (argparse errors exit through SystemExit)."""
    from dstc.gen import cli

    return cli.main(["network", *argv])
