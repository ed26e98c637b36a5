"""Every packed format of both cores (see docs/isa.md): the single definition used by the
hardware and the testbenches, each a function of the configuration.

* The command and response beats: one command per beat on the ``cmd`` stream, a 4-bit
  opcode and a body whose meaning depends on it (a union); drained rows leave on ``rsp``.
* The sparse core's internal pipeline formats, all built on one lane placement
  (:func:`placement_layout`): a k-step of work for the chunk sequencer
  (:func:`work_layout`), one issued OHMMA (:func:`issue_layout`) and the products with
  their destinations for the accumulator (:func:`scatter_layout`).
"""

from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..sim.isa import DOT_LENGTH, ErrorFlag, Opcode
from .shapes import accum_shape, index_shape, operand_shape, product_shape

__all__ = ["Opcode", "ErrorFlag", "ERROR_WIDTH", "COUNTER_WIDTH", "placement_layout",
           "command_layout", "response_layout", "kstep_layout", "ohmma_layout",
           "header_layout", "load_layout", "drain_layout", "work_layout", "issue_layout",
           "scatter_layout", "dense_group_layout", "dense_command_layout",
           "dense_response_layout", "core_signature"]

#: Width of each performance counter.
COUNTER_WIDTH = 48


#: Width of the ``errors`` output: one sticky bit per :class:`ErrorFlag`.
ERROR_WIDTH = len(ErrorFlag)


def placement_layout(config):
    """Where the lanes of one OHMMA land in the tile.

    A lane row ``r`` (of ``array_rows``) goes to tile row ``rows[r]`` and takes part when
    ``row_valid[r]``; a lane column ``c`` (of ``array_cols``) goes to tile column ``cols[c]``
    and takes part when ``col_valid[c]``. Valid rows must be distinct, and so must valid
    columns (the OHMMA command checks it; the decoded bitmaps guarantee it).
    """
    return data.StructLayout({
        "rows": data.ArrayLayout(index_shape(config.tile_m), config.array_rows),
        "row_valid": config.array_rows,
        "cols": data.ArrayLayout(index_shape(config.tile_n), config.array_cols),
        "col_valid": config.array_cols,
    })


def header_layout(config):
    """SPWMMA body: ``a_bitmaps[k]`` (``tile_m`` bits: A column k) and ``b_bitmaps[k]``
    (``tile_n`` bits: B row k) for the tile's ``k_chunk`` k-steps."""
    return data.StructLayout({
        "a_bitmaps": data.ArrayLayout(config.tile_m, config.k_chunk),
        "b_bitmaps": data.ArrayLayout(config.tile_n, config.k_chunk),
    })


def kstep_layout(config):
    """KSTEP and DENSE body: ``k``, the producer's nonzero counts, and the condensed A column
    and B row (slots past the counts are ignored). DENSE uses only the values, all of them.

    With ``kstep_bitmaps="inline"`` the body also carries the k-step's ``a_bitmap``
    (``tile_m`` bits, the A column) and ``b_bitmap`` (``tile_n`` bits, the B row), after the
    values so that every other field keeps its offset; ``k`` then stays, ignored by the core
    (as DENSE ignores it)."""
    operand = operand_shape(config)
    fields = {
        "k": index_shape(config.k_chunk),
        "a_count": range(config.tile_m + 1),
        "b_count": range(config.tile_n + 1),
        "a_values": data.ArrayLayout(operand, config.tile_m),
        "b_values": data.ArrayLayout(operand, config.tile_n),
    }
    if config.inline_kstep:
        fields.update(a_bitmap=config.tile_m, b_bitmap=config.tile_n)
    return data.StructLayout(fields)


def _lanes_layout(config):
    """``array_rows`` A values and ``array_cols`` B values, with their placement."""
    operand = operand_shape(config)
    return data.StructLayout({
        "a_values": data.ArrayLayout(operand, config.array_rows),
        "b_values": data.ArrayLayout(operand, config.array_cols),
        "placement": placement_layout(config),
    })


