"""Commands and responses as the bits on a core's streams (layouts of ``dstc.hw.isa``).

One encoder per design: :class:`CommandEncoder` for the sparse core
(:class:`~dstc.hw.core.DstcCore`) and :class:`DenseCommandEncoder` for the dense baseline
(:class:`~dstc.hw.dense_core.DenseCore`). Both dispatch on the command's class (``match``),
not on its opcode: the sparse core's :class:`~dstc.sim.isa.Dense` and the baseline's
:class:`~dstc.sim.isa.DenseGroup` share ``Opcode.DENSE``. The bits come from the one codec,
:mod:`dstc.gen.codec`, which checks every field's range and every array's length.
"""

import numpy as np

from ..hw.isa import (
    command_layout,
    dense_command_layout,
    dense_response_layout,
    response_layout,
)
from ..sim.arith import Arithmetic
from ..sim.dense_model import DenseResponse
from ..sim.isa import (
    Clear,
    ClearStatus,
    Dense,
    DenseGroup,
    Drain,
    Kstep,
    LoadRow,
    Ohmma,
    RawCommand,
    Response,
    Spwmma,
)
from .codec import CodecError, codec

__all__ = ["CommandEncoder", "DenseCommandEncoder", "UnsupportedCommand"]


class UnsupportedCommand(ValueError):
    """A command the design has no encoding for (its message names the command and why)."""


def _bitmap(flags):
    """A bool sequence as an int, element ``i`` in bit ``i``."""
    flags = np.asarray(flags, dtype=bool)
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def _shown(bitmap):
    """A bitmap for an error message: ``None`` or its shape."""
    return "None" if bitmap is None else f"<shape {np.shape(bitmap)}>"


def _bitmaps(rows):
    """Rows of bool flags (2-D) as a list of ints."""
    return [_bitmap(row) for row in np.asarray(rows, dtype=bool)]


class _Encoder:
    """What both encoders share: the codecs of the command and response layouts, and lane
    values in the form of the layout's fields (signed ints for integer types, unsigned raw
    bits for floats)."""

    def __init__(self, config, command, response):
        self.config = config
        self.arith = Arithmetic(config)
        self.command_layout, self.response_layout = command, response
        self.command_codec = codec(command)
        self.response_codec = codec(response, raw=True)

    def _lanes(self, values, number_type, convert):
        """``values`` (array of any shape) as the field values of ``number_type``; integers
        out of the type's range raise ``ValueError``."""
        values = convert(values)
        if number_type.is_float:
            return self.arith.to_bits(values, number_type)
        return np.asarray(values, dtype=np.int64)

    def _operands(self, values):
        return self._lanes(values, self.config.operand, self.arith.operands)

    def _accums(self, values):
        return self._lanes(values, self.config.accum, self.arith.accumulators)

    def _pack(self, command, opcode, body=None):
        beat = {"opcode": int(opcode)}
        if body is not None:
            beat["body"] = body
        try:
            return self.command_codec.pack(beat)
        except CodecError as error:
            raise CodecError(f"{type(command).__name__}: {error}") from None

    def _load(self, command):
        return {"load": {"row": command.row, "values": self._accums(command.values)}}

    def _values(self, bits):
        """Accumulator values of a response's raw ``values`` field."""
        return self.arith.from_bits(np.array(bits, dtype=np.uint64), self.config.accum)


