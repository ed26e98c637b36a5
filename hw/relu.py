"""ReLU on a vector of accumulator values."""

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .fp16_multiplier import CANONICAL_NAN32
from .shapes import float_layout, number_shape

__all__ = ["Relu"]


class Relu(wiring.Component):
    """``result[i]`` = ``values[i]`` if it is positive, else 0 (combinational).

    Floats: positive means sign 0 and not NaN; NaN becomes the canonical NaN ``0x7FC00000``
    and ``-0`` becomes ``+0``. Integers: negative values become 0.

    Parameters: ``width`` and ``number_type`` (``intN`` or ``fp32``).
    Ports: ``values`` in, ``result`` out (``width`` values each). Latency 0.
    Raises :class:`ValueError` for a float ``number_type`` other than fp32.
    """

    def __init__(self, width, number_type):
        if number_type.is_float and number_type.name != "fp32":
            raise ValueError(f"number_type={number_type.name!r}: the float ReLU is for fp32")
        self._width, self._number_type = width, number_type
        vector = data.ArrayLayout(number_shape(number_type), width)
        super().__init__({"values": In(vector), "result": Out(vector)})

    def elaborate(self, platform):
        m = Module()
        bits = self._number_type.width
        outputs = []
        for i in range(self._width):
            value = Value.cast(self.values[i])
            result = Signal(bits, name=f"result{i}")
            negative = value[bits - 1]
            if self._number_type.is_float:
                fields = data.View(float_layout(self._number_type), value)
                nan = (fields.exponent == (1 << self._number_type.exp_bits) - 1) & \
                    fields.fraction.any()
                m.d.comb += result.eq(Mux(nan, CANONICAL_NAN32, Mux(negative, 0, value)))
            else:
                m.d.comb += result.eq(Mux(negative, 0, value))
            outputs.append(result)
        m.d.comb += self.result.eq(Cat(outputs))
        return m
