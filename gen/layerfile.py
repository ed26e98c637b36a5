"""A user's own network for ``dstc network --layers FILE``: a JSON list of layers.

Each entry is an object; ``type`` selects the kind, every other field is checked and unknown
fields are refused (a typo must not silently fall back to a default)::

    [
      {"type": "conv", "name": "conv1", "in_channels": 3, "out_channels": 64,
       "kernel": 3, "stride": 1, "padding": 1, "dilation": 1, "input": [224, 224],
       "weight_density": 0.5, "activation_density": 0.8},
      {"type": "conv", "name": "conv2", "in_channels": 64, "out_channels": 64, "kernel": [3, 3],
       "padding": 1, "input": [224, 224], "weights": "conv2.npy", "weights_layout": "oihw"},
      {"type": "gemm", "name": "fc", "m": 1000, "k": 4096, "n": 16,
       "weights": "fc.npy", "weight_density": 0.1, "activation_density": 0.5}
    ]

* ``conv``: ``in_channels``, ``out_channels``, ``kernel``, ``input`` (``[H, W]``) required;
  ``stride`` (default 1), ``padding`` (0), ``dilation`` (1): an integer or a
  ``[vertical, horizontal]`` pair. ``gemm``: ``m`` (output features), ``k`` (input features),
  ``n`` (activation vectors, e.g. the batch) required.
* Weights: ``weight_density`` (random uniform nonzeros, default 1 when no ``weights``), or
  ``weights``, a ``.npy`` file (path relative to the JSON file): a convolution's kernel in
  ``weights_layout`` ``"oihw"`` (PyTorch: out, in, R, S; the default) or ``"hwio"``
  (Keras/TensorFlow: R, S, in, out), a GEMM's ``m x k`` matrix; with ``weight_density`` too,
  those weights are pruned by magnitude to it, otherwise their own zeros are used.
* ``activation_density`` (default 1): the density of the layer's input activations (random
  uniform nonzeros; a convolution's lowered B gets the padding's zeros on top).
* ``name``: optional (default ``layer<index>``), unique.

:func:`read_layer_file` returns one :class:`LayerSpec` per entry or raises
:class:`LayerFileError` naming the file, the layer (index and name) and the field.
"""

import dataclasses
import json
import numbers
from pathlib import Path

import numpy as np

from ..sim.network import ConvLayer, GemmLayer

__all__ = ["LayerFileError", "LayerSpec", "read_layer_file", "parse_layers", "MAX_ELEMENTS"]

#: Largest operand (elements of A or of the lowered B) accepted for one layer: its bitmap
#: takes a byte per element.
MAX_ELEMENTS = 1 << 31

_COMMON = {"type", "name", "weights", "weight_density", "activation_density"}
_FIELDS = {
    "conv": _COMMON | {"in_channels", "out_channels", "kernel", "stride", "padding",
                       "dilation", "input", "weights_layout"},
    "gemm": _COMMON | {"m", "k", "n"},
}
_REQUIRED = {"conv": ("in_channels", "out_channels", "kernel", "input"),
             "gemm": ("m", "k", "n")}
_LAYOUTS = {"oihw": (0, 1, 2, 3), "hwio": (3, 2, 0, 1)}


class LayerFileError(ValueError):
    """A layer file that cannot be read or describes an invalid layer."""


@dataclasses.dataclass(frozen=True, eq=False)
class LayerSpec:
    """One layer of a user's network, validated."""

    index: int                       #: position in the file (0-based)
    layer: ConvLayer | GemmLayer
    input_size: tuple | None         #: (H, W) of a convolution's input; None for a GEMM
    weights: np.ndarray | None       #: float32 A operand ``M x K`` (``.npy`` weights) or None
    weight_density: float | None     #: target density of A (random, or pruning the weights)
    activation_density: float        #: density of the input activations

    @property
    def gemm_shape(self):
        """``(M, N, K)`` of the layer's GEMM."""
        if isinstance(self.layer, ConvLayer):
            return self.layer.gemm_shape(*self.input_size)
        return self.layer.gemm_shape()


