"""One drained row of the sparse core as a response beat: ReLU, bitmap encoding."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .bitmap_encoder import BitmapEncoder
from .isa import drain_layout, response_layout
from .relu import Relu
from .shapes import accum_shape, index_shape, struct_value

__all__ = ["ResponseFormatter"]


class ResponseFormatter(wiring.Component):
    """``response`` (out, :func:`~dstc.hw.isa.response_layout`) of tile row ``row`` (in, a
    row index; ``last`` in, 1) holding ``values`` (in, ``tile_n`` accumulator values), per
    ``mode`` (in, :func:`~dstc.hw.isa.drain_layout`, the DRAIN's options): through
    :class:`~dstc.hw.relu.Relu` when ``mode.relu`` and packed by
    :class:`~dstc.hw.bitmap_encoder.BitmapEncoder` when ``mode.encode``; ``count`` and
    ``bitmap`` describe the (ReLU'd) row either way. Combinational (latency 0); submodules
    ``relu`` and ``encoder`` (no port shares their names: a clash would rename them in the
    Verilog). Parameter: ``config`` (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        self._config = config
        super().__init__({
            "row": In(index_shape(config.tile_m)),
            "last": In(1),
            "values": In(data.ArrayLayout(accum_shape(config), config.tile_n)),
            "mode": In(drain_layout(config)),
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
            row_values.eq(Mux(self.mode.relu, relu.result, self.values)),
            encoder.values.eq(row_values),
            self.response.eq(struct_value(
                m, response_layout(config), "response",
                row=self.row, last=self.last, encoded=self.mode.encode, count=encoder.count,
                bitmap=encoder.bitmap, values=Mux(self.mode.encode, encoder.packed, row_values))),
        ]
        return m
