"""Sparse convolution (SpCONV) on the core: golden model and exact cycles (numpy only).

A layer (:class:`~dstc.sim.conv_shape.ConvShape`) runs as the SpGEMM ``D = C + A @ B`` with the
weights as A (``F x K``, ``K = C*R*S``, column ``k = c*R*S + r*S + s``) and the activation
lowered in the bitmap format as B (``K x P``, :func:`~dstc.sim.im2col.lower`), so

* :func:`conv2d` is bit-exact with the core: it is :func:`~dstc.sim.golden.spgemm` of the
  encoded weights and the lowered activation, with the configuration's arithmetic (integers
  wrap to the accumulator width; fp16 products are exact in fp32 and accumulate in k order);
* :func:`conv_reference` is the dense product in the same k order
  (:func:`~dstc.sim.golden.dense_reference` of the dense im2col), the reference a float
  result is compared with bit for bit;
* :func:`conv_cycles` is the layer's cycles on the core from the two bitmaps
  (:func:`~dstc.sim.gemm_cycles.gemm_cycles`, exactly the command-level model), beside the
  dense-mode, dense-baseline and 2:4 structured-sparse cycles, as a :class:`ConvCycles`.

Bad input raises :class:`~dstc.sim.conv_shape.ConvError` (a ``ValueError``) naming the argument,
the value and the rule; values or encodings that do not fit the configuration (out of the
operand range, non-integers for ``intN``, finite values beyond fp16, an activation encoded or
lowered for other tiles) raise :class:`~dstc.sim.bitmap.OperandError` (a ``ValueError`` too).
"""

import dataclasses
import numbers

import numpy as np

from .arith import Arithmetic
from .bitmap import OperandError, check_operand, encode_a
from .conv_shape import ConvError, ConvShape
from .gemm_cycles import (
    dense_baseline_cycles,
    dense_mode_cycles,
    gemm_cycles,
    speedup,
    structured_24_cycles,
)
from .golden import dense_reference, spgemm
from .im2col import ActivationBitmap, LoweredActivation, encode_activation, im2col, lower

__all__ = ["ConvResult", "conv2d", "conv_reference", "tile_operands", "LayerCycles",
           "layer_cycles", "ConvCycles", "conv_cycles", "check_density", "random_conv_operands"]


@dataclasses.dataclass(frozen=True, eq=False)
class ConvResult:
    """What :func:`conv2d` computed: ``output`` (``F x OH x OW``, accumulator values), the
    layer's ``shape``, the ``lowered`` activation and the ``gemm``
    (:class:`~dstc.sim.golden.SpgemmResult`, ``d`` being ``F x OH*OW``)."""

    output: np.ndarray
    shape: ConvShape
    lowered: LoweredActivation
    gemm: object


def _activation(activation, config, arith):
    if isinstance(activation, ActivationBitmap):
        return activation
    return encode_activation(activation, config, arith)


def _lowered(lowered, config):
    """``lowered`` checked: a :class:`LoweredActivation` built for ``config``'s B tiles."""
    if not isinstance(lowered, LoweredActivation):
        raise ConvError(f"lowered: must be a LoweredActivation (dstc.sim.im2col.lower), not "
                        f"{type(lowered).__name__}")
    want = (config.k_chunk, config.tile_n)
    if tuple(lowered.tile_shape) != want:
        got = "x".join(str(size) for size in lowered.tile_shape)
        raise OperandError(f"lowered: lowered for tile {got} (k_chunk x tile_n), the "
                           f"configuration needs {want[0]}x{want[1]}")
    return lowered


def _weights(weights, arith):
    weights = arith.operands(weights, "weights")
    if weights.ndim != 4:
        raise ConvError(f"weights shape {weights.shape}: must be 4-D (F, C, R, S)")
    return weights


def _bias(bias, shape, arith):
    if bias is None:
        return None
    bias = arith.accumulators(bias, "bias")
    if bias.shape != (shape.filters,):
        raise ConvError(f"bias shape {bias.shape}: must be ({shape.filters},), one per filter")
    return np.repeat(bias[:, None], shape.pixels, axis=1)