def read_layer_file(path):
    """The :class:`LayerSpec` list of the JSON layer file ``path``. Raises
    :class:`LayerFileError` naming the file (and the layer and field) when it cannot be read,
    is not a JSON list of layer objects, or a layer is invalid."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise LayerFileError(f"--layers {path}: {error.strerror}") from None
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise LayerFileError(f"--layers {path}: not valid JSON ({error})") from None
    return parse_layers(entries, base=path.parent, source=str(path))


def parse_layers(entries, base=Path("."), source="layers"):
    """Validate ``entries`` (the decoded JSON: a list of objects) into :class:`LayerSpec`;
    ``.npy`` paths are relative to ``base``. Raises :class:`LayerFileError`."""
    if not isinstance(entries, list) or not entries:
        raise LayerFileError(f"{source}: must be a non-empty JSON list of layer objects")
    specs, names = [], {}
    for index, entry in enumerate(entries):
        spec = _parse_layer(index, entry, Path(base), source)
        if spec.layer.name in names:
            raise LayerFileError(f"{source}: layer {index} ({spec.layer.name}): field 'name': "
                                 f"{spec.layer.name!r} is already layer {names[spec.layer.name]}")
        names[spec.layer.name] = index
        specs.append(spec)
    return specs


def _parse_layer(index, entry, base, source):
    if not isinstance(entry, dict):
        raise LayerFileError(f"{source}: layer {index}: must be a JSON object, not "
                             f"{type(entry).__name__}")
    name = entry.get("name", f"layer{index}")

    def fail(field, message):
        where = f"{source}: layer {index} ({name})"
        raise LayerFileError(f"{where}: field {field!r}: {message}" if field else
                             f"{where}: {message}")

    if not isinstance(name, str) or not name:
        fail("name", f"{name!r}: must be a non-empty string")
    kind = entry.get("type")
    if kind not in _FIELDS:
        fail("type", f"{kind!r}: must be 'conv' or 'gemm'")
    unknown = sorted(set(entry) - _FIELDS[kind])
    if unknown:
        fail(unknown[0], f"unknown field for a {kind} layer (known: "
                         f"{', '.join(sorted(_FIELDS[kind]))})")
    for field in _REQUIRED[kind]:
        if field not in entry:
            fail(field, f"missing (a {kind} layer needs {', '.join(_REQUIRED[kind])})")

    def integer(field, minimum=1):
        value = entry[field]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            fail(field, f"{value!r}: must be an integer >= {minimum}")
        return value

    def pair(field, default, minimum=1):
        value = entry.get(field, default)
        values = value if isinstance(value, list) else [value]
        if len(values) not in (1, 2) or any(isinstance(v, bool) or not isinstance(v, int)
                                             or v < minimum for v in values):
            fail(field, f"{value!r}: must be an integer >= {minimum} or a pair of them")
        return (values[0], values[-1])

    def density(field, default):
        value = entry.get(field, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not 0.0 <= value <= 1.0:
            fail(field, f"{value!r}: a density must be a number between 0 and 1")
        return float(value)

    weight_density = density("weight_density", None)
    activation_density = density("activation_density", 1.0)
    if kind == "conv":
        fields = dict(in_channels=integer("in_channels"), out_channels=integer("out_channels"),
                      kernel=pair("kernel", None), stride=pair("stride", 1),
                      padding=pair("padding", 0, minimum=0), dilation=pair("dilation", 1))
        layer = ConvLayer(name, **fields)
        size = entry["input"]
        if not isinstance(size, list) or len(size) != 2 or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in size):
            fail("input", f"{size!r}: must be [height, width], positive integers")
        try:
            layer.output_size(*size)
        except ValueError as error:
            fail("kernel", str(error).split(": ", 1)[1])
        input_size = tuple(size)
        m, n, k = layer.gemm_shape(*input_size)
    else:
        layer = GemmLayer(name, integer("m"), integer("n"), integer("k"))
        input_size = None
        m, n, k = layer.gemm_shape()
    for operand, elements in (("A (weights)", m * k), ("B (activations)", k * n)):
        if elements > MAX_ELEMENTS:
            fail(None, f"operand {operand} has {elements:,} elements, more than the "
                       f"{MAX_ELEMENTS:,} this model takes per layer")
    weights = None
    if "weights" in entry:
        weights = _load_weights(entry, kind, layer, base, fail)
    elif "weights_layout" in entry:
        fail("weights_layout", "only meaningful with 'weights'")
    if weights is None and weight_density is None:
        weight_density = 1.0
    return LayerSpec(index=index, layer=layer, input_size=input_size, weights=weights,
                     weight_density=weight_density, activation_density=activation_density)


def _load_weights(entry, kind, layer, base, fail):
    file = entry["weights"]
    if not isinstance(file, str) or not file:
        fail("weights", f"{file!r}: must be the path of a .npy file")
    path = base / file
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        fail("weights", f"{path}: file not found")
    except (OSError, ValueError) as error:
        fail("weights", f"{path}: cannot be read as a .npy array ({error})")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        fail("weights", f"{path}: dtype {array.dtype} is not a real number type")
    if not np.all(np.isfinite(array)):
        fail("weights", f"{path}: holds NaN or infinite values")
    if kind == "conv":
        layout = entry.get("weights_layout", "oihw")
        if layout not in _LAYOUTS:
            fail("weights_layout", f"{layout!r}: must be 'oihw' (out, in, R, S) or 'hwio' "
                                   f"(R, S, in, out)")
        r, s = layer.kernel
        expected = {"oihw": (layer.out_channels, layer.in_channels, r, s),
                    "hwio": (r, s, layer.in_channels, layer.out_channels)}[layout]
        if array.shape != expected:
            fail("weights", f"{path}: shape {array.shape}, expected {expected} ({layout}: "
                            f"out_channels={layer.out_channels}, in_channels="
                            f"{layer.in_channels}, kernel={r}x{s})")
        matrix = array.transpose(_LAYOUTS[layout]).reshape(layer.out_channels, -1)
    else:
        if array.shape != (layer.m, layer.k):
            fail("weights", f"{path}: shape {array.shape}, expected ({layer.m}, {layer.k}) "
                            f"(m x k)")
        matrix = array
    return np.ascontiguousarray(matrix, dtype=np.float32)
