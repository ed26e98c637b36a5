"""The dense baseline: an iso-MAC, Volta-style tensor core with the same tile storage."""

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import wiring

from ..sim.isa import DENSE_OPCODES, DOT_LENGTH, dense_pipeline_latency
from .accumulator_signature import drive_storage
from .command_accept import accept_commands
from .dense_accumulator import DenseAccumulator
from .dense_component import DenseComponent
from .dot_product_pipeline import DotProductPipeline
from .drain_sequencer import DrainSequencer
from .isa import (
    COUNTER_WIDTH,
    ERROR_WIDTH,
    ErrorFlag,
    Opcode,
    core_signature,
    dense_command_layout,
    dense_response_layout,
)
from .shapes import index_shape, struct_value
from .status_registers import StatusRegisters

__all__ = ["DenseCore", "DENSE_COUNTERS"]

#: Performance counter outputs of the dense baseline.
DENSE_COUNTERS = ("cycles_busy", "blocks_issued")


class DenseCore(DenseComponent):
    """The dense baseline of a configuration (docs/dense-baseline.md): the same multipliers
    (``macs``), operand and accumulator types and ``tile_m x tile_n`` accumulator tile as the
    sparse core, organised as ``macs / DOT_LENGTH`` dot-product units.

    Commands (``cmd``, :func:`~dstc.hw.isa.dense_command_layout`): CLEAR, LOAD_ROW, DENSE
    (``DOT_LENGTH`` k-steps of A and B), DRAIN (rows leave on ``rsp`` as they are) and
    CLEAR_STATUS; any other opcode is dropped and sets ``UNKNOWN_OPCODE``. A DENSE beat is
    consumed in place: the core issues one block of cells per cycle straight from the beat
    and accepts it with its last block, so the beat must stay presented until accepted (with
    ``valid`` low in between, issue pauses). A block issued in cycle ``t`` updates the tile
    at the end of cycle ``t + dense_pipeline_latency(config)``
    (:func:`~dstc.sim.isa.dense_pipeline_latency`, the dot-product pipeline's
    ``RESULT_LATENCY``). Timing: :class:`~dstc.sim.dense_model.DenseTiming`. With
    ``tile_buffers=2`` a DRAIN swaps the two tile buffers and drains the one it computed in,
    while the commands after it (all but the next DRAIN) work on the other (docs/isa.md).

    Ports: ``cmd``, ``rsp``, ``errors``, ``idle``, and the counters ``cycles_busy`` and
    ``blocks_issued`` (:data:`~dstc.hw.isa.COUNTER_WIDTH` bits each). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`); raises :class:`~dstc.sim.config.ConfigError`
    if it has no dense baseline (see :meth:`~dstc.sim.isa.DenseGeometry.of`).
    """

    def __init__(self, config):
        super().__init__(config, core_signature(dense_command_layout(config),
                                                dense_response_layout(config), DENSE_COUNTERS))

    def elaborate(self, platform):
        m = Module()
        config, geometry = self.config, self.geometry
        rows, cols = geometry.block_rows, geometry.block_cols

        m.submodules.dot_units = dot_units = DotProductPipeline(config)
        m.submodules.accumulator = accumulator = DenseAccumulator(config)
        m.submodules.drain = drain = DrainSequencer(dense_response_layout(config), config.tile_m)
        m.submodules.status = status = StatusRegisters(
            error_width=ERROR_WIDTH, counter_width=COUNTER_WIDTH,
            flags=ErrorFlag.UNKNOWN_OPCODE, counters={name: 1 for name in DENSE_COUNTERS})
        assert dot_units.RESULT_LATENCY == dense_pipeline_latency(config)
        wiring.connect(m, wiring.flipped(self.rsp), drain.rsp)

        cmd = self.cmd
        opcode, body = cmd.payload.opcode, cmd.payload.body
        block = Signal(index_shape(geometry.blocks))

        # -- command acceptance ---------------------------------------------------------------
        # With one tile buffer nothing while a drain runs, with two only the next DRAIN.
        free = Signal()
        m.d.comb += free.eq(~drain.busy if config.tile_buffers == 1 else 1)
        issuing = Signal()
        m.d.comb += issuing.eq(cmd.valid & (opcode == Opcode.DENSE) & free)
        fire, firing = accept_commands(m, cmd, [
            ({Opcode.DENSE}, free & (block == geometry.blocks - 1)),
            ({Opcode.DRAIN}, ~dot_units.busy & ~drain.busy),
            (DENSE_OPCODES - {Opcode.DENSE, Opcode.DRAIN}, ~dot_units.busy & free),
        ], default=free)

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
        m.d.comb += drive_storage(accumulator, firing, load=body.load, read_row=drain.row)
        m.d.comb += [
            accumulator.block_read.eq(dot_units.acc_tag),
            dot_units.acc.eq(accumulator.block_data),
            accumulator.write_en.eq(dot_units.result_valid),
            accumulator.write_block.eq(dot_units.result_tag),
            accumulator.write_data.eq(dot_units.result),
        ]

        # -- drain: tile row -> response register ---------------------------------------------
        m.d.comb += [
            drain.start.eq(firing(Opcode.DRAIN)),
            drain.payload.eq(struct_value(m, dense_response_layout(config), "response",
                                          row=drain.row, last=drain.last,
                                          values=accumulator.read_data)),
        ]

        # -- errors, counters, idle -----------------------------------------------------------
        supported = Cat(opcode == op for op in sorted(DENSE_OPCODES)).any()
        m.d.comb += [
            status.clear.eq(firing(Opcode.CLEAR_STATUS)),
            status.raised.eq(Mux(fire & ~supported, ErrorFlag.UNKNOWN_OPCODE, 0)),
            status.cycles_busy_increment.eq(fire | issuing | dot_units.busy | drain.busy),
            status.blocks_issued_increment.eq(issuing),
            self.errors.eq(status.errors),
            [getattr(self, name).eq(getattr(status, name)) for name in DENSE_COUNTERS],
            self.idle.eq(~dot_units.busy & ~drain.busy & ~self.rsp.valid),
        ]
        return m
