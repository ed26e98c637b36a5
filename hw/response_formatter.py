"""One drained row of the sparse core as a response beat: ReLU, fp16 rounding, bitmap
encoding."""

from amaranth import Module, Mux, Signal
from amaranth.lib import data
from amaranth.lib.wiring import In, Out

from .bitmap_encoder import BitmapEncoder
from .config_component import ConfigComponent
from .fp16_to_fp32 import Fp16ToFp32
from .fp32_to_fp16 import Fp32ToFp16
from .isa import drain_layout, response_layout
from .relu import Relu
from .shapes import accum_shape, index_shape, struct_value

__all__ = ["ResponseFormatter"]


class ResponseFormatter(ConfigComponent):
    """``response`` (out, :func:`~dstc.hw.isa.response_layout`) of tile row ``row`` (in, a
    row index; ``last`` in, 1) holding ``values`` (in, ``tile_n`` accumulator values), per
    ``mode`` (in, :func:`~dstc.hw.isa.drain_layout`, the DRAIN's options): through
    :class:`~dstc.hw.relu.Relu` when ``mode.relu``, then (fp32 accumulators only) rounded to
    fp16 when ``mode.fp16`` (each value through :class:`~dstc.hw.fp32_to_fp16.Fp32ToFp16`,
    round to nearest even, and back through :class:`~dstc.hw.fp16_to_fp32.Fp16ToFp32`: the
    row's values are fp16 values carried exactly in fp32 slots, so a value that rounds to 0
    in fp16 is a zero of the bitmap), and packed by
    :class:`~dstc.hw.bitmap_encoder.BitmapEncoder` when ``mode.encode``; ``count`` and
    ``bitmap`` describe the row as sent either way. An integer core has no rounding and
    ignores ``mode.fp16``. Combinational (latency 0); submodules ``relu``, ``encoder`` and,
    on fp32 cores, ``narrow<i>`` and ``widen<i>`` per value (no port shares their names: a
    clash would rename them in the Verilog). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        super().__init__(config, {
            "row": In(index_shape(config.tile_m)),
            "last": In(1),
            "values": In(data.ArrayLayout(accum_shape(config), config.tile_n)),
            "mode": In(drain_layout(config)),
            "response": Out(response_layout(config)),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        m.submodules.relu = relu = Relu(config.tile_n, config.accum)
        m.submodules.encoder = encoder = BitmapEncoder(config.tile_n, config.accum)
        relu_values = Signal.like(self.values, name="relu_values")
        row_values = Signal.like(self.values, name="row_values")
        m.d.comb += [
            relu.values.eq(self.values),
            relu_values.eq(Mux(self.mode.relu, relu.result, self.values)),
        ]
        if config.accum.is_float:
            rounded = Signal.like(self.values, name="rounded")
            for lane in range(config.tile_n):
                narrow, widen = Fp32ToFp16(), Fp16ToFp32()
                m.submodules[f"narrow{lane}"] = narrow
                m.submodules[f"widen{lane}"] = widen
                m.d.comb += [narrow.value.eq(relu_values[lane]),
                             widen.value.eq(narrow.result),
                             rounded[lane].eq(widen.result)]
            m.d.comb += row_values.eq(Mux(self.mode.fp16, rounded, relu_values))
        else:
            m.d.comb += row_values.eq(relu_values)
        m.d.comb += [
            encoder.values.eq(row_values),
            self.response.eq(struct_value(
                m, response_layout(config), "response",
                row=self.row, last=self.last, encoded=self.mode.encode, count=encoder.count,
                bitmap=encoder.bitmap, values=Mux(self.mode.encode, encoder.packed, row_values))),
        ]
        return m
