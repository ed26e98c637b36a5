"""A network's layers on the core: shapes, pruning, an fp16 forward pass and per-layer cycles.

Numpy only (the loaders of real weights and photos live in ``dstc.gen.weights``).

* :class:`ConvLayer` (a named :class:`~dstc.sim.conv_shape.ConvShape` without its input size,
  plus a max-pool) and :class:`GemmLayer` describe a layer and its GEMM on the core: the
  weights are A (``M x K``; for a convolution ``out_channels x C*R*S`` with
  ``k = c*R*S + r*S + s``), the (lowered) activations are B (``K x N``; for a convolution
  ``C*R*S x Ho*Wo``, output pixels in row-major order), the output ``M x N``.
* :func:`prune` keeps the largest weights by magnitude, per layer or over the whole network
  (:data:`PRUNING_METHODS`, the hook where other methods plug in).
* :func:`forward` runs a chain of convolutions with fp16 operands (weights and activations
  rounded to fp16, products accumulated in fp32 by a float32 BLAS matrix product, the bias as
  the accumulator's initial value), ReLU, fp16 rounding of the output and max-pooling, so that
  every layer's activation sparsity is real. Each layer's fp16 input is bitmap-encoded and
  lowered **in the bitmap format** (:func:`~dstc.sim.im2col.lower`, the paper's online
  encoding): that is the layer's B operand.
* :func:`~dstc.sim.conv.layer_cycles` gives a layer's cycles from the exact model
  (:func:`~dstc.sim.gemm_cycles.gemm_cycles`) and the dense, dense-baseline and 2:4 figures.

docs/workloads.md ("VGG-16 on real photos") describes the models and the results.
"""

import dataclasses
import numbers

import numpy as np

from .conv import LayerCycles, layer_cycles
from .conv_shape import ConvError, ConvShape, check_count, check_geometry
from .im2col import encode_activation, im2col, lower

__all__ = ["ConvLayer", "GemmLayer", "VGG16_LAYERS", "weight_matrix", "keep_largest",
           "prune_per_layer", "prune_global", "PRUNING_METHODS", "prune", "bitmap_config",
           "lowered_activation", "lowered_bitmap", "conv2d", "max_pool", "to_fp16",
           "LayerActivity", "forward", "LayerCycles", "layer_cycles"]

# Elements of the float32 lowered block built at once by conv2d (64 MiB).
_LOWER_BLOCK = 1 << 24


def _named(name, check, *args):
    """``check(*args)`` with a :class:`ConvError` re-raised naming the layer."""
    try:
        return check(*args)
    except ConvError as error:
        raise ConvError(f"layer {name!r}: {error}") from None


