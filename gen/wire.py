"""Commands and responses as the bits on the core's streams (layouts of ``dstc.hw.isa``)."""

import numpy as np
from amaranth import Shape
from amaranth.lib import data

from ..hw.isa import (
    command_layout,
    dense_command_layout,
    dense_response_layout,
    response_layout,
)
from ..sim.arith import Arithmetic
from ..sim.dense_model import DenseResponse
from ..sim.isa import Opcode, Response

__all__ = ["pack", "unpack", "CommandEncoder", "DenseCommandEncoder"]


def _width(shape):
    return shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width


def pack(layout, value):
    """Bits (an int) of ``value`` laid out as ``layout``.

    ``value`` is an int for a plain shape (two's complement for negative numbers), a sequence
    for an :class:`~amaranth.lib.data.ArrayLayout`, and a mapping of some fields for a struct
    or union (missing fields are 0).
    """
    if isinstance(layout, data.ArrayLayout):
        width = _width(layout.elem_shape)
        bits = 0
        for index, element in enumerate(value):
            bits |= pack(layout.elem_shape, element) << (index * width)
        return bits
    if isinstance(layout, data.Layout):
        bits = 0
        for name, element in value.items():
            field = layout[name]
            bits |= pack(field.shape, element) << field.offset
        return bits
    return int(value) & ((1 << _width(layout)) - 1)


def unpack(layout, bits):
    """Inverse of :func:`pack`: ints, lists and dicts (unions are not unpacked)."""
    bits = int(bits)
    if isinstance(layout, data.ArrayLayout):
        elem = layout.elem_shape
        mask = (1 << _width(elem)) - 1
        return [unpack(elem, (bits >> (i * _width(elem))) & mask) for i in range(layout.length)]
    if isinstance(layout, data.StructLayout):
        out = {}
        for name, field in layout:
            mask = (1 << _width(field.shape)) - 1
            out[name] = unpack(field.shape, (bits >> field.offset) & mask)
        return out
    return bits


def _bitmap_int(flags):
    return int(sum(1 << i for i, flag in enumerate(np.asarray(flags, bool)) if flag))


class CommandEncoder:
    """Converts :mod:`dstc.sim.isa` commands to command beats and response beats back."""

    def __init__(self, config):
        self.config = config
        self.arith = Arithmetic(config)
        self.command_layout = command_layout(config)
        self.response_layout = response_layout(config)

    def _operands(self, values):
        return [int(v) for v in self.arith.to_bits(self.arith.operands(values),
                                                   self.config.operand)]

    def _accums(self, values):
        return [int(v) for v in self.arith.to_bits(self.arith.accumulators(values),
                                                   self.config.accum)]

    def encode(self, command):
        """The bits of one command beat."""
        opcode = int(command.opcode)
        body = None
        if opcode == Opcode.LOAD_ROW:
            body = {"load": {"row": command.row, "values": self._accums(command.values)}}
        elif opcode == Opcode.SPWMMA:
            body = {"header": {"a_bitmaps": [_bitmap_int(b) for b in command.a_bitmaps],
                               "b_bitmaps": [_bitmap_int(b) for b in command.b_bitmaps]}}
        elif opcode == Opcode.KSTEP:
            body = {"kstep": {"k": command.k, "a_count": command.a_count,
                              "b_count": command.b_count,
                              "a_values": self._operands(command.a_values),
                              "b_values": self._operands(command.b_values)}}
        elif opcode == Opcode.DENSE:
            body = {"kstep": {"a_values": self._operands(command.a_values),
                              "b_values": self._operands(command.b_values)}}
        elif opcode == Opcode.OHMMA:
            body = {"ohmma": {"a_values": self._operands(command.a_values),
                              "b_values": self._operands(command.b_values),
                              "placement": {"rows": [int(r) for r in command.a_rows],
                                            "row_valid": _bitmap_int(command.a_valid),
                                            "cols": [int(c) for c in command.b_cols],
                                            "col_valid": _bitmap_int(command.b_valid)}}}
        elif opcode == Opcode.DRAIN:
            body = {"drain": {"relu": int(command.relu), "encode": int(command.encode)}}
        beat = {"opcode": opcode}
        if body is not None:
            beat["body"] = body
        return pack(self.command_layout, beat)

    def decode_response(self, bits):
        """A :class:`~dstc.sim.isa.Response` from the bits of one response beat."""
        fields = unpack(self.response_layout, bits)
        tile_n = self.config.tile_n
        bitmap = np.array([(fields["bitmap"] >> i) & 1 for i in range(tile_n)], dtype=bool)
        values = self.arith.from_bits(np.array(fields["values"], dtype=np.uint64),
                                      self.config.accum)
        return Response(row=fields["row"], last=bool(fields["last"]),
                        encoded=bool(fields["encoded"]), count=fields["count"],
                        bitmap=bitmap, values=values)


class DenseCommandEncoder(CommandEncoder):
    """Command beats of the dense baseline (:func:`~dstc.hw.isa.dense_command_layout`) and
    its response beats back. DENSE commands are :class:`~dstc.sim.isa.DenseGroup`; a DRAIN
    with ``relu`` or ``encode`` is refused (the baseline drains rows as they are)."""

    def __init__(self, config):
        super().__init__(config)
        self.command_layout = dense_command_layout(config)
        self.response_layout = dense_response_layout(config)

    def encode(self, command):
        opcode = int(command.opcode)
        beat = {"opcode": opcode}
        if opcode == Opcode.DENSE:
            beat["body"] = {"group": {
                "a_values": [self._operands(row) for row in command.a_values],
                "b_values": [self._operands(row) for row in command.b_values]}}
        elif opcode == Opcode.LOAD_ROW:
            beat["body"] = {"load": {"row": command.row, "values": self._accums(command.values)}}
        elif opcode == Opcode.DRAIN and (command.relu or command.encode):
            raise ValueError("the dense baseline drains rows as they are: DRAIN takes no "
                             "relu or encode")
        return pack(self.command_layout, beat)

    def decode_response(self, bits):
        """A :class:`~dstc.sim.dense_model.DenseResponse` from one response beat."""
        fields = unpack(self.response_layout, bits)
        values = self.arith.from_bits(np.array(fields["values"], dtype=np.uint64),
                                      self.config.accum)
        return DenseResponse(row=fields["row"], last=bool(fields["last"]), values=values)
