"""Bitfield tables of the command and response beats, as Markdown (``dstc isa``)."""

from amaranth import Shape
from amaranth.lib import data

from ..hw.isa import command_layout, response_layout
from ..sim.isa import Opcode
from .markdown import table
from .options import add_config_options, config_from

__all__ = ["isa_tables", "HELP", "DESCRIPTION", "add_arguments", "command"]

_BODIES = {
    "header": "SPWMMA",
    "kstep": "KSTEP, DENSE",
    "ohmma": "OHMMA",
    "load": "LOAD_ROW",
    "drain": "DRAIN",
}


def _describe(shape):
    if isinstance(shape, data.ArrayLayout):
        return f"{shape.length} x {_describe(shape.elem_shape)}"
    if isinstance(shape, data.Layout):
        return f"{shape.size} bits"
    shape = Shape.cast(shape)
    return f"{'s' if shape.signed else 'u'}{shape.width}"


def _rows(layout, base=0, prefix=""):
    """Table rows of ``layout``'s fields at ``base`` + their offset; a field that is itself a
    struct is expanded into its fields (``placement.rows``, ...), arrays stay one row."""
    rows = []
    for name, field in layout:
        low = base + field.offset
        if isinstance(field.shape, data.StructLayout):
            rows += _rows(field.shape, low, f"{prefix}{name}.")
            continue
        width = field.shape.size if isinstance(field.shape, data.Layout) else \
            Shape.cast(field.shape).width
        rows.append([f"`{prefix}{name}`", f"{low + width - 1}:{low}", width,
                     _describe(field.shape)])
    return rows


def _fields(layout, base=0):
    """The bitfield table of ``layout`` (fields at ``base`` + their offset), as lines."""
    return table(["field", "bits", "width", "type"], _rows(layout, base),
                 align="llll").splitlines()


def isa_tables(config):
    """Markdown: the opcodes, the command beat and each body, and the response beat of
    ``config``'s command interface."""
    command = command_layout(config)
    body_offset = command["body"].offset
    lines = [f"Configuration: {config.describe()}.", "",
             f"Command beat: {command.size} bits (`cmd__payload`).", ""]
    lines += table(["opcode", "value"], [[op.name, f"{op.value:#x}"] for op in Opcode],
                   align="ll").splitlines()
    lines += [""] + _fields(data.StructLayout({"opcode": command["opcode"].shape}))
    bodies = command["body"].shape
    for body, opcodes in _BODIES.items():
        if body not in {name for name, _ in bodies}:
            continue                           # no SPWMMA header with inline k-step bitmaps
        layout = bodies[body].shape
        lines += ["", f"Body `{body}` ({opcodes}), from bit {body_offset}:", ""]
        lines += _fields(layout, body_offset)
    response = response_layout(config)
    lines += ["", f"Response beat: {response.size} bits (`rsp__payload`).", ""]
    lines += _fields(response)
    return "\n".join(lines) + "\n"


HELP = "print the command and response bitfields"
DESCRIPTION = ("Print the opcodes and the bitfield tables of the command and response beats of "
               "a configuration, as Markdown (docs/isa.md shows the default).")


def add_arguments(parser):
    """Add the options of ``dstc isa`` to ``parser``."""
    add_config_options(parser)


def command(args):
    """Run ``dstc isa`` from parsed arguments: print the tables; returns 0."""
    print(isa_tables(config_from(args)), end="")
    return 0
