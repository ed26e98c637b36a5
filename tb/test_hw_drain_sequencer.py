"""DrainSequencer on the Amaranth simulator: rows in order, one per cycle, held under
backpressure, against a tiny reference of the response register."""

import gc
import warnings

import pytest
from amaranth import Module
from amaranth.hdl import UnusedElaboratable
from amaranth.lib import data
from amaranth.sim import Simulator

from dstc.hw.drain_sequencer import DrainSequencer

LAYOUT = data.StructLayout({"row": 3, "last": 1, "tag": 8})


def _bench_design(rows):
    """The sequencer with a payload computed from its row, as a core computes it."""
    dut = DrainSequencer(LAYOUT, rows)
    m = Module()
    m.submodules.dut = dut
    m.d.comb += [dut.payload.row.eq(dut.row), dut.payload.last.eq(dut.last),
                 dut.payload.tag.eq(dut.row * 7 + 3)]
    return m, dut


def _run(rows, ready_of_cycle, starts, cycles):
    """Simulate ``cycles`` cycles with ``start`` high in the cycles of ``starts`` and
    ``rsp.ready`` = ``ready_of_cycle(cycle)``; returns ``[(cycle, row, last, tag)]`` of the
    transfers and the ``busy`` trace."""
    m, dut = _bench_design(rows)
    transfers, busy = [], []

    async def bench(ctx):
        for cycle in range(cycles):
            ctx.set(dut.start, cycle in starts)
            ctx.set(dut.rsp.ready, ready_of_cycle(cycle))
            busy.append(ctx.get(dut.busy))
            if ctx.get(dut.rsp.valid) and ctx.get(dut.rsp.ready):
                beat = ctx.get(dut.rsp.payload)
                transfers.append((cycle, beat.row, beat.last, beat.tag))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return transfers, busy


@pytest.mark.parametrize("rows", [1, 5, 8])
def test_rows_leave_one_per_cycle_when_ready(rows):
    start = 2
    transfers, busy = _run(rows, lambda cycle: 1, {start}, start + rows + 6)
    # Row r is loaded in cycle start + 1 + r and taken in the next cycle.
    assert transfers == [(start + 2 + r, r, int(r == rows - 1), r * 7 + 3) for r in range(rows)]
    assert busy == [0] * (start + 1) + [1] * rows + [0] * 5


@pytest.mark.parametrize("rows", [1, 5, 8])
def test_backpressure_holds_rows(rows, rng):
    ready = [int(rng.random() < 0.4) for _ in range(200)]
    transfers, busy = _run(rows, lambda cycle: ready[cycle], {1}, 200)
    assert [t[1:] for t in transfers] == [(r, int(r == rows - 1), r * 7 + 3)
                                          for r in range(rows)]
    assert busy[-1] == 0


def test_two_drains_in_a_row():
    transfers, _ = _run(2, lambda cycle: 1, {0, 4}, 12)
    assert [(t[0], t[1]) for t in transfers] == [(2, 0), (3, 1), (6, 0), (7, 1)]


def raises_on_construction(error, match, build):
    """``build()`` raises ``error`` matching ``match`` (the half-built component it leaves
    behind is never elaborated: its warning is silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(error, match=match):
            build()
        gc.collect()


def test_parameters_are_checked():
    raises_on_construction(ValueError, r"^rows=0: must be a positive integer$",
                           lambda: DrainSequencer(LAYOUT, 0))
    raises_on_construction(TypeError, r"^layout=8: must be a lib.data layout$",
                           lambda: DrainSequencer(8, 4))