def conv2d(weights, activation, config, stride=1, padding=0, dilation=1, bias=None,
           arith=None):
    """The layer through the core's golden model: ``out = bias + conv(weights, activation)``.

    ``weights``: ``F x C x R x S`` operand values; ``activation``: a dense ``C x H x W`` array
    or an :class:`~dstc.sim.im2col.ActivationBitmap`; ``stride``, ``padding``, ``dilation``:
    an int or a (vertical, horizontal) pair; ``bias``: ``F`` accumulator values loaded as C
    (default none: the tile starts cleared). Returns a :class:`ConvResult` whose ``output``
    (``F x OH x OW``) is bit-exact with the core. Raises
    :class:`~dstc.sim.conv_shape.ConvError` for shapes that do not agree or bad strides,
    padding or dilation, and :class:`~dstc.sim.bitmap.OperandError` for values the operand or
    accumulator type cannot hold or an activation encoded for another configuration.
    """
    arith = arith or Arithmetic(config)
    weights = _weights(weights, arith)
    activation = _activation(activation, config, arith)
    shape = ConvShape.of(weights.shape, activation.shape, stride, padding, dilation)
    lowered = lower(activation, shape, config)
    gemm = spgemm(encode_a(weights.reshape(shape.filters, shape.k), config),
                  lowered.to_encoded(), config, c=_bias(bias, shape, arith), arith=arith)
    return ConvResult(output=gemm.d.reshape(shape.output_shape), shape=shape, lowered=lowered,
                      gemm=gemm)


def conv_reference(weights, activation, config, stride=1, padding=0, dilation=1, bias=None,
                   arith=None):
    """The dense layer, zeros included, accumulated in k order (``k = c*R*S + r*S + s``):
    :func:`~dstc.sim.golden.dense_reference` of the weights and the dense im2col. Integers:
    exact, wrapped to the accumulator width; fp16: each product exact in fp32, added in k order
    with fp32 round-to-nearest-even, so it equals :func:`conv2d` bit for bit except where
    skipped zeros matter (``0 x inf``, ``-0``; see ``dstc.sim.golden``). Arguments and errors
    as :func:`conv2d`; returns the ``F x OH x OW`` array."""
    arith = arith or Arithmetic(config)
    weights = _weights(weights, arith)
    if isinstance(activation, ActivationBitmap):
        check_operand(activation.operand, "B", config, "activation")
        x = activation.decode()
    else:
        x = arith.operands(activation, "activation")
    if x.ndim != 3:
        raise ConvError(f"activation shape {x.shape}: must be 3-D (C, H, W)")
    shape = ConvShape.of(weights.shape, x.shape, stride, padding, dilation)
    d = dense_reference(weights.reshape(shape.filters, shape.k), im2col(x, shape), config,
                        c=_bias(bias, shape, arith), arith=arith)
    return d.reshape(shape.output_shape)


