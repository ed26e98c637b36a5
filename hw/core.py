"""The Dual-side Sparse Tensor Core of one sub-core."""

import types

from amaranth import C, Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.utils import exact_log2

from ..sim.isa import TILE_OPCODES, core_opcodes, issue_opcodes, pipeline_latency
from .accumulator import AccumulatorTile
from .accumulator_signature import drive_storage, scatter_signature
from .chunk_sequencer import ChunkSequencer
from .class_rounds import ClassRounds
from .command_accept import accept_commands
from .config_component import ConfigComponent
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
from .kstep_check import InlineKstepCheck
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


class DstcCore(ConfigComponent):
    """One DSTC sub-core: command stream in, drained rows out (docs/isa.md).

    Pipeline: the chunk sequencer issues one OHMMA per cycle; the multiply stage registers
    the operands into the multiplier array and the products into the accumulator, which
    scatter-adds them in the cycle it receives them or, with ``accumulate_stages`` 2 or 3,
    over that many cycles (``accumulate_in_flight`` tracks them for the pipeline-empty
    condition of the tile commands and for ``cycles_busy``). An OHMMA issued in cycle ``t`` updates
    the tile at the end of cycle ``t + pipeline_latency(config)``
    (:func:`~dstc.sim.isa.pipeline_latency`: the multiply stage's ``latency`` plus the
    accumulator's), and nothing ever stalls the pipeline.

    With ``tile_buffers=2`` a DRAIN swaps the accumulator's two tile buffers and drains the
    one it computed in, while the commands after it (all but the next DRAIN) work on the
    other (docs/isa.md, "Two tile buffers").

    The accumulator is the variant the configuration selects (:func:`accumulator_for`); with
    lane classes the KSTEP's chunk counts are class rounds
    (:class:`~dstc.hw.class_rounds.ClassRounds`, ``a_rounds``/``b_rounds``). A KSTEP's bitmaps
    come from the open SpWMMA's header (:class:`~dstc.hw.spwmma_tracker.SpwmmaTracker`,
    ``tracker``) or, with ``kstep_bitmaps="inline"``, from the KSTEP itself
    (:class:`~dstc.hw.kstep_check.InlineKstepCheck`, ``kstep_check``: no header register,
    and SPWMMA is an unknown opcode).

    Ports: ``cmd`` (stream in, :func:`~dstc.hw.isa.command_layout`), ``rsp`` (stream out,
    :func:`~dstc.hw.isa.response_layout`), ``errors`` (sticky :class:`ErrorFlag` bits),
    ``idle``, and the counters ``cycles_busy``, ``ohmma_issued``, ``useful_macs``,
    ``mac_slots`` (:data:`COUNTER_WIDTH` bits each). Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        super().__init__(config, core_signature(command_layout(config), response_layout(config),
                                                COUNTERS))

    def elaborate(self, platform):
        m = Module()
        config = self.config
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

        # In flight past the issue: in the multiply stage's two registers or, with a
        # pipelined accumulate, in the accumulator's later stages (``accumulate_in_flight``:
        # bit i-1 set when a scatter was presented i cycles ago, i = 1 .. latency).
        pipeline_busy = multiply.busy
        if accumulator.latency:
            in_flight = Signal(accumulator.latency, name="accumulate_in_flight")
            m.d.sync += in_flight.eq(Cat(multiply.scatter_en, in_flight[:-1]))
            pipeline_busy = multiply.busy | in_flight.any()
        pipeline_empty = Signal()
        m.d.comb += pipeline_empty.eq(~issue.valid & ~pipeline_busy)

        # -- command acceptance: with one tile buffer nothing while a drain runs, with two
        # only the next DRAIN waits for it (the others work on the front buffer) -----------
        free = Signal()
        m.d.comb += free.eq(~drain.busy if config.tile_buffers == 1 else 1)
        fire, firing = accept_commands(m, cmd, [
            (issue_opcodes(config), sequencer.work.ready & free),
            ({Opcode.DRAIN}, pipeline_empty & ~drain.busy),
            (TILE_OPCODES - {Opcode.DRAIN}, pipeline_empty & free),
        ], default=free)

        # -- SpWMMA tracking and checks, then work for the sequencer --------------------------
        kstep = self._kstep_checks(m, body, fire, firing)
        m.d.comb += ohmma_check.placement.eq(body.ohmma.placement)
        self._drive_work(m, sequencer.work, cmd, free, kstep, ohmma_check)

        # -- accumulator, drain: tile row -> formatter -> response register -------------------
        drain_mode = Signal.like(body.drain)         # the DRAIN's options, for its whole run
        with m.If(firing(Opcode.DRAIN)):
            m.d.sync += drain_mode.eq(body.drain)
        m.d.comb += drive_storage(accumulator, firing, load=body.load, read_row=drain.row)
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
            ErrorFlag.UNKNOWN_OPCODE: fire & ~Cat(opcode == op
                                                  for op in sorted(core_opcodes(config))).any(),
            ErrorFlag.KSTEP_UNEXPECTED: firing(Opcode.KSTEP) & kstep.unexpected,
            ErrorFlag.KSTEP_ORDER: firing(Opcode.KSTEP) & kstep.order,
            ErrorFlag.COUNT_MISMATCH: firing(Opcode.KSTEP) & kstep.count_mismatch,
            ErrorFlag.SPWMMA_ABORTED: kstep.aborted,
            ErrorFlag.OHMMA_CONFLICT: firing(Opcode.OHMMA) & ohmma_check.conflict,
            ErrorFlag.OHMMA_REACH: (firing(Opcode.OHMMA) & ~ohmma_check.conflict
                                    & ohmma_check.out_of_reach),
        }
        # The useful products of an OHMMA count one cycle after its issue (a register cuts
        # the path from the sequencer's decode through the popcounts and their product to the
        # counter's adder); the pipeline is busy in that cycle, so nothing observes the lag.
        useful = Signal(range(config.macs + 1))
        m.d.sync += useful.eq(Mux(issue.valid, self._useful_macs(m, issue.payload), 0))
        increments = {
            "cycles_busy": fire | issue.valid | pipeline_busy | drain.busy,
            "ohmma_issued": issue.valid,
            "useful_macs": useful,
            "mac_slots": issue.valid,                       # times config.macs
        }
        m.d.comb += [
            status.clear.eq(firing(Opcode.CLEAR_STATUS)),
            status.raised.eq(Cat(raised[flag] for flag in sorted(ErrorFlag))),  # bits 0, 1, ..
            [getattr(status, f"{name}_increment").eq(value) for name, value in increments.items()],
            self.errors.eq(status.errors),
            [getattr(self, name).eq(getattr(status, name)) for name in COUNTERS],
            self.idle.eq(pipeline_empty & ~drain.busy & ~kstep.expecting & ~self.rsp.valid),
        ]
        return m

    def _kstep_checks(self, m, body, fire, firing):
        """The checks of the KSTEP on the command port and its k-step's bitmaps.

        With ``kstep_bitmaps="header"``: the :class:`SpwmmaTracker` (``tracker``), which holds
        the open SpWMMA's header and pending k-steps, opened by SPWMMA, retired by an accepted
        KSTEP that passes its checks and aborted by any other accepted command but
        CLEAR_STATUS. With ``"inline"``: :class:`InlineKstepCheck` (``kstep_check``) on the
        beat's own bitmaps, no state (KSTEP_UNEXPECTED, KSTEP_ORDER and SPWMMA_ABORTED cannot
        occur). Returns a namespace of signals: ``a_bitmap``, ``b_bitmap``, ``a_popcount``,
        ``b_popcount``, ``issue`` (offer the k-step to the sequencer), ``unexpected``,
        ``order``, ``count_mismatch``, ``aborted`` (an accepted command ends an open SpWMMA)
        and ``expecting`` (k-steps are pending)."""
        config = self.config
        kstep = body.kstep
        if config.inline_kstep:
            m.submodules.kstep_check = check = InlineKstepCheck(config)
            m.d.comb += [
                check.a_bitmap.eq(kstep.a_bitmap), check.b_bitmap.eq(kstep.b_bitmap),
                check.kstep_a_count.eq(kstep.a_count), check.kstep_b_count.eq(kstep.b_count),
            ]
            return types.SimpleNamespace(
                a_bitmap=check.a_bitmap, b_bitmap=check.b_bitmap, a_popcount=check.a_popcount,
                b_popcount=check.b_popcount, issue=check.issue, unexpected=C(0, 1),
                order=C(0, 1), count_mismatch=check.count_mismatch, aborted=C(0, 1),
                expecting=C(0, 1))
        m.submodules.tracker = tracker = SpwmmaTracker(config)
        opcode = self.cmd.payload.opcode
        m.d.comb += [
            tracker.header.eq(body.header), tracker.kstep_k.eq(kstep.k),
            tracker.kstep_a_count.eq(kstep.a_count),
            tracker.kstep_b_count.eq(kstep.b_count),
            tracker.open.eq(firing(Opcode.SPWMMA)),
            tracker.retire.eq(firing(Opcode.KSTEP) & tracker.ok),
            tracker.abort.eq(fire & (opcode != Opcode.KSTEP) & (opcode != Opcode.CLEAR_STATUS)),
        ]
        return types.SimpleNamespace(
            a_bitmap=tracker.a_bitmap, b_bitmap=tracker.b_bitmap, a_popcount=tracker.a_popcount,
            b_popcount=tracker.b_popcount, issue=tracker.ok, unexpected=tracker.unexpected,
            order=tracker.order, count_mismatch=tracker.count_mismatch,
            aborted=tracker.abort & tracker.expecting, expecting=tracker.expecting)

    def _drive_work(self, m, work, cmd, open_, checks, ohmma_check):
        """Offer the command on ``cmd`` to the sequencer's ``work`` stream when ``open_``: a
        KSTEP that passes its ``checks`` (:meth:`_kstep_checks`) with a nonzero on both sides,
        a DENSE k-step (all-ones bitmaps, full chunk counts) or a conflict-free OHMMA whose
        lanes reach their cells, with a valid lane on each side (``direct``)."""
        config = self.config
        rows, cols = config.array_rows, config.array_cols
        body = cmd.payload.body
        kstep, ohmma = body.kstep, body.ohmma
        a_rounds = self._rounds(m, "a", checks.a_bitmap, checks.a_popcount, config.tile_m,
                                rows, config.row_classes)
        b_rounds = self._rounds(m, "b", checks.b_bitmap, checks.b_popcount, config.tile_n,
                                cols, config.col_classes)
        with m.Switch(cmd.payload.opcode):
            with m.Case(Opcode.KSTEP):
                m.d.comb += [
                    work.payload.a_bitmap.eq(checks.a_bitmap),
                    work.payload.b_bitmap.eq(checks.b_bitmap),
                    work.payload.a_values.eq(kstep.a_values),
                    work.payload.b_values.eq(kstep.b_values),
                    work.payload.a_chunks.eq(a_rounds),
                    work.payload.b_chunks.eq(b_rounds),
                    work.valid.eq(cmd.valid & open_ & checks.issue),
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
        config = self.config
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
