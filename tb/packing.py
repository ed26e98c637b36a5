"""Packing of lane values into the flat bit vectors of generated ports (and back).

Amaranth lays an ``ArrayLayout(shape, n)`` out with element ``i`` at bits
``[i * width, (i + 1) * width)``; nested arrays flatten row by row. These helpers convert
between such vectors (Python ints) and numpy arrays of unsigned raw bits.
"""

import numpy as np

__all__ = ["pack", "unpack", "to_signed"]


def pack(values, width):
    """Pack unsigned raw values (any iterable, first element in the low bits) into an int."""
    mask = (1 << width) - 1
    packed = 0
    for value in reversed([int(v) for v in np.ravel(values)]):
        packed = (packed << width) | (value & mask)
    return packed


def unpack(packed, width, count):
    """Split ``packed`` into ``count`` unsigned ``width``-bit values (uint64 array)."""
    packed = int(packed)
    mask = (1 << width) - 1
    return np.array([(packed >> (i * width)) & mask for i in range(count)], dtype=np.uint64)


def to_signed(values, width):
    """Reinterpret unsigned ``width``-bit raw values as signed (int64 array)."""
    values = np.asarray(values, dtype=np.int64)
    return np.where(values >= (1 << (width - 1)), values - (1 << width), values)
