"""The shape of a convolution layer and its lowering to a GEMM (numpy only).

A layer convolves an activation ``x`` of ``C x H x W`` (channels, rows, columns; row-major
pixels) with weights ``w`` of ``F x C x R x S`` (output channels, input channels, kernel rows,
kernel columns) into ``F x OH x OW`` outputs, as deep-learning frameworks do (cross-correlation,
no kernel flip)::

    out[f, oy, ox] = sum over c, r, s of w[f, c, r, s] * xp[c, oy*sh + r*dh, ox*sw + s*dw]

where ``xp`` is ``x`` with ``ph`` zero rows above and below and ``pw`` zero columns left and
right. As a GEMM ``D = A @ B`` (docs/workloads.md, "Sparse convolution"):

* A is ``F x K`` with ``K = C * R * S``, column ``k = c*R*S + r*S + s`` (``w.reshape(F, K)``);
* B is ``K x P`` with ``P = OH * OW``, column ``p = oy*OW + ox`` (row-major output pixels), and
  ``B[k, p] = xp[c, oy*sh + r*dh, ox*sw + s*dw]`` (the *im2col* of ``x``);
* D is ``F x P``, which reshapes to the ``F x OH x OW`` output, the next layer's ``C x H x W``.

Invalid shapes raise :class:`ConvError` naming the argument, the value and the rule.
"""

import dataclasses
import numbers

__all__ = ["ConvError", "ConvShape", "check_count", "check_geometry"]


class ConvError(ValueError):
    """A convolution argument that is out of range or disagrees with another one."""


def _pair(name, value, minimum):
    """``value`` (an int or a pair of ints) as a ``(vertical, horizontal)`` pair."""
    pair = (value, value) if not isinstance(value, tuple | list) else tuple(value)
    if len(pair) != 2:
        raise ConvError(f"{name}={value!r}: must be an integer or a pair (vertical, horizontal)")
    for item in pair:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise ConvError(f"{name}={value!r}: must be an integer or a pair of integers")
        if item < minimum:
            rule = "positive" if minimum == 1 else "at least 0"
            raise ConvError(f"{name}={value!r}: must be {rule}")
    return int(pair[0]), int(pair[1])