class CommandEncoder(_Encoder):
    """Command beats of the sparse core (:func:`~dstc.hw.isa.command_layout`) from
    :mod:`dstc.sim.isa` commands, and :class:`~dstc.sim.isa.Response` from its response
    beats (:func:`~dstc.hw.isa.response_layout`)."""

    def __init__(self, config):
        super().__init__(config, command_layout(config), response_layout(config))

    def encode(self, command):
        """The bits of one command beat. Raises :class:`UnsupportedCommand` for a
        :class:`~dstc.sim.isa.DenseGroup` (the dense baseline's) and, with
        ``kstep_bitmaps="inline"``, a :class:`~dstc.sim.isa.Spwmma` (no header body), and
        :class:`~dstc.gen.codec.CodecError` (a ``ValueError``) for a field out of range or a
        KSTEP whose bitmaps do not match ``kstep_bitmaps``."""
        match command:
            case LoadRow():
                return self._pack(command, command.opcode, self._load(command))
            case Spwmma() if self.config.inline_kstep:
                raise UnsupportedCommand(
                    "Spwmma: kstep_bitmaps='inline' has no SPWMMA header (each KSTEP carries "
                    "its bitmaps); send RawCommand(SPWMMA) to test that the core drops it")
            case Spwmma(a_bitmaps=a_maps, b_bitmaps=b_maps):
                return self._pack(command, command.opcode, {"header": {
                    "a_bitmaps": _bitmaps(a_maps), "b_bitmaps": _bitmaps(b_maps)}})
            case Kstep():
                return self._pack(command, command.opcode, {"kstep": self._kstep(command)})
            case Dense(a_values=a_values, b_values=b_values):
                return self._pack(command, command.opcode, {"kstep": {
                    "a_values": self._operands(a_values), "b_values": self._operands(b_values)}})
            case Ohmma():
                return self._pack(command, command.opcode, {"ohmma": {
                    "a_values": self._operands(command.a_values),
                    "b_values": self._operands(command.b_values),
                    "placement": {"rows": np.asarray(command.a_rows, dtype=np.int64),
                                  "row_valid": _bitmap(command.a_valid),
                                  "cols": np.asarray(command.b_cols, dtype=np.int64),
                                  "col_valid": _bitmap(command.b_valid)}}})
            case Drain(relu=relu, encode=encode, fp16=fp16):
                return self._pack(command, command.opcode,
                                  {"drain": {"relu": int(relu), "encode": int(encode),
                                             "fp16": int(fp16)}})
            case Clear() | ClearStatus() | RawCommand():
                return self._pack(command, command.opcode)
            case DenseGroup():
                raise UnsupportedCommand("DenseGroup: the sparse core takes Dense k-steps "
                                         "(dense_tile_commands), not the baseline's groups")
        raise TypeError(f"{command!r}: not a dstc.sim.isa command")

    def _kstep(self, command):
        """The ``kstep`` body of a KSTEP; with ``kstep_bitmaps="inline"`` its bitmaps too.
        Raises :class:`~dstc.gen.codec.CodecError` for bitmaps missing on an inline core,
        given on a header core, or of another length than the tile's side."""
        body = {"k": command.k, "a_count": command.a_count, "b_count": command.b_count,
                "a_values": self._operands(command.a_values),
                "b_values": self._operands(command.b_values)}
        if self.config.inline_kstep != command.inline:
            raise CodecError(
                f"Kstep: a_bitmap={_shown(command.a_bitmap)}, b_bitmap="
                f"{_shown(command.b_bitmap)}: kstep_bitmaps={self.config.kstep_bitmaps!r} "
                f"needs {'both bitmaps' if self.config.inline_kstep else 'None for both'}")
        if command.inline:
            for name, bitmap, width in (("a_bitmap", command.a_bitmap, self.config.tile_m),
                                        ("b_bitmap", command.b_bitmap, self.config.tile_n)):
                if bitmap is None or np.shape(bitmap) != (width,):
                    raise CodecError(f"Kstep: {name} has shape {np.shape(bitmap)}, the "
                                     f"layout needs ({width},)")
                body[name] = _bitmap(bitmap)
        return body

    def decode_response(self, bits):
        """A :class:`~dstc.sim.isa.Response` from the bits of one response beat."""
        fields = self.response_codec.unpack(bits)
        bitmap = (fields["bitmap"] >> np.arange(self.config.tile_n)) & 1
        return Response(row=fields["row"], last=bool(fields["last"]),
                        encoded=bool(fields["encoded"]), count=fields["count"],
                        bitmap=bitmap.astype(bool), values=self._values(fields["values"]))


class DenseCommandEncoder(_Encoder):
    """Command beats of the dense baseline (:func:`~dstc.hw.isa.dense_command_layout`) and
    :class:`~dstc.sim.dense_model.DenseResponse` from its response beats. Its DENSE commands
    are :class:`~dstc.sim.isa.DenseGroup`; the sparse-only commands are sent as
    :class:`~dstc.sim.isa.RawCommand` (the baseline drops them and flags an unknown opcode)."""

    def __init__(self, config):
        super().__init__(config, dense_command_layout(config), dense_response_layout(config))

    def encode(self, command):
        """The bits of one command beat. Raises :class:`UnsupportedCommand` for a DRAIN with
        ``relu`` or ``encode``, a :class:`~dstc.sim.isa.Dense` k-step and the sparse-only
        commands, and :class:`~dstc.gen.codec.CodecError` for a field out of range."""
        match command:
            case DenseGroup(a_values=a_values, b_values=b_values):
                return self._pack(command, command.opcode, {"group": {
                    "a_values": self._operands(a_values), "b_values": self._operands(b_values)}})
            case LoadRow():
                return self._pack(command, command.opcode, self._load(command))
            case Drain(relu=False, encode=False) | Clear() | ClearStatus() | RawCommand():
                return self._pack(command, command.opcode)
            case Drain():
                raise UnsupportedCommand("the dense baseline drains rows as they are: DRAIN "
                                         "takes no relu or encode")
            case Dense() | Spwmma() | Kstep() | Ohmma():
                raise UnsupportedCommand(
                    f"{type(command).__name__}: the dense baseline executes DenseGroup "
                    f"(dense_group_commands); send RawCommand({command.opcode.name}) to test "
                    f"that it drops the sparse opcodes")
        raise TypeError(f"{command!r}: not a dstc.sim.isa command")

    def decode_response(self, bits):
        """A :class:`~dstc.sim.dense_model.DenseResponse` from one response beat."""
        fields = self.response_codec.unpack(bits)
        return DenseResponse(row=fields["row"], last=bool(fields["last"]),
                             values=self._values(fields["values"]))