def tile_operands(weights, lowered, config, tile_row, tile_column, arith=None):
    """The GEMM of one output tile ``(tile_row, tile_column)`` of a layer, for running sampled
    tiles: ``(a, b)``, the encoded weight rows ``tile_row*tile_m ...`` (``tile_m x K``, fewer
    in the last tile row) and ``lowered.column_tile(tile_column)`` (``K x tile_n``, fewer in
    the last tile column). Their product is the output's filters ``tile_row*tile_m ...`` at
    pixels ``tile_column*tile_n ...`` (``D = F x OH*OW``), bit for bit. Raises
    :class:`~dstc.sim.conv_shape.ConvError` for weights that do not match the layer or a tile
    index out of range, and :class:`~dstc.sim.bitmap.OperandError` for weight values the
    operand type cannot hold or a ``lowered`` built for another configuration's tiles or
    operand type."""
    arith = arith or Arithmetic(config)
    lowered = _lowered(lowered, config)
    if lowered.values.dtype != arith.operand_dtype:
        raise OperandError(f"lowered: holds {lowered.values.dtype} values, the configuration's "
                           f"{config.operand_type} operands are {arith.operand_dtype}")
    weights = _weights(weights, arith)
    shape = lowered.shape
    if weights.shape != shape.weight_shape:
        raise ConvError(f"weights shape {weights.shape}: the layer's weights are "
                        f"{shape.weight_shape} (F, C, R, S)")
    rows = -(-shape.filters // config.tile_m)
    if isinstance(tile_row, bool) or not isinstance(tile_row, numbers.Integral) or not (
            0 <= tile_row < rows):
        raise ConvError(f"tile_row={tile_row!r}: must be a weight tile row in [0, {rows})")
    start = int(tile_row) * config.tile_m
    a = weights.reshape(shape.filters, shape.k)[start:start + config.tile_m]
    return encode_a(a, config), lowered.column_tile(tile_column)


@dataclasses.dataclass(frozen=True)
class LayerCycles:
    """A layer's GEMM ``D = C + A @ B`` on the core and on the cores it is compared with,
    from the exact cycle model. Cycles are whole-layer cycles."""

    shape: tuple                 #: (M, N, K)
    density_a: float             #: nonzeros / size of A (the weights as loaded)
    density_b: float             #: nonzeros / size of B (the lowered activations)
    cycles: int                  #: the sparse core (exact model, equal to the command level)
    dense_mode_cycles: int       #: the same core in dense mode
    dense_baseline_cycles: int   #: the iso-MAC dense core
    structured_24_cycles: int    #: an NVIDIA-style 2:4 sparse core (A pruned 2:4, B dense)
    useful_macs: int             #: products of two nonzeros
    ohmma: int                   #: OHMMA issued
    tiles_issued: int            #: SpWMMA sent
    tiles_skipped: int           #: tile pairs skipped by the coarse bitmaps
    macs: int                    #: multipliers of the core (for the utilisation)

    @property
    def speedup(self):
        """Dense-mode cycles / cycles (NaN at 0 cycles)."""
        return self.dense_mode_cycles / self.cycles if self.cycles else float("nan")

    @property
    def speedup_vs_baseline(self):
        """Dense-baseline cycles / cycles (NaN at 0 cycles)."""
        return self.dense_baseline_cycles / self.cycles if self.cycles else float("nan")

    @property
    def ideal_speedup(self):
        """``1 / (density_a * density_b)`` (infinite when either is 0)."""
        product = self.density_a * self.density_b
        return 1 / product if product else float("inf")

    @property
    def speedup_24(self):
        """Dense-baseline cycles / 2:4 cycles."""
        return self.dense_baseline_cycles / self.structured_24_cycles

    @property
    def utilisation(self):
        """Useful MACs / (cycles * multipliers) (0.0 when nothing useful is computed)."""
        return self.useful_macs / (self.cycles * self.macs) if self.useful_macs else 0.0


def layer_cycles(a_bitmap, b_bitmap, config, cost=None, with_c=True):
    """The :class:`LayerCycles` of a layer from its operands' bitmaps: ``a_bitmap``
    (``M x K`` bool, the weights) and ``b_bitmap`` (``K x N`` bool, the lowered activations).
    ``cost``: the k-step cost (:class:`~dstc.sim.gemm_cycles.KstepCost`, default the core's
    chunk count); ``with_c``: the output tiles start from a bias loaded with ``tile_m``
    LOAD_ROW (else one CLEAR), in every model. Raises :class:`~dstc.sim.conv_shape.ConvError`
    when the shapes do not agree."""
    a_bitmap, b_bitmap = np.asarray(a_bitmap), np.asarray(b_bitmap)
    if a_bitmap.ndim != 2 or b_bitmap.ndim != 2 or a_bitmap.shape[1] != b_bitmap.shape[0]:
        raise ConvError(f"a_bitmap {a_bitmap.shape} and b_bitmap {b_bitmap.shape}: must be "
                        f"M x K and K x N")
    (m, k), n = a_bitmap.shape, b_bitmap.shape[1]
    shape = (m, n, k)
    fast = gemm_cycles(a_bitmap, b_bitmap, config, cost=cost, with_c=with_c)
    return LayerCycles(
        shape=shape, density_a=float(np.count_nonzero(a_bitmap)) / a_bitmap.size,
        density_b=float(np.count_nonzero(b_bitmap)) / b_bitmap.size, cycles=fast.cycles,
        dense_mode_cycles=dense_mode_cycles(shape, config, with_c=with_c),
        dense_baseline_cycles=dense_baseline_cycles(shape, config, with_c=with_c),
        structured_24_cycles=structured_24_cycles(shape, config, with_c=with_c),
        useful_macs=fast.useful_macs, ohmma=fast.ohmma, tiles_issued=fast.tiles_issued,
        tiles_skipped=fast.tiles_skipped, macs=config.macs)


@dataclasses.dataclass(frozen=True)
class ConvCycles:
    """One layer on the core, from the exact cycle model (what ``dstc network`` and
    ``dstc conv`` print). Cycles are whole-layer cycles; ratios are plain floats."""

    shape: ConvShape
    gemm_shape: tuple              #: (M, N, K) = (F, OH*OW, C*R*S)
    density_weights: float         #: nonzeros of A / (F * K)
    density_lowered: float         #: nonzeros of B / (K * P) (padding zeros included)
    cycles: int                    #: the sparse core (exact cycle model)
    dense_mode_cycles: int         #: the same core in dense mode
    dense_baseline_cycles: int     #: the iso-MAC Volta-style dense core
    structured_24_cycles: int      #: an NVIDIA-style 2:4 sparse core (weights 2:4, B dense)
    speedup: float                 #: dense_mode_cycles / cycles (inf at 0 cycles)
    speedup_vs_baseline: float     #: dense_baseline_cycles / cycles (inf at 0 cycles)
    ideal_speedup: float           #: 1 / (density_weights * density_lowered) (inf at 0)
    speedup_24: float              #: dense_baseline_cycles / structured_24_cycles
    utilisation: float             #: useful MACs / (cycles * macs) (0.0 at 0 cycles)
    useful_macs: int               #: products of two nonzeros
    ohmma: int                     #: OHMMA issued
    tiles_issued: int              #: SpWMMA issued
    tiles_skipped: int             #: tile pairs skipped by the coarse bitmaps


def conv_cycles(weights, lowered, config, cost=None, with_c=False):
    """Cycles of one layer on the core, from its bitmaps alone.

    ``weights``: ``F x C x R x S`` (nonzero elements, or a bool map of them); ``lowered``: the
    layer's :class:`~dstc.sim.im2col.LoweredActivation` (:func:`~dstc.sim.im2col.lower`),
    which carries the layer's shape; ``cost``: a :class:`~dstc.sim.gemm_cycles.KstepCost`
    (default: the core's chunk cost); ``with_c``: the output tiles start from a bias loaded
    with ``tile_m`` LOAD_ROW (else one CLEAR). Returns a :class:`ConvCycles`; its ``cycles``
    equal the command-level model of the layer's GEMM. Raises
    :class:`~dstc.sim.conv_shape.ConvError` when the weights do not match the layer, and
    :class:`~dstc.sim.bitmap.OperandError` for a ``lowered`` built for other tiles.
    """
    lowered = _lowered(lowered, config)
    shape = lowered.shape
    weights = np.asarray(weights)
    if weights.shape != shape.weight_shape:
        raise ConvError(f"weights shape {weights.shape}: the layer's weights are "
                        f"{shape.weight_shape} (F, C, R, S)")
    a_bitmap = Arithmetic.is_nonzero(weights).reshape(shape.filters, shape.k)
    layer = layer_cycles(a_bitmap, lowered.bitmap(), config, cost=cost, with_c=with_c)
    return ConvCycles(
        shape=shape, gemm_shape=shape.gemm_shape, density_weights=layer.density_a,
        density_lowered=lowered.density, cycles=layer.cycles,
        dense_mode_cycles=layer.dense_mode_cycles,
        dense_baseline_cycles=layer.dense_baseline_cycles,
        structured_24_cycles=layer.structured_24_cycles,
        speedup=speedup(layer.dense_mode_cycles, layer.cycles),
        speedup_vs_baseline=speedup(layer.dense_baseline_cycles, layer.cycles),
        ideal_speedup=layer.ideal_speedup, speedup_24=layer.speedup_24,
        utilisation=layer.utilisation, useful_macs=layer.useful_macs, ohmma=layer.ohmma,
        tiles_issued=layer.tiles_issued, tiles_skipped=layer.tiles_skipped)


def check_density(name, value):
    """``value`` as a float in [0, 1]; raises :class:`~dstc.sim.conv_shape.ConvError` naming
    ``name`` otherwise (NaN, inf, non-numbers included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ConvError(f"{name}={value!r}: must be a number in [0, 1]")
    return float(value)


def random_conv_operands(shape, config, density_weights, density_activation, rng):
    """Random weights (``F x C x R x S``) and activation (``C x H x W``) for the layer
    ``shape``: each element nonzero with the given probability, nonzero values uniform over
    the operand type's nonzero integers (intN) or standard normal rounded to fp16 (zeros
    redrawn as 1). ``rng``: a ``numpy.random.Generator``. Returns ``(weights, activation)``
    as operand values. Raises :class:`~dstc.sim.conv_shape.ConvError` for a density outside
    [0, 1] or a ``shape`` that is not a :class:`~dstc.sim.conv_shape.ConvShape`."""
    if not isinstance(shape, ConvShape):
        raise ConvError(f"shape: must be a ConvShape, not {type(shape).__name__}")
    densities = (check_density("density_weights", density_weights),
                 check_density("density_activation", density_activation))
    arith = Arithmetic(config)
    out = []
    for dims, density in zip((shape.weight_shape, shape.input_shape), densities, strict=True):
        if arith.is_float:
            values = rng.standard_normal(dims).astype(np.float16)
            values[values == 0] = 1
        else:
            half = 1 << (config.operand.width - 1)
            values = rng.integers(-half, half - 1, size=dims, endpoint=True)
            values[values == 0] = half - 1
        mask = rng.random(dims) < density
        out.append(arith.operands(np.where(mask, values, np.zeros((), values.dtype))))
    return tuple(out)
