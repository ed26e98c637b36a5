"""The Dual-side Sparse Tensor Core of one sub-core."""

from amaranth import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.utils import exact_log2

from ..sim.isa import ISSUE_OPCODES, TILE_OPCODES, pipeline_latency
from .accumulator import AccumulatorTile
from .accumulator_signature import drive_storage, scatter_signature
from .chunk_sequencer import ChunkSequencer
from .class_rounds import ClassRounds
from .drain_sequencer import DrainSequencer
from .isa import (
    COUNTER_WIDTH,
    ERROR_WIDTH,
    ErrorFlag,
    Opcode,
    command_layout,
    core_signature,
    response_layout,
)
from .multiply_stage import MultiplyStage
from .placement_check import PlacementCheck
from .popcount import Popcount
from .reach_accumulator import ReachAccumulator
from .response_formatter import ResponseFormatter
from .spwmma_tracker import SpwmmaTracker
from .status_registers import StatusRegisters

__all__ = ["DstcCore", "COUNTERS", "accumulator_for"]

#: Performance counter outputs, in the order docs/isa.md lists them.
COUNTERS = ("cycles_busy", "ohmma_issued", "useful_macs", "mac_slots")


def accumulator_for(config):
    """The accumulator variant ``config`` selects, a component with
    :func:`~dstc.hw.accumulator_signature.scatter_signature`: the crossbar
    (:class:`~dstc.hw.accumulator.AccumulatorTile`) or, for ``lane_placement="reach"``,
    :class:`~dstc.hw.reach_accumulator.ReachAccumulator`."""
    if config.lane_placement == "reach":
        return ReachAccumulator(config)
    return AccumulatorTile(config)