def _check_counts(layer, fields):
    """Check a layer's name (a non-empty string) and normalise its ``fields`` to positive
    ints, raising :class:`ConvError` naming the layer and the field."""
    if not isinstance(layer.name, str) or not layer.name:
        raise ConvError(f"name={layer.name!r}: a layer needs a non-empty name")
    for field in fields:
        object.__setattr__(layer, field, _named(layer.name, check_count, field,
                                                getattr(layer, field)))


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    """A named 2-D convolution of a network, followed by ReLU and an optional ``pool x pool``
    max-pool (stride ``pool``, 'same' padding: an odd edge keeps its last partial window).

    The layer is a :class:`~dstc.sim.conv_shape.ConvShape` without its input size:
    :meth:`shape` gives the shape on an ``H x W`` input, and every size follows from it.
    ``kernel``, ``stride``, ``padding`` and ``dilation`` are ints or ``(vertical,
    horizontal)`` pairs (normalised to pairs). Raises :class:`~dstc.sim.conv_shape.ConvError`
    (a ``ValueError``) naming the layer and the field for values that are not positive
    (padding: non-negative) integers.
    """

    name: str
    in_channels: int
    out_channels: int
    pool: int = 1
    kernel: tuple = (3, 3)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)

    def __post_init__(self):
        _check_counts(self, ("in_channels", "out_channels", "pool"))
        geometry = _named(self.name, check_geometry, self.kernel, self.stride, self.padding,
                          self.dilation)
        for field, pair in zip(("kernel", "stride", "padding", "dilation"), geometry,
                               strict=True):
            object.__setattr__(self, field, pair)

    def shape(self, height, width):
        """The layer's :class:`~dstc.sim.conv_shape.ConvShape` on an ``H x W`` input. Raises
        :class:`~dstc.sim.conv_shape.ConvError` naming the layer for a size that is not a
        positive integer or a dilated kernel larger than the padded input."""
        return _named(self.name, ConvShape, self.in_channels, height, width, self.out_channels,
                      self.kernel, self.stride, self.padding, self.dilation)

    @property
    def k(self):
        """Inner dimension of the layer's GEMM: ``in_channels * R * S``."""
        return self.in_channels * self.kernel[0] * self.kernel[1]

    def output_size(self, height, width):
        """``(Ho, Wo)`` of the convolution (before pooling) on an ``H x W`` input; errors as
        :meth:`shape`."""
        shape = self.shape(height, width)
        return shape.out_height, shape.out_width

    def pooled_size(self, height, width):
        """``(H, W)`` of the layer's output after its max-pool, for an ``H x W`` input."""
        ho, wo = self.output_size(height, width)
        return -(-ho // self.pool), -(-wo // self.pool)

    def gemm_shape(self, height, width):
        """``(M, N, K)`` of the layer's GEMM: ``(out_channels, Ho * Wo, in_channels * R * S)``."""
        return self.shape(height, width).gemm_shape


@dataclasses.dataclass(frozen=True)
class GemmLayer:
    """A plain GEMM layer (fully connected on ``n`` activation vectors): A is the ``m x k``
    weight matrix, B the ``k x n`` activations. Raises :class:`~dstc.sim.conv_shape.ConvError`
    (a ``ValueError``) naming the layer and the field for sizes that are not positive
    integers."""

    name: str
    m: int
    n: int
    k: int

    def __post_init__(self):
        _check_counts(self, ("m", "n", "k"))

    def gemm_shape(self):
        """``(M, N, K)``."""
        return self.m, self.n, self.k


def _vgg16():
    layers, channels = [], 3
    for block, (width, count) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)),
                                           start=1):
        for index in range(1, count + 1):
            # The 2x2 max-pool sits between blocks: after the last layer of blocks 1 to 4.
            pool = 2 if index == count and block < 5 else 1
            layers.append(ConvLayer(f"conv{block}_{index}", channels, width, kernel=3,
                                    stride=1, padding=1, pool=pool))
            channels = width
    return tuple(layers)


#: VGG-16's 13 convolutions (3x3, stride 1, 'same' padding, ReLU; 2x2 max-pool after
#: conv1_2, conv2_2, conv3_3 and conv4_3).
VGG16_LAYERS = _vgg16()


def weight_matrix(kernel):
    """A convolution kernel ``(R, S, C, out_channels)`` (Keras/TensorFlow order) as the core's
    A operand ``out_channels x C*R*S`` with ``k = c*R*S + r*S + s`` (a copy). Raises
    ``ValueError`` for an array that is not 4-D."""
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"kernel: must be 4-D (R, S, C, out_channels), not {kernel.shape}")
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1).reshape(kernel.shape[3], -1))


# -- pruning ------------------------------------------------------------------------------------


def _check_density(density, name="density"):
    if (isinstance(density, bool) or not isinstance(density, numbers.Real)
            or not 0.0 <= density <= 1.0):
        raise ValueError(f"{name}={density!r}: a density must be a number between 0 and 1")
    return float(density)


def keep_largest(magnitudes, count):
    """A bool mask of ``magnitudes``' shape with exactly ``count`` elements set: the largest
    magnitudes, ties broken towards the lower flat (row-major) index. Linear time
    (``np.partition``). Raises ``ValueError`` for a count outside ``[0, size]`` or magnitudes
    that are not finite."""
    magnitudes = np.asarray(magnitudes)
    flat = magnitudes.reshape(-1)
    if not 0 <= count <= flat.size:
        raise ValueError(f"count={count}: must be between 0 and the size ({flat.size})")
    if not np.all(np.isfinite(flat)):
        raise ValueError("magnitudes: must be finite (NaN or infinite weights)")
    mask = np.zeros(flat.size, dtype=bool)
    if count == flat.size:
        mask[:] = True
    elif count:
        threshold = np.partition(flat, flat.size - count)[flat.size - count]
        mask = flat > threshold
        ties = np.flatnonzero(flat == threshold)
        mask[ties[:count - int(mask.sum())]] = True
    return mask.reshape(magnitudes.shape)


