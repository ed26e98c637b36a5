"""The Dual-side Sparse Tensor Core of one sub-core."""

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from ..sim.cycles import ISSUE_OPCODES, TILE_OPCODES
from .accumulator import AccumulatorTile, scatter_layout
from .bitmap_encoder import BitmapEncoder
from .chunk_sequencer import ChunkSequencer, issue_layout
from .distinct_check import DistinctCheck
from .isa import COUNTER_WIDTH, ERROR_WIDTH, ErrorFlag, Opcode, command_layout, response_layout
from .multiplier_array import MultiplierArray
from .popcount import Popcount
from .relu import Relu
from .shapes import index_shape

__all__ = ["DstcCore", "COUNTERS"]

#: Performance counter outputs, in the order docs/isa.md lists them.
COUNTERS = ("cycles_busy", "ohmma_issued", "useful_macs", "mac_slots")



class DstcCore(wiring.Component):
    """One DSTC sub-core: command stream in, drained rows out (docs/isa.md).

    Pipeline: the chunk sequencer issues one OHMMA per cycle; the operands are registered
    into the multiplier array; the products are registered into the accumulator, which
    scatter-adds them in one cycle. An OHMMA issued in cycle t updates the tile at the end of
    cycle t + 2 (``PIPELINE_LATENCY``), and nothing ever stalls the pipeline.

    Ports: ``cmd`` (stream in, :func:`~dstc.hw.isa.command_layout`), ``rsp`` (stream out,
    :func:`~dstc.hw.isa.response_layout`), ``errors`` (sticky :class:`ErrorFlag` bits),
    ``idle``, and the counters ``cycles_busy``, ``ohmma_issued``, ``useful_macs``,
    ``mac_slots``. Parameter: ``config``.
    """

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
        rows, cols = config.array_rows, config.array_cols

        m.submodules.sequencer = sequencer = ChunkSequencer(config)
        m.submodules.multipliers = multipliers = MultiplierArray(config)
        m.submodules.accumulator = accumulator = AccumulatorTile(config)
        m.submodules.relu = relu = Relu(config.tile_n, config.accum)
        m.submodules.encoder = encoder = BitmapEncoder(config.tile_n, config.accum)
        m.submodules.a_count = a_count = Popcount(config.tile_m)
        m.submodules.b_count = b_count = Popcount(config.tile_n)
        m.submodules.row_check = row_check = DistinctCheck(rows, config.tile_m)
        m.submodules.col_check = col_check = DistinctCheck(cols, config.tile_n)
        m.submodules.a_useful = a_useful = Popcount(rows)
        m.submodules.b_useful = b_useful = Popcount(cols)

        cmd, rsp = self.cmd, self.rsp
        opcode, body = cmd.payload.opcode, cmd.payload.body

        # -- state ----------------------------------------------------------------------------
        a_bitmaps = Signal.like(body.header.a_bitmaps, name="a_bitmaps")
        b_bitmaps = Signal.like(body.header.b_bitmaps, name="b_bitmaps")
        pending = Signal(config.k_chunk)            # k-steps still expecting a KSTEP
        m_valid, m_issue = Signal(), Signal(issue_layout(config))
        a_valid, a_scatter = Signal(), Signal(scatter_layout(config))
        draining, drain_row = Signal(), Signal(index_shape(config.tile_m))
        drain_relu, drain_encode = Signal(), Signal()

        # -- command acceptance ---------------------------------------------------------------
        pipeline_empty = Signal()
        m.d.comb += pipeline_empty.eq(~sequencer.busy & ~m_valid & ~a_valid)
        with m.Switch(opcode):
            with m.Case(*sorted(ISSUE_OPCODES)):
                m.d.comb += cmd.ready.eq(sequencer.free & ~draining)
            with m.Case(*sorted(TILE_OPCODES)):
                m.d.comb += cmd.ready.eq(pipeline_empty & ~draining)
            with m.Default():
                m.d.comb += cmd.ready.eq(~draining)
        fire = Signal()
        m.d.comb += fire.eq(cmd.valid & cmd.ready)

        def firing(*opcodes):
            return fire & Cat(opcode == op for op in opcodes).any()

        # -- SpWMMA header and KSTEP checks ---------------------------------------------------
        expected_k = Signal(index_shape(config.k_chunk))
        for k in reversed(range(config.k_chunk)):       # lowest pending k wins
            with m.If(pending[k]):
                m.d.comb += expected_k.eq(k)
        kstep = body.kstep
        a_map, b_map = Signal(config.tile_m), Signal(config.tile_n)
        m.d.comb += [
            a_map.eq(a_bitmaps[kstep.k]),
            b_map.eq(b_bitmaps[kstep.k]),
            a_count.bitmap.eq(a_map),
            b_count.bitmap.eq(b_map),
        ]
        kstep_unexpected, kstep_order, count_mismatch = Signal(), Signal(), Signal()
        kstep_ok = Signal()
        m.d.comb += [
            kstep_unexpected.eq(~pending.any()),
            kstep_order.eq(~kstep_unexpected & (kstep.k != expected_k)),
            count_mismatch.eq(~kstep_unexpected & ~kstep_order &
                              ((kstep.a_count != a_count.count) |
                               (kstep.b_count != b_count.count))),
            kstep_ok.eq(~kstep_unexpected & ~kstep_order & ~count_mismatch),
        ]

        ohmma = body.ohmma
        m.d.comb += [
            row_check.indices.eq(ohmma.a_rows), row_check.valid.eq(ohmma.a_valid),
            col_check.indices.eq(ohmma.b_cols), col_check.valid.eq(ohmma.b_valid),
        ]
        ohmma_conflict = Signal()
        m.d.comb += ohmma_conflict.eq(row_check.conflict | col_check.conflict)

        nonempty = Cat(body.header.a_bitmaps[k].any() & body.header.b_bitmaps[k].any()
                       for k in range(config.k_chunk))
        with m.If(firing(Opcode.SPWMMA)):
            m.d.sync += [a_bitmaps.eq(body.header.a_bitmaps),
                         b_bitmaps.eq(body.header.b_bitmaps),
                         pending.eq(nonempty)]
        with m.Elif(firing(Opcode.KSTEP) & kstep_ok):
            m.d.sync += pending.eq(pending & ~(Const(1, config.k_chunk) << kstep.k))
        with m.Elif(fire & (opcode != Opcode.KSTEP) & (opcode != Opcode.CLEAR_STATUS)):
            m.d.sync += pending.eq(0)

        # -- work for the sequencer -----------------------------------------------------------
        work = sequencer.work
        row_shift, col_shift = exact_log2(rows), exact_log2(cols)
        with m.Switch(opcode):
            with m.Case(Opcode.KSTEP):
                m.d.comb += [
                    work.a_bitmap.eq(a_map), work.b_bitmap.eq(b_map),
                    work.a_values.eq(kstep.a_values), work.b_values.eq(kstep.b_values),
                    work.a_chunks.eq((a_count.count + rows - 1) >> row_shift),
                    work.b_chunks.eq((b_count.count + cols - 1) >> col_shift),
                    sequencer.load.eq(fire & kstep_ok),
                ]
            with m.Case(Opcode.DENSE):
                m.d.comb += [
                    work.a_bitmap.eq(-1), work.b_bitmap.eq(-1),
                    work.a_values.eq(kstep.a_values), work.b_values.eq(kstep.b_values),
                    work.a_chunks.eq(config.a_chunks), work.b_chunks.eq(config.b_chunks),
                    sequencer.load.eq(fire),
                ]
            with m.Case(Opcode.OHMMA):
                m.d.comb += [
                    work.direct.eq(1),
                    work.a_values.eq(ohmma.a_values), work.b_values.eq(ohmma.b_values),
                    work.a_rows.eq(ohmma.a_rows), work.a_valid.eq(ohmma.a_valid),
                    work.b_cols.eq(ohmma.b_cols), work.b_valid.eq(ohmma.b_valid),
                    work.a_chunks.eq(1), work.b_chunks.eq(1),
                    sequencer.load.eq(fire & ~ohmma_conflict & ohmma.a_valid.any() &
                                      ohmma.b_valid.any()),
                ]

        # -- pipeline: issue -> multiply -> accumulate ----------------------------------------
        m.d.sync += [m_valid.eq(sequencer.issue_valid), m_issue.eq(sequencer.issue)]
        m.d.comb += [multipliers.a.eq(m_issue.a_values), multipliers.b.eq(m_issue.b_values)]
        m.d.sync += [
            a_valid.eq(m_valid),
            a_scatter.rows.eq(m_issue.rows), a_scatter.row_valid.eq(m_issue.row_valid),
            a_scatter.cols.eq(m_issue.cols), a_scatter.col_valid.eq(m_issue.col_valid),
            a_scatter.products.eq(multipliers.products),
        ]
        load = body.load
        m.d.comb += [
            accumulator.clear.eq(firing(Opcode.CLEAR)),
            accumulator.load_en.eq(firing(Opcode.LOAD_ROW)),
            accumulator.load_row.eq(load.row),
            accumulator.load_data.eq(load.values),
            accumulator.scatter_en.eq(a_valid),
            accumulator.scatter.eq(a_scatter),
            accumulator.read_row.eq(drain_row),
        ]

        # -- drain: tile row -> ReLU -> encoder -> response register --------------------------
        row_values = Signal.like(accumulator.read_data)
        m.d.comb += [
            relu.values.eq(accumulator.read_data),
            row_values.eq(Mux(drain_relu, relu.result, accumulator.read_data)),
            encoder.values.eq(row_values),
        ]
        with m.If(firing(Opcode.DRAIN)):
            m.d.sync += [draining.eq(1), drain_row.eq(0),
                         drain_relu.eq(body.drain.relu), drain_encode.eq(body.drain.encode)]
        last_row = drain_row == config.tile_m - 1
        with m.If(draining & (~rsp.valid | rsp.ready)):
            m.d.sync += [
                rsp.valid.eq(1),
                rsp.payload.row.eq(drain_row),
                rsp.payload.last.eq(last_row),
                rsp.payload.encoded.eq(drain_encode),
                rsp.payload.count.eq(encoder.count),
                rsp.payload.bitmap.eq(encoder.bitmap),
                rsp.payload.values.eq(Mux(drain_encode, encoder.packed, row_values)),
                drain_row.eq(drain_row + 1),
            ]
            with m.If(last_row):
                m.d.sync += draining.eq(0)
        with m.Elif(rsp.ready):
            m.d.sync += rsp.valid.eq(0)

        # -- errors, counters, idle -----------------------------------------------------------
        known = Cat(opcode == op for op in Opcode).any()
        conditions = {
            ErrorFlag.UNKNOWN_OPCODE: fire & ~known,
            ErrorFlag.KSTEP_UNEXPECTED: firing(Opcode.KSTEP) & kstep_unexpected,
            ErrorFlag.KSTEP_ORDER: firing(Opcode.KSTEP) & kstep_order,
            ErrorFlag.COUNT_MISMATCH: firing(Opcode.KSTEP) & count_mismatch,
            ErrorFlag.SPWMMA_ABORTED: fire & pending.any() & (opcode != Opcode.KSTEP) &
                                      (opcode != Opcode.CLEAR_STATUS),
            ErrorFlag.OHMMA_CONFLICT: firing(Opcode.OHMMA) & ohmma_conflict,
        }
        raised = Signal(ERROR_WIDTH)     # the flags are the consecutive bits 0, 1, 2, ...
        m.d.comb += raised.eq(Cat(conditions[flag] for flag in sorted(ErrorFlag)))
        clear_status = firing(Opcode.CLEAR_STATUS)
        m.d.sync += self.errors.eq(Mux(clear_status, 0, self.errors) | raised)

        operand = config.operand
        magnitude = operand.width - (1 if operand.is_float else 0)
        issue = sequencer.issue
        m.d.comb += [
            a_useful.bitmap.eq(issue.row_valid & Cat(Value.cast(issue.a_values[r])[:magnitude]
                                                     .any() for r in range(rows))),
            b_useful.bitmap.eq(issue.col_valid & Cat(Value.cast(issue.b_values[c])[:magnitude]
                                                     .any() for c in range(cols))),
        ]
        busy = Signal()
        m.d.comb += busy.eq(fire | sequencer.busy | m_valid | a_valid | draining)
        increments = {
            "cycles_busy": busy,
            "ohmma_issued": sequencer.issue_valid,
            "useful_macs": Mux(sequencer.issue_valid, a_useful.count * b_useful.count, 0),
            "mac_slots": Mux(sequencer.issue_valid, config.macs, 0),
        }
        for name, increment in increments.items():
            counter = getattr(self, name)
            m.d.sync += counter.eq(Mux(clear_status, 0, counter + increment))

        m.d.comb += self.idle.eq(pipeline_empty & ~draining & ~pending.any() & ~rsp.valid)
        return m