class DstcCore(wiring.Component):
    """One DSTC sub-core: command stream in, drained rows out (docs/isa.md).

    Pipeline: the chunk sequencer issues one OHMMA per cycle; the multiply stage registers
    the operands into the multiplier array and the products into the accumulator, which
    scatter-adds them in the cycle it receives them. An OHMMA issued in cycle ``t`` updates
    the tile at the end of cycle ``t + pipeline_latency(config)``
    (:func:`~dstc.sim.isa.pipeline_latency`: the multiply stage's ``latency`` plus the
    accumulator's), and nothing ever stalls the pipeline.

    With ``tile_buffers=2`` a DRAIN swaps the accumulator's two tile buffers and drains the
    one it computed in, while the commands after it (all but the next DRAIN) work on the
    other (docs/isa.md, "Two tile buffers").

    The accumulator is the variant the configuration selects (:func:`accumulator_for`); with
    lane classes the KSTEP's chunk counts are class rounds
    (:class:`~dstc.hw.class_rounds.ClassRounds`, ``a_rounds``/``b_rounds``).

    Ports: ``cmd`` (stream in, :func:`~dstc.hw.isa.command_layout`), ``rsp`` (stream out,
    :func:`~dstc.hw.isa.response_layout`), ``errors`` (sticky :class:`ErrorFlag` bits),
    ``idle``, and the counters ``cycles_busy``, ``ohmma_issued``, ``useful_macs``,
    ``mac_slots`` (:data:`COUNTER_WIDTH` bits each). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        self._config = config
        super().__init__(core_signature(command_layout(config), response_layout(config), COUNTERS))

    @property
    def config(self):
        return self._config

    def elaborate(self, platform):
        m = Module()
        config = self._config
        m.submodules.tracker = tracker = SpwmmaTracker(config)
        m.submodules.ohmma_check = ohmma_check = PlacementCheck(config)
        m.submodules.sequencer = sequencer = ChunkSequencer(config)
        m.submodules.multiply = multiply = MultiplyStage(config)
        m.submodules.accumulator = accumulator = accumulator_for(config)
        m.submodules.formatter = formatter = ResponseFormatter(config)
        m.submodules.drain = drain = DrainSequencer(response_layout(config), config.tile_m)
        m.submodules.status = status = StatusRegisters(
            error_width=ERROR_WIDTH, counter_width=COUNTER_WIDTH,
            counters={"cycles_busy": 1, "ohmma_issued": 1, "useful_macs": config.macs,
                      "mac_slots": 1}, steps={"mac_slots": config.macs})
        assert accumulator.signature == scatter_signature(config)
        assert multiply.latency + accumulator.latency == pipeline_latency(config)
        wiring.connect(m, sequencer.issue, multiply.issue)
        wiring.connect(m, wiring.flipped(self.rsp), drain.rsp)
        cmd, opcode, body = self.cmd, self.cmd.payload.opcode, self.cmd.payload.body
        issue = sequencer.issue

        pipeline_empty = Signal()
        m.d.comb += pipeline_empty.eq(~issue.valid & ~multiply.busy)

        # -- command acceptance: with one tile buffer nothing while a drain runs, with two
        # only the next DRAIN waits for it (the others work on the front buffer) -----------
        free = Signal()
        m.d.comb += free.eq(~drain.busy if config.tile_buffers == 1 else 1)
        with m.Switch(opcode):
            with m.Case(*sorted(ISSUE_OPCODES)):
                m.d.comb += cmd.ready.eq(sequencer.work.ready & free)
            with m.Case(Opcode.DRAIN):
                m.d.comb += cmd.ready.eq(pipeline_empty & ~drain.busy)
            with m.Case(*sorted(TILE_OPCODES - {Opcode.DRAIN})):
                m.d.comb += cmd.ready.eq(pipeline_empty & free)
            with m.Default():
                m.d.comb += cmd.ready.eq(free)
        fire = Signal()
        m.d.comb += fire.eq(cmd.valid & cmd.ready)

        def firing(op):
            return fire & (opcode == op)

        # -- SpWMMA tracking and checks, then work for the sequencer --------------------------
        m.d.comb += [
            tracker.header.eq(body.header), tracker.kstep_k.eq(body.kstep.k),
            tracker.kstep_a_count.eq(body.kstep.a_count),
            tracker.kstep_b_count.eq(body.kstep.b_count),
            tracker.open.eq(firing(Opcode.SPWMMA)),
            tracker.retire.eq(firing(Opcode.KSTEP) & tracker.ok),
            tracker.abort.eq(fire & (opcode != Opcode.KSTEP) & (opcode != Opcode.CLEAR_STATUS)),
            ohmma_check.placement.eq(body.ohmma.placement),
        ]
        self._drive_work(m, sequencer.work, cmd, free, tracker, ohmma_check)

        # -- accumulator, drain: tile row -> formatter -> response register -------------------
        drain_mode = Signal.like(body.drain)         # the DRAIN's options, for its whole run
        with m.If(firing(Opcode.DRAIN)):
            m.d.sync += drain_mode.eq(body.drain)
        m.d.comb += drive_storage(accumulator, clear=firing(Opcode.CLEAR),
                                  load_en=firing(Opcode.LOAD_ROW), load=body.load,
                                  read_row=drain.row, swap=firing(Opcode.DRAIN))
        m.d.comb += [
            accumulator.scatter_en.eq(multiply.scatter_en),
            accumulator.scatter.eq(multiply.scatter),
            drain.start.eq(firing(Opcode.DRAIN)),
            formatter.row.eq(drain.row), formatter.last.eq(drain.last),
            formatter.values.eq(accumulator.read_data),
            formatter.mode.eq(drain_mode),
            drain.payload.eq(formatter.response),
        ]

        # -- errors, counters, idle -----------------------------------------------------------
        raised = {
            ErrorFlag.UNKNOWN_OPCODE: fire & ~Cat(opcode == op for op in Opcode).any(),
            ErrorFlag.KSTEP_UNEXPECTED: firing(Opcode.KSTEP) & tracker.unexpected,
            ErrorFlag.KSTEP_ORDER: firing(Opcode.KSTEP) & tracker.order,
            ErrorFlag.COUNT_MISMATCH: firing(Opcode.KSTEP) & tracker.count_mismatch,
            ErrorFlag.SPWMMA_ABORTED: tracker.abort & tracker.expecting,
            ErrorFlag.OHMMA_CONFLICT: firing(Opcode.OHMMA) & ohmma_check.conflict,
            ErrorFlag.OHMMA_REACH: (firing(Opcode.OHMMA) & ~ohmma_check.conflict
                                    & ohmma_check.out_of_reach),
        }
        increments = {
            "cycles_busy": fire | issue.valid | multiply.busy | drain.busy,
            "ohmma_issued": issue.valid,
            "useful_macs": Mux(issue.valid, self._useful_macs(m, issue.payload), 0),
            "mac_slots": issue.valid,                       # times config.macs
        }
        m.d.comb += [
            status.clear.eq(firing(Opcode.CLEAR_STATUS)),
            status.raised.eq(Cat(raised[flag] for flag in sorted(ErrorFlag))),  # bits 0, 1, ..
            [getattr(status, f"{name}_increment").eq(value) for name, value in increments.items()],
            self.errors.eq(status.errors),
            [getattr(self, name).eq(getattr(status, name)) for name in COUNTERS],
            self.idle.eq(pipeline_empty & ~drain.busy & ~tracker.expecting & ~self.rsp.valid),
        ]
        return m

    def _drive_work(self, m, work, cmd, open_, tracker, ohmma_check):
        """Offer the command on ``cmd`` to the sequencer's ``work`` stream when ``open_``: a
        KSTEP that passes the tracker's checks, a DENSE k-step (all-ones bitmaps, full chunk
        counts) or a conflict-free OHMMA whose lanes reach their cells, with a valid lane on
        each side (``direct``)."""
        config = self._config
        rows, cols = config.array_rows, config.array_cols
        body = cmd.payload.body
        kstep, ohmma = body.kstep, body.ohmma
        a_rounds = self._rounds(m, "a", tracker.a_bitmap, tracker.a_popcount, config.tile_m,
                                rows, config.row_classes)
        b_rounds = self._rounds(m, "b", tracker.b_bitmap, tracker.b_popcount, config.tile_n,
                                cols, config.col_classes)
        with m.Switch(cmd.payload.opcode):
            with m.Case(Opcode.KSTEP):
                m.d.comb += [
                    work.payload.a_bitmap.eq(tracker.a_bitmap),
                    work.payload.b_bitmap.eq(tracker.b_bitmap),
                    work.payload.a_values.eq(kstep.a_values),
                    work.payload.b_values.eq(kstep.b_values),
                    work.payload.a_chunks.eq(a_rounds),
                    work.payload.b_chunks.eq(b_rounds),
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
                    work.valid.eq(cmd.valid & open_ & ~ohmma_check.conflict &
                                  ~ohmma_check.out_of_reach & ~ohmma_check.empty),
                ]

    def _rounds(self, m, side, bitmap, popcount, width, lanes, classes):
        """Chunks (issue rounds) of one side of a KSTEP: ``ceil(popcount / lanes)``, or with
        lane classes ``max_g ceil(n_g / (lanes / classes))`` (:class:`ClassRounds`,
        ``<side>_rounds``)."""
        if classes == 1:
            return (popcount + lanes - 1) >> exact_log2(lanes)
        rounds = m.submodules[f"{side}_rounds"] = ClassRounds(width, lanes, classes)
        m.d.comb += rounds.bitmap.eq(bitmap)
        return rounds.rounds

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
