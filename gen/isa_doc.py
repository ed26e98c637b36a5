"""Bitfield tables of the command and response beats, as Markdown (``dstc isa``)."""

from amaranth import Shape
from amaranth.lib import data

from ..hw.isa import command_layout, response_layout
from ..sim.isa import Opcode

__all__ = ["isa_tables"]

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


def _rows(layout, base=0):
    rows = []
    for name, field in layout:
        width = field.shape.size if isinstance(field.shape, data.Layout) else \
            Shape.cast(field.shape).width
        low = base + field.offset
        rows.append(f"| `{name}` | {low + width - 1}:{low} | {width} | {_describe(field.shape)} |")
    return rows


def isa_tables(config):
    """Markdown: the opcodes, the command beat and each body, and the response beat."""
    command = command_layout(config)
    body_offset = command["body"].offset
    lines = [f"Configuration: {config.describe()}.", "",
             f"Command beat: {command.size} bits (`cmd__payload`).", "",
             "| opcode | value |", "|---|---|"]
    lines += [f"| {op.name} | {op.value:#x} |" for op in Opcode]
    lines += ["", "| field | bits | width | type |", "|---|---|---|---|"]
    lines += _rows(data.StructLayout({"opcode": command["opcode"].shape}))
    for body, opcodes in _BODIES.items():
        layout = command["body"].shape[body].shape
        lines += ["", f"Body `{body}` ({opcodes}), from bit {body_offset}:", "",
                  "| field | bits | width | type |", "|---|---|---|---|"]
        lines += _rows(layout, body_offset)
    response = response_layout(config)
    lines += ["", f"Response beat: {response.size} bits (`rsp__payload`).", "",
              "| field | bits | width | type |", "|---|---|---|---|"]
    lines += _rows(response)
    return "\n".join(lines) + "\n"