def prune_per_layer(matrices, density, config=None):
    """Per-layer magnitude pruning: keep the ``round(density * n)`` largest ``|w|`` of every
    matrix (``n`` its size; Python's ``round``, halves to even), the first layer included.
    ``matrices``: the layers' A operands (any shapes, float); ``config`` is unused (the
    signature of :data:`PRUNING_METHODS`). Returns one bool mask per matrix."""
    density = _check_density(density)
    return [keep_largest(np.abs(matrix), round(density * np.size(matrix)))
            for matrix in matrices]


def prune_global(matrices, density, config=None):
    """Global magnitude pruning: keep the ``round(density * N)`` largest ``|w|`` over all the
    matrices together (``N`` their total size; ties towards the earlier matrix and the lower
    index), so that layers with larger weights keep more. Returns one bool mask per matrix."""
    density = _check_density(density)
    sizes = [int(np.size(matrix)) for matrix in matrices]
    everything = np.concatenate([np.abs(np.asarray(matrix, dtype=np.float32)).reshape(-1)
                                 for matrix in matrices]) if matrices else np.zeros(0)
    mask = keep_largest(everything, round(density * everything.size))
    bounds = np.cumsum([0] + sizes)
    return [mask[bounds[i]:bounds[i + 1]].reshape(np.shape(matrix))
            for i, matrix in enumerate(matrices)]


#: Pruning methods by name. A method is ``method(matrices, density, config) -> masks``:
#: ``matrices`` the layers' A operands in the core's layout (``M x K`` float, rows = output
#: channels, ``k = c*R*S + r*S + s``), ``density`` in [0, 1], ``config`` the
#: :class:`~dstc.sim.config.DstcConfig` the network runs on (a method that balances nonzeros
#: per tile, such as the bank-balanced pruning of the accumulator issue, reads ``tile_m``,
#: ``k_chunk`` and the lane classes from it); it returns one bool mask (True: kept) per matrix.
#: ``dstc network --pruning`` offers every key.
PRUNING_METHODS = {"layer": prune_per_layer, "global": prune_global}


def _prune_bank_balanced(matrices, density, config=None):
    """Bank-balanced magnitude pruning (:func:`~dstc.sim.pruning.prune_bank_balanced`)."""
    from .pruning import prune_bank_balanced

    return prune_bank_balanced(matrices, density, config)


PRUNING_METHODS["bank"] = _prune_bank_balanced


def prune(matrices, density, method="layer", config=None):
    """The masks of ``matrices`` pruned to ``density`` by the method called ``method`` (a key
    of :data:`PRUNING_METHODS`). Raises ``ValueError`` for an unknown method, a density outside
    [0, 1], or a method that returns masks of the wrong number or shapes."""
    try:
        function = PRUNING_METHODS[method]
    except KeyError:
        raise ValueError(f"pruning={method!r}: unknown method; known: "
                         f"{', '.join(PRUNING_METHODS)}") from None
    masks = function(matrices, _check_density(density), config)
    if len(masks) != len(matrices) or any(
            np.shape(mask) != np.shape(matrix) or np.asarray(mask).dtype != np.bool_
            for mask, matrix in zip(masks, matrices, strict=False)):
        raise ValueError(f"pruning={method!r}: must return one bool mask of each matrix's shape")
    return masks


# -- forward pass -------------------------------------------------------------------------------


def _check_input(x, layer):
    x = np.asarray(x)
    if x.ndim != 3:
        raise ConvError(f"layer {layer.name!r}: the input must be C x H x W, not {x.shape}")
    if x.shape[0] != layer.in_channels:
        raise ConvError(f"layer {layer.name!r}: in_channels={layer.in_channels} but the "
                        f"input has {x.shape[0]} channels")
    return x


