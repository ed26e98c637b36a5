"""Amaranth shapes of the configuration's number types (one place, used by every block)."""

from amaranth import Cat, Mux, Signal, signed, unsigned
from amaranth.lib import data

__all__ = ["number_shape", "float_layout", "operand_shape", "product_shape", "accum_shape",
           "index_shape", "struct_value", "and_or_select"]


def number_shape(number_type):
    """``signed(N)`` for ``intN``; raw ``unsigned(width)`` bits for a float type."""
    if number_type.is_float:
        return unsigned(number_type.width)
    return signed(number_type.width)


def float_layout(number_type):
    """The fields of an IEEE 754 binary format :class:`~dstc.sim.config.NumberType`:
    ``fraction`` (``frac_bits``, low bits), ``exponent`` (``exp_bits``, biased) and ``sign``
    (1, top bit); ``width`` bits in all. Raises :class:`ValueError` for an integer type."""
    if not number_type.is_float:
        raise ValueError(f"number_type={number_type.name!r}: not a float type")
    return data.StructLayout({
        "fraction": number_type.frac_bits,
        "exponent": number_type.exp_bits,
        "sign": 1,
    })


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
    """Shape of a position in ``range(size)``: ``unsigned(ceil(log2(size)))``, at least one
    bit (``size`` >= 1)."""
    return unsigned(max(1, (size - 1).bit_length()))


def struct_value(m, layout, prefix, **fields):
    """A value laid out as the struct ``layout`` from ``fields`` (one per layout field), to
    drive a struct-shaped signal with a single assignment: Icarus slows down badly on
    vectors assembled from many part-select assignments. Each field goes through a signal
    named ``<prefix>_<field>`` (readable in waveforms, sized by the layout). Returns a
    ``Value`` of ``layout.size`` bits; raises :class:`KeyError` for a layout field missing
    from ``fields`` and :class:`ValueError` for a field not in the layout or a layout whose
    fields are not contiguous (a union)."""
    parts, offset = [], 0
    for name, field in sorted(layout, key=lambda item: item[1].offset):
        if field.offset != offset:
            raise ValueError(f"layout field {name!r} is not contiguous")
        part = Signal(field.shape, name=f"{prefix}_{name}")
        m.d.comb += part.eq(fields.pop(name))
        parts.append(part)
        offset += field.width
    if fields:
        raise ValueError(f"fields not in the layout: {sorted(fields)}")
    return Cat(parts)


def and_or_select(index, options):
    """``options[index]`` as an AND-OR multiplexer (0 when ``index`` is out of range).

    Unlike ``Array(options)[index]``, which becomes a ``case`` in an ``always @*`` block, this
    becomes continuous assignments, which Icarus evaluates at time 0: an ``always @*`` block
    stays X in Icarus until one of its inputs changes, so reading row 0 of a tile that was
    never written (a drain right after reset) gave X.
    """
    selected = 0
    for position, option in enumerate(options):
        selected = selected | Mux(index == position, option, 0)
    return selected
