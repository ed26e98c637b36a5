"""Named convolution layers shared by the lowering (tb/test_im2col.py) and the golden model
(tb/test_conv.py) tests, as (C, H, W, F, kernel, stride, padding, dilation): ragged sizes,
stride 2 and 3, asymmetric strides, padding 0/1/2, dilation 2 and 3, 1x1 kernels, C = 1 and
C = 3 (a first layer), more filters than a tile row, a kernel as large as the padded input,
single rows and columns, output rows longer than a 64-bit word."""

from dstc.sim.conv_shape import ConvError, ConvShape

LAYERS = {
    "3x3-pad1": (5, 9, 11, 10, (3, 3), 1, 1, 1),
    "first-layer-c3": (3, 12, 13, 6, (3, 3), 1, 1, 1),
    "first-layer-c3-tall": (3, 13, 10, 6, (3, 3), 1, 1, 1),
    "c1": (1, 8, 7, 3, (3, 3), 1, 0, 1),
    "stride2-pad1": (6, 11, 10, 9, (3, 3), 2, 1, 1),
    "stride2-pad1-odd": (6, 11, 13, 5, (3, 3), 2, 1, 1),
    "stride2-pad0-even": (4, 12, 12, 4, (2, 2), 2, 0, 1),
    "stride2-pad2-5x5": (4, 13, 12, 5, (5, 5), 2, 2, 1),
    "stride3-7x7-pad2": (3, 17, 19, 4, (7, 7), 3, 2, 1),
    "dilation2": (4, 10, 11, 5, (3, 3), 1, 2, 2),
    "dilation2-stride2": (3, 12, 13, 4, (3, 3), 2, 1, 2),
    "1x1": (13, 5, 6, 7, (1, 1), 1, 0, 1),
    "1x1-stride2": (6, 7, 9, 3, (1, 1), 2, 0, 1),
    "1x1-pad1": (3, 5, 6, 2, (1, 1), 1, 1, 1),
    "asymmetric": (3, 9, 14, 4, (2, 4), (1, 2), (0, 2), (2, 1)),
    "asymmetric-stride3": (4, 9, 16, 3, (2, 5), (1, 3), (2, 0), (3, 1)),
    "kernel-fills-input": (2, 3, 4, 2, (5, 6), 1, (1, 1), 1),
    "one-pixel": (3, 1, 1, 2, (1, 1), 1, 0, 1),
    "one-row": (3, 1, 20, 2, (1, 3), 1, 0, 1),
    "one-column": (3, 20, 1, 2, (3, 1), 1, (1, 0), 1),
    "wide-rows": (2, 4, 150, 3, (3, 3), 1, 1, 1),
    "wide-rows-stride2": (2, 5, 203, 2, (3, 3), (1, 2), 1, (1, 2)),
    "many-channels": (37, 5, 5, 9, (3, 3), 1, 1, 1),
}

#: The layers tb/test_conv.py runs through the golden model on every preset (the lowering
#: tests take them all).
CONV_LAYERS = ("3x3-pad1", "first-layer-c3", "c1", "stride2-pad1", "stride2-pad2-5x5",
               "dilation2", "dilation2-stride2", "1x1", "1x1-stride2", "asymmetric")


def conv_shape(name):
    """The :class:`~dstc.sim.conv_shape.ConvShape` of the layer called ``name``."""
    channels, height, width, filters, kernel, stride, padding, dilation = LAYERS[name]
    return ConvShape(channels, height, width, filters, kernel, stride, padding, dilation)


def random_shape(rng, highs):
    """A random layer: ``rng.integers(1, highs)`` gives C, H, W, F, the kernel, the stride,
    the padding + 1 and the dilation (the first 12 values, pairs vertical then horizontal); None
    when they make no valid layer (a dilated kernel larger than the padded input)."""
    sizes = rng.integers(1, highs)
    try:
        return ConvShape(*(int(v) for v in sizes[:4]), kernel=tuple(sizes[4:6]),
                         stride=tuple(sizes[6:8]), padding=tuple(sizes[8:10] - 1),
                         dilation=tuple(sizes[10:12]))
    except ConvError:
        return None