def bitmap_config(config):
    """The configuration whose fp16 operands a network's activations are encoded with:
    ``config`` itself when its operands are fp16, else the same tiles with fp16 operands and
    fp32 accumulators (the bitmaps depend on the tiles only, so every model of the layer sees
    the same B bitmap)."""
    if config.operand_type == "fp16":
        return config
    return dataclasses.replace(config, operand_type="fp16", accum_type="fp32")


def lowered_activation(x, layer, config):
    """The B operand of ``layer`` for the input ``x`` (``C x H x W``, fp16 values) built as
    the core's online encoding does: ``x`` is bitmap-encoded with the configuration's B tiles
    (:func:`~dstc.sim.im2col.encode_activation`, fp16 operands whatever the configuration's,
    :func:`bitmap_config`) and lowered in the bitmap format (:func:`~dstc.sim.im2col.lower`).
    Returns the :class:`~dstc.sim.im2col.LoweredActivation` (``C*R*S x Ho*Wo``). Raises
    :class:`~dstc.sim.conv_shape.ConvError` when the channels or the shapes do not agree and
    :class:`~dstc.sim.bitmap.OperandError` for values fp16 cannot hold."""
    x = _check_input(x, layer)
    fp16 = bitmap_config(config)
    return lower(encode_activation(x, fp16), layer.shape(x.shape[1], x.shape[2]), fp16)


def lowered_bitmap(active, layer, config):
    """The B operand's bitmap of ``layer`` (``C*R*S x Ho*Wo`` bool) for the input nonzero map
    ``active`` (``C x H x W`` bool), through the bitmap im2col (:func:`lowered_activation`):
    element ``(k, p)`` is set when the lowered input is nonzero there. Raises
    :class:`~dstc.sim.conv_shape.ConvError` when the shapes do not agree."""
    active = np.asarray(active, dtype=bool)
    return lowered_activation(active.astype(np.float16), layer, config).bitmap()


def to_fp16(x):
    """Round to fp16, to nearest even (numpy's cast); values that round to zero become zero."""
    return np.asarray(x).astype(np.float16)


