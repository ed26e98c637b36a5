"""Amaranth shapes of the configuration's number types (one place, used by every block)."""

from amaranth import signed, unsigned

__all__ = ["number_shape", "operand_shape", "product_shape", "accum_shape", "index_shape"]


def number_shape(number_type):
    """``signed(N)`` for ``intN``; raw ``unsigned(width)`` bits for a float type."""
    if number_type.is_float:
        return unsigned(number_type.width)
    return signed(number_type.width)


def operand_shape(config):
    """Shape of one A or B value."""
    return number_shape(config.operand)


def product_shape(config):
    """Shape of one exact product (``int(2N)``, or fp32 for fp16 operands)."""
    return number_shape(config.product)


def accum_shape(config):
    """Shape of one accumulator cell."""
    return number_shape(config.accum)


def index_shape(size):
    """Shape of a position in ``range(size)`` (at least one bit)."""
    return unsigned(max(1, (size - 1).bit_length()))
