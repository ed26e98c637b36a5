"""Port access shared by the Amaranth-simulator tests and the cocotb tests.

A check is written once against :class:`PortIO` (set inputs, read outputs, advance the clock)
and runs on the Amaranth simulator (:class:`AmaranthIO`) and on generated Verilog in cocotb
(:class:`CocotbIO`), so both test the same vectors against the same golden model.
Values cross the boundary as numpy arrays of unsigned raw bits, one row per lane, packed by
the one codec (:mod:`dstc.gen.codec`, raw mode): an array port takes exactly its number of
values, each in the unsigned range of its width.
"""

import numpy as np
from amaranth import Shape, unsigned
from amaranth.lib import data

from dstc.gen.codec import Codec, codec

__all__ = ["port_format", "port_formats", "PortIO", "AmaranthIO", "CocotbIO", "Mismatch",
           "compare"]


def port_format(shape):
    """``(scalar_width, scalars)`` of a port shape: nested arrays flatten row by row."""
    count = 1
    while isinstance(shape, data.ArrayLayout):
        count *= shape.length
        shape = shape.elem_shape
    width = shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width
    return width, count


def port_formats(component):
    """``{port: (scalar_width, scalars)}`` of a component's plain ports (JSON-friendly;
    members that are interfaces, such as streams, are left out)."""
    return {name: port_format(member.shape)
            for name, member in component.signature.members.items() if member.is_port}


class PortIO:
    """Access to ports given their formats (see :func:`port_formats`)."""

    def __init__(self, formats):
        self.formats = {name: tuple(fmt) for name, fmt in formats.items()}
        self._codecs = {}

    def _codec(self, name):
        try:
            return self._codecs[name]
        except KeyError:
            width, count = self.formats[name]
            made = self._codecs[name] = Codec(data.ArrayLayout(unsigned(width), count),
                                              raw=True, name=f"port {name}")
            return made

    def encode(self, name, values):
        """The bits of ``values`` for port ``name``: one int (a scalar port, or the packed
        bits of a struct port) or an array of exactly the port's number of scalars (any
        shape; nested arrays flatten row by row). Raises
        :class:`~dstc.gen.codec.CodecError` for a value out of range or a wrong count."""
        width, count = self.formats[name]
        if isinstance(values, (int, np.integer)):
            return codec(unsigned(width * count), raw=True, name=f"port {name}").pack(values)
        return self._codec(name).pack(np.asarray(values).ravel())

    def decode(self, name, raw):
        """The values of port ``name``: a uint64 array of its scalars; a single scalar wider
        than 64 bits stays a Python int."""
        width, count = self.formats[name]
        if width > 64:
            if count != 1:
                raise ValueError(f"port {name}: arrays of {width}-bit values are not supported")
            return int(raw)
        return np.array(self._codec(name).unpack(raw), dtype=np.uint64).reshape(count)

    async def set(self, **values):
        """Drive input ports ``name=values`` (see :meth:`encode`); they have settled when
        this returns."""
        raise NotImplementedError

    async def get(self, name):
        """The value of port ``name`` (see :meth:`decode`)."""
        raise NotImplementedError

    async def tick(self):
        """Advance to just after the next rising clock edge."""
        raise NotImplementedError


class AmaranthIO(PortIO):
    """:class:`PortIO` on the Amaranth simulator (inside an ``add_testbench`` function)."""

    def __init__(self, ctx, component):
        super().__init__(port_formats(component))
        self.ctx, self.component = ctx, component

    def _value(self, name):
        port = getattr(self.component, name)
        return port.as_value() if isinstance(port, data.View) else port

    async def set(self, **values):
        for name, value in values.items():
            self.ctx.set(self._value(name), self.encode(name, value))

    async def get(self, name):
        width, count = self.formats[name]          # signed ports read negative: raw bits
        return self.decode(name, self.ctx.get(self._value(name)) & ((1 << width * count) - 1))

    async def tick(self):
        await self.ctx.tick()


class CocotbIO(PortIO):
    """:class:`PortIO` on a cocotb ``dut``: inputs settle 1 ns after being set, and a tick is a
    rising clock edge plus 1 ns (so values are never sampled at an edge)."""

    def __init__(self, dut, formats):
        super().__init__(formats)
        self.dut = dut

    async def set(self, **values):
        from cocotb.triggers import Timer
        for name, value in values.items():
            getattr(self.dut, name).value = self.encode(name, value)
        await Timer(1, unit="ns")

    async def get(self, name):
        return self.decode(name, getattr(self.dut, name).value.to_unsigned())

    async def tick(self):
        from cocotb.triggers import RisingEdge, Timer
        await RisingEdge(self.dut.clk)
        await Timer(1, unit="ns")


class Mismatch(AssertionError):
    """Hardware and golden model disagree; the message shows the first differences."""


def compare(what, got, expected, inputs=None, limit=5):
    """Raise :class:`Mismatch` unless ``got`` equals ``expected`` element for element."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.shape == expected.shape and np.array_equal(got, expected):
        return
    if got.shape != expected.shape:
        raise Mismatch(f"{what}: shape {got.shape} != expected {expected.shape}")
    bad = np.argwhere(got != expected)
    lines = [f"{what}: {len(bad)} of {got.size} values differ"]
    for index in bad[:limit]:
        index = tuple(index)
        row = index[0]
        context = "" if inputs is None else " inputs " + ", ".join(
            f"{k}={_fmt(np.asarray(v)[row])}" for k, v in inputs.items())
        lines.append(f"  at {index}: got {_fmt(got[index])}, expected "
                     f"{_fmt(expected[index])}{context}")
    raise Mismatch("\n".join(lines))


def _fmt(value):
    value = np.asarray(value)
    if value.ndim == 0:
        return hex(int(value))
    return "[" + " ".join(hex(int(v)) for v in value.ravel()[:16]) + \
        (" ...]" if value.size > 16 else "]")