def conv2d(x, a_matrix, bias, layer):
    """The convolution's accumulator values ``out_channels x Ho x Wo`` (float32, before ReLU):
    ``bias[o] + sum_k A[o, k] * im2col(x)[k, p]``, computed as a float32 BLAS matrix product
    on blocks of output rows of the dense im2col (:func:`~dstc.sim.im2col.im2col`; bounded
    memory, about 64 MiB of lowered input at a time).

    ``x``: ``C x H x W`` (fp16 operands in the network, any float dtype accepted);
    ``a_matrix``: ``out_channels x C*R*S`` (:func:`weight_matrix` layout); ``bias``:
    ``out_channels`` (the accumulator's initial value, C of ``D = C + A @ B``). The products of
    fp16 operands are exact in float32; the sums follow BLAS's order. Raises
    :class:`~dstc.sim.conv_shape.ConvError` when the shapes do not agree."""
    x = _check_input(x, layer)
    shape = layer.shape(x.shape[1], x.shape[2])
    a = np.asarray(a_matrix, dtype=np.float32)
    if a.shape != (layer.out_channels, layer.k):
        raise ConvError(f"layer {layer.name!r}: weights are {a.shape}, expected "
                        f"{(layer.out_channels, layer.k)} (out_channels x C*R*S)")
    bias = np.asarray(bias, dtype=np.float32)
    if bias.shape != (layer.out_channels,):
        raise ConvError(f"layer {layer.name!r}: bias is {bias.shape}, expected "
                        f"({layer.out_channels},)")
    ho, wo = shape.out_height, shape.out_width
    out = np.empty((layer.out_channels, ho * wo), dtype=np.float32)
    step = max(1, _LOWER_BLOCK // max(1, layer.k * wo))
    x32 = x.astype(np.float32, copy=False)
    for start in range(0, ho, step):
        stop = min(ho, start + step)
        np.matmul(a, im2col(x32, shape, slice(start, stop)), out=out[:, start * wo:stop * wo])
    out += bias[:, None]
    return out.reshape(layer.out_channels, ho, wo)


def max_pool(x, size):
    """``size x size`` max-pool with stride ``size`` and 'same' padding (Keras' VGG-16: an odd
    edge keeps its partial window) of ``x`` (``C x H x W``); ``size`` 1 returns ``x``."""
    if size == 1:
        return x
    c, h, w = x.shape
    hp, wp = -(-h // size) * size, -(-w // size) * size
    if (hp, wp) != (h, w):
        low = np.finfo(x.dtype).min if np.issubdtype(x.dtype, np.floating) else \
            np.iinfo(x.dtype).min
        x = np.pad(x, ((0, 0), (0, hp - h), (0, wp - w)), constant_values=low)
    return x.reshape(c, hp // size, size, wp // size, size).max(axis=(2, 4))


@dataclasses.dataclass(frozen=True, eq=False)
class LayerActivity:
    """One convolution of :func:`forward`: its operands as the core sees them."""

    index: int              #: position in the network (0-based)
    layer: ConvLayer
    input_size: tuple       #: (H, W) of the layer's input
    input: np.ndarray       #: fp16 ``C x H x W``: the layer's input
    a_matrix: np.ndarray    #: fp16 ``out_channels x C*R*S``: the weights as the core takes them
    a_bitmap: np.ndarray    #: bool ``out_channels x C*R*S``: nonzeros of the fp16 weights
    lowered: object         #: the input encoded and lowered in the bitmap format: B
    b_bitmap: np.ndarray    #: bool ``C*R*S x Ho*Wo``: nonzeros of B (``lowered.bitmap()``)
    input_density: float    #: nonzeros / size of the fp16 input (``C x H x W``)
    flushed: int            #: outputs > 0 in fp32 that round to 0 in fp16 (after ReLU)
    overflowed: int         #: outputs that overflow fp16 (become infinite)
    output: np.ndarray      #: fp16 ``out_channels x H' x W'`` after ReLU and the max-pool


def forward(layers, a_matrices, biases, x, config):
    """Run the convolutions ``layers`` on ``x`` (``C x H x W``), yielding a
    :class:`LayerActivity` per layer (a generator: a caller that drops each record keeps
    about one layer's arrays in memory).

    Every operand is fp16: ``a_matrices`` (``out_channels x C*R*S`` each, already pruned) and
    ``x`` are rounded to fp16; each layer computes :func:`conv2d` (fp32 accumulation, the
    float32 ``biases`` as initial value), ReLU, rounds to fp16 (an fp32 value that rounds to 0
    is a zero of the next layer's bitmap) and max-pools; that is the next layer's input. Each
    layer's input is encoded and lowered in the bitmap format with ``config``'s B tiles
    (:func:`lowered_activation`): the record's ``lowered`` and ``b_bitmap``.
    Raises ``ValueError`` for lists of different lengths or shapes that do not agree (naming
    the layer)."""
    if not len(layers) == len(a_matrices) == len(biases):
        raise ValueError(f"layers ({len(layers)}), a_matrices ({len(a_matrices)}) and biases "
                         f"({len(biases)}) must have the same length")
    x = to_fp16(x)
    for index, (layer, a, bias) in enumerate(zip(layers, a_matrices, biases, strict=True)):
        a16 = to_fp16(a)
        lowered = lowered_activation(x, layer, config)
        accum = conv2d(x, a16, bias, layer)
        relu = np.maximum(accum, np.float32(0))
        with np.errstate(over="ignore"):
            out16 = to_fp16(relu)
        flushed = int(np.count_nonzero((relu > 0) & (out16 == 0)))
        overflowed = int(np.count_nonzero(np.isinf(out16)))
        activity = LayerActivity(
            index=index, layer=layer, input_size=tuple(x.shape[1:]), input=x, a_matrix=a16,
            a_bitmap=a16 != 0, lowered=lowered, b_bitmap=lowered.bitmap(),
            input_density=float(np.count_nonzero(x)) / x.size, flushed=flushed,
            overflowed=overflowed, output=max_pool(out16, layer.pool))
        del accum, relu
        x = activity.output
        yield activity
