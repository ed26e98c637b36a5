"""One drained row of the sparse core as a response beat: ReLU, bitmap encoding."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .bitmap_encoder import BitmapEncoder
from .isa import response_layout
from .relu import Relu
from .shapes import accum_shape, index_shape, struct_value

__all__ = ["ResponseFormatter"]


class ResponseFormatter(wiring.Component):
    """``response`` (out, :func:`~dstc.hw.isa.response_layout`) of tile row ``row`` (in, a
    row index; ``last`` in, 1) holding ``values`` (in, ``tile_n`` accumulator values), through
    :class:`~dstc.hw.relu.Relu` when ``relu`` (in, 1) and packed by
    :class:`~dstc.hw.bitmap_encoder.BitmapEncoder` when ``encode`` (in, 1); ``count`` and
    ``bitmap`` describe the (ReLU'd) row either way. Combinational (latency 0); submodules
    ``relu`` and ``encoder``. Parameter: ``config`` (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "row": In(index_shape(config.tile_m)),
            "last": In(1),
            "values": In(data.ArrayLayout(accum_shape(config), config.tile_n)),
            "relu": In(1),
            "encode": In(1),
            "response": Out(response_layout(config)),
        })

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        config = self._config
        m.submodules.relu = relu = Relu(config.tile_n, config.accum)
        m.submodules.encoder = encoder = BitmapEncoder(config.tile_n, config.accum)
        row_values = Signal.like(self.values, name="row_values")
        m.d.comb += [
            relu.values.eq(self.values),
            row_values.eq(Mux(self.relu, relu.result, self.values)),
            encoder.values.eq(row_values),
            self.response.eq(struct_value(
                m, response_layout(config), "response",
                row=self.row, last=self.last, encoded=self.encode, count=encoder.count,
                bitmap=encoder.bitmap, values=Mux(self.encode, encoder.packed, row_values))),
        ]
        return m