def check_count(name, value):
    """``value`` as an int if it is a positive integer; else raises :class:`ConvError`
    naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConvError(f"{name}={value!r}: must be a positive integer")
    return int(value)


#: The geometry of a convolution's kernel, with the least value of each: kernel, stride and
#: dilation positive, padding non-negative.
_GEOMETRY = (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1))


def check_geometry(kernel, stride, padding, dilation):
    """The kernel, stride, padding and dilation (each an int or a ``(vertical, horizontal)``
    pair) as four pairs of ints. Raises :class:`ConvError` naming the argument for a kernel,
    stride or dilation that is not positive, a negative padding, or a value that is not an
    integer or a pair of them."""
    return tuple(_pair(name, value, minimum)
                 for (name, minimum), value in zip(_GEOMETRY, (kernel, stride, padding,
                                                              dilation), strict=True))


@dataclasses.dataclass(frozen=True)
class ConvShape:
    """One convolution layer's shape, validated on construction.

    ``channels`` (C), ``height`` (H), ``width`` (W): the input activation; ``filters`` (F):
    output channels; ``kernel`` (R, S); ``stride``, ``padding`` and ``dilation``: an int or a
    ``(vertical, horizontal)`` pair, stored as pairs. Raises :class:`ConvError` for a size,
    stride or dilation that is not a positive integer, a negative padding, or a (dilated)
    kernel larger than the padded input.
    """

    channels: int
    height: int
    width: int
    filters: int
    kernel: tuple = (3, 3)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)

    def __post_init__(self):
        for name in ("channels", "height", "width", "filters"):
            object.__setattr__(self, name, check_count(name, getattr(self, name)))
        geometry = check_geometry(self.kernel, self.stride, self.padding, self.dilation)
        for (name, _), pair in zip(_GEOMETRY, geometry, strict=True):
            object.__setattr__(self, name, pair)
        for axis, size, padding, span in (("height", self.height, self.padding[0],
                                           self.kernel_span[0]),
                                          ("width", self.width, self.padding[1],
                                           self.kernel_span[1])):
            if span > size + 2 * padding:
                raise ConvError(
                    f"kernel={self.kernel} with dilation={self.dilation} spans {span} "
                    f"{'rows' if axis == 'height' else 'columns'}: must fit in the padded "
                    f"input ({axis} {size} + 2 x padding {padding} = {size + 2 * padding})")

    @property
    def kernel_span(self):
        """Rows and columns covered by the dilated kernel: ``(R-1)*dh + 1, (S-1)*dw + 1``."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilation, strict=True))

    @property
    def out_height(self):
        """OH = (H + 2 ph - span_h) // sh + 1."""
        return (self.height + 2 * self.padding[0] - self.kernel_span[0]) // self.stride[0] + 1

    @property
    def out_width(self):
        """OW = (W + 2 pw - span_w) // sw + 1."""
        return (self.width + 2 * self.padding[1] - self.kernel_span[1]) // self.stride[1] + 1

    @property
    def k(self):
        """GEMM depth ``K = C * R * S``."""
        return self.channels * self.kernel[0] * self.kernel[1]

    @property
    def pixels(self):
        """GEMM width ``P = OH * OW`` (output pixels)."""
        return self.out_height * self.out_width

    @property
    def gemm_shape(self):
        """``(M, N, K) = (F, OH * OW, C * R * S)``, the order ``dstc.sim.gemm_cycles`` uses."""
        return self.filters, self.pixels, self.k

    @property
    def input_shape(self):
        """``(C, H, W)``."""
        return self.channels, self.height, self.width

    @property
    def weight_shape(self):
        """``(F, C, R, S)``."""
        return (self.filters, self.channels) + self.kernel

    @property
    def output_shape(self):
        """``(F, OH, OW)``."""
        return self.filters, self.out_height, self.out_width

    @property
    def macs(self):
        """Multiply-accumulates of the dense layer: ``F * K * P``."""
        return self.filters * self.k * self.pixels

    def describe(self):
        """One line: ``CxHxW -> FxOHxOW, RxS kernel, stride, padding, dilation``."""
        return (f"{self.channels}x{self.height}x{self.width} -> {self.filters}x"
                f"{self.out_height}x{self.out_width}, {self.kernel[0]}x{self.kernel[1]} kernel, "
                f"stride {self.stride[0]},{self.stride[1]}, padding {self.padding[0]},"
                f"{self.padding[1]}, dilation {self.dilation[0]},{self.dilation[1]}")

    @classmethod
    def of(cls, weight_shape, input_shape, stride=1, padding=0, dilation=1):
        """The layer of weights ``(F, C, R, S)`` on an input ``(C, H, W)``; raises
        :class:`ConvError` when the arrays are not 4-D and 3-D or their channels differ."""
        weight_shape, input_shape = tuple(weight_shape), tuple(input_shape)
        if len(weight_shape) != 4:
            raise ConvError(f"weights shape {weight_shape}: must be 4-D (F, C, R, S)")
        if len(input_shape) != 3:
            raise ConvError(f"activation shape {input_shape}: must be 3-D (C, H, W)")
        if weight_shape[1] != input_shape[0]:
            raise ConvError(
                f"weights shape {weight_shape}: its {weight_shape[1]} input channels must "
                f"equal the activation's {input_shape[0]} channels (activation shape "
                f"{input_shape})")
        return cls(channels=input_shape[0], height=input_shape[1], width=input_shape[2],
                   filters=weight_shape[0], kernel=weight_shape[2:], stride=stride,
                   padding=padding, dilation=dilation)
