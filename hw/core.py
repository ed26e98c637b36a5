"""The Dual-side Sparse Tensor Core of one sub-core."""

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from ..sim.isa import ISSUE_OPCODES, TILE_OPCODES, pipeline_latency
from .accumulator import AccumulatorTile
from .accumulator_signature import scatter_signature
from .bitmap_encoder import BitmapEncoder
from .chunk_sequencer import ChunkSequencer
from .distinct_check import DistinctCheck
from .drain_sequencer import DrainSequencer
from .isa import (
    COUNTER_WIDTH,
    ERROR_WIDTH,
    ErrorFlag,
    Opcode,
    command_layout,
    issue_layout,
    response_layout,
    scatter_layout,
)
from .multiplier_array import MultiplierArray
from .popcount import Popcount
from .relu import Relu
from .shapes import struct_value
from .spwmma_tracker import SpwmmaTracker
from .status_registers import StatusRegisters

__all__ = ["DstcCore", "COUNTERS"]

#: Performance counter outputs, in the order docs/isa.md lists them.
COUNTERS = ("cycles_busy", "ohmma_issued", "useful_macs", "mac_slots")


class DstcCore(wiring.Component):
    """One DSTC sub-core: command stream in, drained rows out (docs/isa.md).

    Pipeline: the chunk sequencer issues one OHMMA per cycle; the operands are registered
    into the multiplier array; the products are registered into the accumulator, which
    scatter-adds them in the cycle it receives them. An OHMMA issued in cycle ``t`` updates
    the tile at the end of cycle ``t + pipeline_latency(config)``
    (:func:`~dstc.sim.isa.pipeline_latency`: the :attr:`REGISTER_STAGES` plus the
    accumulator's ``latency``), and nothing ever stalls the pipeline.

    Ports: ``cmd`` (stream in, :func:`~dstc.hw.isa.command_layout`), ``rsp`` (stream out,
    :func:`~dstc.hw.isa.response_layout`), ``errors`` (sticky :class:`ErrorFlag` bits),
    ``idle``, and the counters ``cycles_busy``, ``ohmma_issued``, ``useful_macs``,
    ``mac_slots`` (:data:`COUNTER_WIDTH` bits each). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`).
    """

    #: Registers between an OHMMA's issue and the accumulator: operands, products.
    REGISTER_STAGES = 2

    def __init__(self, config):
        self._config = config
        members = {
            "cmd": In(stream.Signature(command_layout(config))),
            "rsp": Out(stream.Signature(response_layout(config))),
            "errors": Out(ERROR_WIDTH),
            "idle": Out(1),
        }
        members.update({name: Out(COUNTER_WIDTH) for name in COUNTERS})
        super().__init__(members)

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        config = self._config
        m.submodules.tracker = tracker = SpwmmaTracker(config)
        m.submodules.sequencer = sequencer = ChunkSequencer(config)
        m.submodules.multipliers = multipliers = MultiplierArray(config)
        m.submodules.accumulator = accumulator = AccumulatorTile(config)
        m.submodules.relu = relu = Relu(config.tile_n, config.accum)
        m.submodules.encoder = encoder = BitmapEncoder(config.tile_n, config.accum)
        m.submodules.row_check = row_check = DistinctCheck(config.array_rows, config.tile_m)
        m.submodules.col_check = col_check = DistinctCheck(config.array_cols, config.tile_n)
        m.submodules.drain = drain = DrainSequencer(response_layout(config), config.tile_m)
        m.submodules.status = status = StatusRegisters(
            error_width=ERROR_WIDTH, counter_width=COUNTER_WIDTH,
            counters={"cycles_busy": 1, "ohmma_issued": 1, "useful_macs": config.macs,
                      "mac_slots": config.macs})
        assert accumulator.signature == scatter_signature(config)
        assert self.REGISTER_STAGES + accumulator.latency == pipeline_latency(config)
        wiring.connect(m, wiring.flipped(self.rsp), drain.rsp)

        cmd, opcode, body = self.cmd, self.cmd.payload.opcode, self.cmd.payload.body
        issue = sequencer.issue

        # -- pipeline registers: issue -> multiply -> accumulate ------------------------------
        mul_valid, mul_issue = Signal(), Signal(issue_layout(config))
        acc_valid, acc_scatter = Signal(), Signal(scatter_layout(config))
        m.d.sync += [mul_valid.eq(issue.valid), mul_issue.eq(issue.payload),
                     acc_valid.eq(mul_valid),
                     acc_scatter.placement.eq(mul_issue.placement),
                     acc_scatter.products.eq(multipliers.products)]
        m.d.comb += [multipliers.a.eq(mul_issue.a_values), multipliers.b.eq(mul_issue.b_values)]
        pipeline_empty = Signal()
        m.d.comb += pipeline_empty.eq(~issue.valid & ~mul_valid & ~acc_valid)

        # -- command acceptance ---------------------------------------------------------------
        with m.Switch(opcode):
            with m.Case(*sorted(ISSUE_OPCODES)):
                m.d.comb += cmd.ready.eq(sequencer.work.ready & ~drain.busy)
            with m.Case(*sorted(TILE_OPCODES)):
                m.d.comb += cmd.ready.eq(pipeline_empty & ~drain.busy)
            with m.Default():
                m.d.comb += cmd.ready.eq(~drain.busy)
        fire = Signal()
        m.d.comb += fire.eq(cmd.valid & cmd.ready)

        def firing(op):
            return fire & (opcode == op)

        # -- SpWMMA header and KSTEP checks, OHMMA lane checks --------------------------------
        kstep, ohmma = body.kstep, body.ohmma
        m.d.comb += [
            tracker.header.eq(body.header),
            tracker.k.eq(kstep.k), tracker.a_count.eq(kstep.a_count),
            tracker.b_count.eq(kstep.b_count),
            tracker.open.eq(firing(Opcode.SPWMMA)),
            tracker.retire.eq(firing(Opcode.KSTEP) & tracker.ok),
            tracker.abort.eq(fire & (opcode != Opcode.KSTEP) & (opcode != Opcode.CLEAR_STATUS)),
            row_check.indices.eq(ohmma.placement.rows),
            row_check.valid.eq(ohmma.placement.row_valid),
            col_check.indices.eq(ohmma.placement.cols),
            col_check.valid.eq(ohmma.placement.col_valid),
        ]
        ohmma_conflict = Signal()
        m.d.comb += ohmma_conflict.eq(row_check.conflict | col_check.conflict)

        # -- work for the sequencer -----------------------------------------------------------
        self._drive_work(m, sequencer.work, cmd, ~drain.busy, tracker, ohmma_conflict)

        # -- accumulator ----------------------------------------------------------------------
        m.d.comb += [
            accumulator.clear.eq(firing(Opcode.CLEAR)),
            accumulator.load_en.eq(firing(Opcode.LOAD_ROW)),
            accumulator.load_row.eq(body.load.row),
            accumulator.load_data.eq(body.load.values),
            accumulator.scatter_en.eq(acc_valid),
            accumulator.scatter.eq(acc_scatter),
            accumulator.read_row.eq(drain.row),
        ]

        # -- drain: tile row -> ReLU -> encoder -> response register --------------------------
        drain_relu, drain_encode = Signal(), Signal()
        with m.If(firing(Opcode.DRAIN)):
            m.d.sync += [drain_relu.eq(body.drain.relu), drain_encode.eq(body.drain.encode)]
        row_values = Signal.like(accumulator.read_data)
        m.d.comb += [
            drain.start.eq(firing(Opcode.DRAIN)),
            relu.values.eq(accumulator.read_data),
            row_values.eq(Mux(drain_relu, relu.result, accumulator.read_data)),
            encoder.values.eq(row_values),
            drain.payload.eq(struct_value(
                m, response_layout(config), "response",
                row=drain.row, last=drain.last, encoded=drain_encode, count=encoder.count,
                bitmap=encoder.bitmap, values=Mux(drain_encode, encoder.packed, row_values))),
        ]

        # -- errors, counters, idle -----------------------------------------------------------
        raised = {
            ErrorFlag.UNKNOWN_OPCODE: fire & ~Cat(opcode == op for op in Opcode).any(),
            ErrorFlag.KSTEP_UNEXPECTED: firing(Opcode.KSTEP) & tracker.unexpected,
            ErrorFlag.KSTEP_ORDER: firing(Opcode.KSTEP) & tracker.order,
            ErrorFlag.COUNT_MISMATCH: firing(Opcode.KSTEP) & tracker.count_mismatch,
            ErrorFlag.SPWMMA_ABORTED: tracker.abort & tracker.expecting,
            ErrorFlag.OHMMA_CONFLICT: firing(Opcode.OHMMA) & ohmma_conflict,
        }
        useful_macs = self._useful_macs(m, issue.payload)
        increments = {
            "cycles_busy": fire | issue.valid | mul_valid | acc_valid | drain.busy,
            "ohmma_issued": issue.valid,
            "useful_macs": Mux(issue.valid, useful_macs, 0),
            "mac_slots": Mux(issue.valid, config.macs, 0),
        }
        m.d.comb += [
            status.clear.eq(firing(Opcode.CLEAR_STATUS)),
            status.raised.eq(Cat(raised[flag] for flag in sorted(ErrorFlag))),  # bits 0, 1, ..
            self.errors.eq(status.errors),
            [getattr(status, f"{name}_increment").eq(value) for name, value in increments.items()],
            [getattr(self, name).eq(getattr(status, name)) for name in COUNTERS],
            self.idle.eq(pipeline_empty & ~drain.busy & ~tracker.expecting & ~self.rsp.valid),
        ]
        return m

    def _drive_work(self, m, work, cmd, open_, tracker, ohmma_conflict):
        """Offer the command on ``cmd`` to the sequencer's ``work`` stream when ``open_``: a
        KSTEP that passes the tracker's checks, a DENSE k-step (all-ones bitmaps, full chunk
        counts) or a conflict-free OHMMA with a valid lane on each side (``direct``)."""
        config = self._config
        rows, cols = config.array_rows, config.array_cols
        body = cmd.payload.body
        kstep, ohmma = body.kstep, body.ohmma
        with m.Switch(cmd.payload.opcode):
            with m.Case(Opcode.KSTEP):
                m.d.comb += [
                    work.payload.a_bitmap.eq(tracker.a_bitmap),
                    work.payload.b_bitmap.eq(tracker.b_bitmap),
                    work.payload.a_values.eq(kstep.a_values),
                    work.payload.b_values.eq(kstep.b_values),
                    work.payload.a_chunks.eq((tracker.a_popcount + rows - 1) >> exact_log2(rows)),
                    work.payload.b_chunks.eq((tracker.b_popcount + cols - 1) >> exact_log2(cols)),
                    work.valid.eq(cmd.valid & open_ & tracker.ok),
                ]
            with m.Case(Opcode.DENSE):
                m.d.comb += [
                    work.payload.a_bitmap.eq(-1), work.payload.b_bitmap.eq(-1),
                    work.payload.a_values.eq(kstep.a_values),
                    work.payload.b_values.eq(kstep.b_values),
                    work.payload.a_chunks.eq(config.a_chunks),
                    work.payload.b_chunks.eq(config.b_chunks),
                    work.valid.eq(cmd.valid & open_),
                ]
            with m.Case(Opcode.OHMMA):
                placement = ohmma.placement
                m.d.comb += [
                    work.payload.direct.eq(1),
                    work.payload.a_values.eq(ohmma.a_values),
                    work.payload.b_values.eq(ohmma.b_values),
                    work.payload.placement.eq(placement),
                    work.payload.a_chunks.eq(1), work.payload.b_chunks.eq(1),
                    work.valid.eq(cmd.valid & open_ & ~ohmma_conflict &
                                  placement.row_valid.any() & placement.col_valid.any()),
                ]

    def _useful_macs(self, m, issue):
        """Products of the OHMMA ``issue`` whose both operands are nonzero lanes (valid, with
        a nonzero magnitude: ``-0.0`` counts as zero), from two small popcounts
        (``a_useful``, ``b_useful``)."""
        config = self._config
        operand = config.operand
        magnitude = operand.width - (1 if operand.is_float else 0)
        m.submodules.a_useful = a_useful = Popcount(config.array_rows)
        m.submodules.b_useful = b_useful = Popcount(config.array_cols)
        placement = issue.placement
        m.d.comb += [
            a_useful.bitmap.eq(placement.row_valid & Cat(
                Value.cast(value)[:magnitude].any() for value in issue.a_values)),
            b_useful.bitmap.eq(placement.col_valid & Cat(
                Value.cast(value)[:magnitude].any() for value in issue.b_values)),
        ]
        return a_useful.count * b_useful.count
