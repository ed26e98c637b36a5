"""The core's command and response formats (see docs/isa.md).

One command per beat on the ``cmd`` stream: a 4-bit opcode and a body whose meaning depends
on it (a union). Drained rows leave on the ``rsp`` stream. The layouts are functions of the
configuration and are the single definition used by the hardware and the testbenches.
"""

from amaranth.lib import data

from ..sim.dense_model import DOT_LENGTH
from ..sim.isa import ErrorFlag, Opcode
from .shapes import accum_shape, index_shape, operand_shape

__all__ = ["Opcode", "ErrorFlag", "ERROR_WIDTH", "COUNTER_WIDTH", "command_layout",
           "response_layout", "kstep_layout", "ohmma_layout", "header_layout", "load_layout",
           "drain_layout", "DOT_LENGTH", "dense_group_layout", "dense_command_layout",
           "dense_response_layout"]

#: Width of each performance counter.
COUNTER_WIDTH = 48


ERROR_WIDTH = len(ErrorFlag)


def header_layout(config):
    """SPWMMA body: ``a_bitmaps[k]`` (``tile_m`` bits: A column k) and ``b_bitmaps[k]``
    (``tile_n`` bits: B row k) for the tile's ``k_chunk`` k-steps."""
    return data.StructLayout({
        "a_bitmaps": data.ArrayLayout(config.tile_m, config.k_chunk),
        "b_bitmaps": data.ArrayLayout(config.tile_n, config.k_chunk),
    })


def kstep_layout(config):
    """KSTEP and DENSE body: ``k``, the producer's nonzero counts, and the condensed A column
    and B row (slots past the counts are ignored). DENSE uses only the values, all of them."""
    operand = operand_shape(config)
    return data.StructLayout({
        "k": index_shape(config.k_chunk),
        "a_count": range(config.tile_m + 1),
        "b_count": range(config.tile_n + 1),
        "a_values": data.ArrayLayout(operand, config.tile_m),
        "b_values": data.ArrayLayout(operand, config.tile_n),
    })


def ohmma_layout(config):
    """OHMMA body: ``array_rows`` A values with their rows and valid bits, ``array_cols`` B
    values with their columns and valid bits."""
    operand = operand_shape(config)
    return data.StructLayout({
        "a_values": data.ArrayLayout(operand, config.array_rows),
        "a_rows": data.ArrayLayout(index_shape(config.tile_m), config.array_rows),
        "a_valid": config.array_rows,
        "b_values": data.ArrayLayout(operand, config.array_cols),
        "b_cols": data.ArrayLayout(index_shape(config.tile_n), config.array_cols),
        "b_valid": config.array_cols,
    })


def load_layout(config):
    """LOAD_ROW body: ``row`` and its ``tile_n`` accumulator values."""
    return data.StructLayout({
        "row": index_shape(config.tile_m),
        "values": data.ArrayLayout(accum_shape(config), config.tile_n),
    })


def drain_layout(config):
    """DRAIN body: apply ReLU, and/or send each row bitmap-encoded."""
    return data.StructLayout({"relu": 1, "encode": 1})


def command_layout(config):
    """One command beat: ``opcode`` (4 bits, low) and ``body``."""
    return data.StructLayout({
        "opcode": 4,
        "body": data.UnionLayout({
            "header": header_layout(config),
            "kstep": kstep_layout(config),
            "ohmma": ohmma_layout(config),
            "load": load_layout(config),
            "drain": drain_layout(config),
        }),
    })


def response_layout(config):
    """One drained row: its index, whether it is the last, whether ``values`` is encoded,
    the row's nonzero ``bitmap`` and ``count``, and ``values`` (the row, or its nonzeros
    packed in position order when encoded)."""
    return data.StructLayout({
        "row": index_shape(config.tile_m),
        "last": 1,
        "encoded": 1,
        "count": range(config.tile_n + 1),
        "bitmap": config.tile_n,
        "values": data.ArrayLayout(accum_shape(config), config.tile_n),
    })


# -- the dense baseline (hw/dense_core.py) -----------------------------------------------------

def dense_group_layout(config):
    """Dense-baseline DENSE body: ``DOT_LENGTH`` consecutive k-steps of the tile, A as
    ``a_values[i][kk]`` (``tile_m`` rows of ``DOT_LENGTH``) and B as ``b_values[kk][j]``
    (``DOT_LENGTH`` rows of ``tile_n``)."""
    operand = operand_shape(config)
    return data.StructLayout({
        "a_values": data.ArrayLayout(data.ArrayLayout(operand, DOT_LENGTH), config.tile_m),
        "b_values": data.ArrayLayout(data.ArrayLayout(operand, config.tile_n), DOT_LENGTH),
    })


def dense_command_layout(config):
    """One command beat of the dense baseline: ``opcode`` (4 bits, low) and ``body``."""
    return data.StructLayout({
        "opcode": 4,
        "body": data.UnionLayout({
            "group": dense_group_layout(config),
            "load": load_layout(config),
        }),
    })


def dense_response_layout(config):
    """One drained row of the dense baseline: its index, whether it is the last, ``values``."""
    return data.StructLayout({
        "row": index_shape(config.tile_m),
        "last": 1,
        "values": data.ArrayLayout(accum_shape(config), config.tile_n),
    })
