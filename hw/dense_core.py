"""The dense baseline: an iso-MAC, Volta-style tensor core with the same tile storage."""

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..sim.dense_model import DENSE_OPCODES, DOT_LENGTH, DenseGeometry
from .dense_accumulator import DenseAccumulator
from .dot_product_pipeline import DotProductPipeline
from .isa import (
    COUNTER_WIDTH,
    ERROR_WIDTH,
    ErrorFlag,
    Opcode,
    dense_command_layout,
    dense_response_layout,
)
from .shapes import index_shape

__all__ = ["DenseCore", "DENSE_COUNTERS"]

#: Performance counter outputs of the dense baseline.
DENSE_COUNTERS = ("cycles_busy", "blocks_issued")


class DenseCore(wiring.Component):
    """The dense baseline of a configuration (docs/dense-baseline.md): the same multipliers
    (``macs``), operand and accumulator types and ``tile_m x tile_n`` accumulator tile as the
    sparse core, organised as ``macs / DOT_LENGTH`` dot-product units.

    Commands (``cmd``, :func:`~dstc.hw.isa.dense_command_layout`): CLEAR, LOAD_ROW, DENSE
    (``DOT_LENGTH`` k-steps of A and B), DRAIN (rows leave on ``rsp`` as they are) and
    CLEAR_STATUS; any other opcode is dropped and sets ``UNKNOWN_OPCODE``. A DENSE beat is
    consumed in place: the core issues one block of cells per cycle straight from the beat
    and accepts it with its last block, so the beat must stay presented until accepted (with
    ``valid`` low in between, issue pauses). Timing: :class:`~dstc.sim.dense_model.DenseTiming`.

    Ports: ``cmd``, ``rsp``, ``errors``, ``idle``, and the counters ``cycles_busy`` and
    ``blocks_issued``. Parameter: ``config``.
    """

    def __init__(self, config):
        self._config = config
        self._geometry = DenseGeometry.of(config)
        members = {
            "cmd": In(stream.Signature(dense_command_layout(config))),
            "rsp": Out(stream.Signature(dense_response_layout(config))),
            "errors": Out(ERROR_WIDTH),
            "idle": Out(1),
        }
        members.update({name: Out(COUNTER_WIDTH) for name in DENSE_COUNTERS})
        super().__init__(members)

    @property
    def config(self):
        return self._config

    @property
    def geometry(self):
        return self._geometry

    def elaborate(self, platform):
        m = Module()
        config, geometry = self._config, self._geometry
        rows, cols = geometry.block_rows, geometry.block_cols

        m.submodules.dot_units = dot_units = DotProductPipeline(config)
        m.submodules.accumulator = accumulator = DenseAccumulator(config)

        cmd, rsp = self.cmd, self.rsp
        opcode, body = cmd.payload.opcode, cmd.payload.body

        block = Signal(index_shape(geometry.blocks))
        draining, drain_row = Signal(), Signal(index_shape(config.tile_m))

        # -- command acceptance ---------------------------------------------------------------
        issuing = Signal()
        m.d.comb += issuing.eq(cmd.valid & (opcode == Opcode.DENSE) & ~draining)
        with m.Switch(opcode):
            with m.Case(Opcode.DENSE):
                m.d.comb += cmd.ready.eq(~draining & (block == geometry.blocks - 1))
            with m.Case(*sorted(DENSE_OPCODES - {Opcode.DENSE})):
                m.d.comb += cmd.ready.eq(~dot_units.busy & ~draining)
            with m.Default():
                m.d.comb += cmd.ready.eq(~draining)
        fire = Signal()
        m.d.comb += fire.eq(cmd.valid & cmd.ready)

        def firing(op):
            return fire & (opcode == op)

        with m.If(issuing):
            m.d.sync += block.eq(block + 1)      # wraps to 0 after the last block
        with m.Elif(fire):
            m.d.sync += block.eq(0)

        # -- operands of the current block, straight from the DENSE beat ---------------------
        group = body.group
        block_row = block // geometry.blocks_per_row
        block_col = block % geometry.blocks_per_row
        a_blocks = Array(Cat(group.a_values[r * rows + i] for i in range(rows))
                         for r in range(config.tile_m // rows))
        b_blocks = Array(Cat(group.b_values[kk][c * cols + j] for kk in range(DOT_LENGTH)
                             for j in range(cols))
                         for c in range(geometry.blocks_per_row))
        m.d.comb += [
            dot_units.valid.eq(issuing),
            dot_units.tag.eq(block),
            dot_units.a.eq(a_blocks[block_row]),
            dot_units.b.eq(b_blocks[block_col]),
        ]

        # -- accumulator ----------------------------------------------------------------------
        load = body.load
        m.d.comb += [
            accumulator.clear.eq(firing(Opcode.CLEAR)),
            accumulator.load_en.eq(firing(Opcode.LOAD_ROW)),
            accumulator.load_row.eq(load.row),
            accumulator.load_data.eq(load.values),
            accumulator.block_read.eq(dot_units.acc_tag),
            dot_units.acc.eq(accumulator.block_data),
            accumulator.write_en.eq(dot_units.result_valid),
            accumulator.write_block.eq(dot_units.result_tag),
            accumulator.write_data.eq(dot_units.result),
            accumulator.read_row.eq(drain_row),
        ]

        # -- drain: tile row -> response register ---------------------------------------------
        with m.If(firing(Opcode.DRAIN)):
            m.d.sync += [draining.eq(1), drain_row.eq(0)]
        last_row = drain_row == config.tile_m - 1
        with m.If(draining & (~rsp.valid | rsp.ready)):
            m.d.sync += [
                rsp.valid.eq(1),
                rsp.payload.eq(Cat(drain_row, last_row, accumulator.read_data)),
                drain_row.eq(drain_row + 1),
            ]
            with m.If(last_row):
                m.d.sync += draining.eq(0)
        with m.Elif(rsp.ready):
            m.d.sync += rsp.valid.eq(0)

        # -- errors, counters, idle -----------------------------------------------------------
        supported = Cat(opcode == op for op in sorted(DENSE_OPCODES)).any()
        clear_status = firing(Opcode.CLEAR_STATUS)
        m.d.sync += self.errors.eq(Mux(clear_status, 0, self.errors) |
                                   Mux(fire & ~supported, ErrorFlag.UNKNOWN_OPCODE, 0))
        busy = Signal()
        m.d.comb += busy.eq(fire | issuing | dot_units.busy | draining)
        increments = {"cycles_busy": busy, "blocks_issued": issuing}
        for name, increment in increments.items():
            counter = getattr(self, name)
            m.d.sync += counter.eq(Mux(clear_status, 0, counter + increment))

        m.d.comb += self.idle.eq(~dot_units.busy & ~draining & ~rsp.valid)
        return m