def ohmma_layout(config):
    """OHMMA body: ``a_values`` (``array_rows`` A values), ``b_values`` (``array_cols`` B
    values) and their ``placement`` (:func:`placement_layout`)."""
    return _lanes_layout(config)


def load_layout(config):
    """LOAD_ROW body: ``row`` and its ``tile_n`` accumulator values."""
    return data.StructLayout({
        "row": index_shape(config.tile_m),
        "values": data.ArrayLayout(accum_shape(config), config.tile_n),
    })


def drain_layout(config):
    """DRAIN body: apply ReLU, round each value to fp16 (``fp16``: fp32 accumulators only,
    an integer core ignores the bit), and/or send each row bitmap-encoded."""
    return data.StructLayout({"relu": 1, "encode": 1, "fp16": 1})


def command_layout(config):
    """One command beat: ``opcode`` (4 bits, low) and ``body``, the union of the bodies:
    ``header`` (SPWMMA; absent with ``kstep_bitmaps="inline"``, which has no SPWMMA),
    ``kstep``, ``ohmma``, ``load`` and ``drain``."""
    bodies = {} if config.inline_kstep else {"header": header_layout(config)}
    bodies.update(kstep=kstep_layout(config), ohmma=ohmma_layout(config),
                  load=load_layout(config), drain=drain_layout(config))
    return data.StructLayout({"opcode": 4, "body": data.UnionLayout(bodies)})


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


# -- the sparse core's pipeline (hw/chunk_sequencer.py, hw/accumulator.py) ---------------------

def work_layout(config):
    """One k-step of work for the chunk sequencer.

    ``a_bitmap``/``b_bitmap`` (``tile_m``/``tile_n`` bits) place the condensed
    ``a_values``/``b_values``; ``a_chunks`` and ``b_chunks`` (>= 1) are how many chunks of
    ``array_rows``/``array_cols`` they fill. With ``direct`` set, the work is a single OHMMA
    whose lanes are the first slots of the values, placed by ``placement``
    (:func:`placement_layout`) instead of the bitmaps.
    """
    operand = operand_shape(config)
    return data.StructLayout({
        "a_bitmap": config.tile_m,
        "b_bitmap": config.tile_n,
        "a_values": data.ArrayLayout(operand, config.tile_m),
        "b_values": data.ArrayLayout(operand, config.tile_n),
        "a_chunks": range(config.a_chunks + 1),
        "b_chunks": range(config.b_chunks + 1),
        "direct": 1,
        "placement": placement_layout(config),
    })


def issue_layout(config):
    """One issued OHMMA: ``a_values``, ``b_values`` and their ``placement`` (the layout of
    the OHMMA body, :func:`ohmma_layout`)."""
    return _lanes_layout(config)


def scatter_layout(config):
    """One OHMMA's products and their destinations in the tile: lane ``(r, c)`` holds
    ``products[r][c]`` (``array_rows x array_cols`` products) for the cell that
    ``placement`` (:func:`placement_layout`) names; it takes part when both its row and its
    column are valid."""
    return data.StructLayout({
        "placement": placement_layout(config),
        "products": data.ArrayLayout(
            data.ArrayLayout(product_shape(config), config.array_cols), config.array_rows),
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


def core_signature(command, response, counters):
    """The ports every core has (both :class:`~dstc.hw.core.DstcCore` and
    :class:`~dstc.hw.dense_core.DenseCore`): ``cmd`` (a stream of ``command`` beats in),
    ``rsp`` (a stream of ``response`` beats out), ``errors`` (:data:`ERROR_WIDTH` sticky
    bits), ``idle``, and one :data:`COUNTER_WIDTH`-bit output per name in ``counters``."""
    members = {
        "cmd": In(stream.Signature(command)),
        "rsp": Out(stream.Signature(response)),
        "errors": Out(ERROR_WIDTH),
        "idle": Out(1),
    }
    members.update({name: Out(COUNTER_WIDTH) for name in counters})
    return wiring.Signature(members)
