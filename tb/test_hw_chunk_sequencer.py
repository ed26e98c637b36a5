"""ChunkSequencer on the Amaranth simulator: random k-steps (bitmap-placed and direct) offered
with idle gaps; every issued chunk pair and its cycle against the golden select."""

import pytest
from amaranth.sim import Simulator

from dstc.hw.chunk_sequencer import ChunkSequencer
from dstc.sim.bitmap import select_chunk
from dstc.sim.config import preset


def _bits(flags):
    return sum(int(flag) << i for i, flag in enumerate(flags))


def _random_work(rng, config):
    """A work item (the dict to set) and its expected issues."""
    rows, cols = config.array_rows, config.array_cols
    width = config.operand.width
    low, high = (0, 1 << width) if config.operand.is_float else (-(1 << width - 1),
                                                                  1 << width - 1)
    a_values = [int(v) for v in rng.integers(low, high, config.tile_m)]
    b_values = [int(v) for v in rng.integers(low, high, config.tile_n)]
    if rng.random() < 0.25:                         # a direct OHMMA
        placement = {"rows": [int(r) for r in rng.integers(config.tile_m, size=rows)],
                     "row_valid": int(rng.integers(1, 1 << rows)),
                     "cols": [int(c) for c in rng.integers(config.tile_n, size=cols)],
                     "col_valid": int(rng.integers(1, 1 << cols))}
        work = {"a_values": a_values, "b_values": b_values, "a_chunks": 1, "b_chunks": 1,
                "direct": 1, "placement": placement}
        issue = (a_values[:rows], b_values[:cols], placement["rows"], placement["row_valid"],
                 placement["cols"], placement["col_valid"])
        return work, [issue]
    a_map = rng.random(config.tile_m) < rng.random()
    b_map = rng.random(config.tile_n) < rng.random()
    a_map[rng.integers(config.tile_m)] = b_map[rng.integers(config.tile_n)] = True
    a_chunks, b_chunks = -(-a_map.sum() // rows), -(-b_map.sum() // cols)
    issues = []
    for i in range(a_chunks):
        a_pos, a_ok = select_chunk(a_map, i, rows)
        for j in range(b_chunks):
            b_pos, b_ok = select_chunk(b_map, j, cols)
            issues.append((a_values[i * rows:(i + 1) * rows], b_values[j * cols:(j + 1) * cols],
                           [int(p) for p in a_pos], _bits(a_ok), [int(p) for p in b_pos],
                           _bits(b_ok)))
    work = {"a_bitmap": _bits(a_map), "b_bitmap": _bits(b_map), "a_values": a_values,
            "b_values": b_values, "a_chunks": int(a_chunks), "b_chunks": int(b_chunks)}
    return work, issues


def _issued(payload, config):
    placement = payload.placement
    return ([payload.a_values[r] for r in range(config.array_rows)],
            [payload.b_values[c] for c in range(config.array_cols)],
            [placement.rows[r] for r in range(config.array_rows)], placement.row_valid,
            [placement.cols[c] for c in range(config.array_cols)], placement.col_valid)


@pytest.mark.parametrize("preset_name", ["small", "small-fp16"])
@pytest.mark.parametrize("gaps", [0.0, 0.5])
def test_issues_against_golden_select(preset_name, gaps, rng):
    config = preset(preset_name)
    dut = ChunkSequencer(config)
    assert dut.issue.ready.value == 1            # the pipeline behind it never stalls
    assert dut.latency == 1
    expected, issued = [], []

    async def bench(ctx):
        work, issues = _random_work(rng, config)
        for cycle in range(400):
            offer = rng.random() >= gaps
            ctx.set(dut.work.valid, offer)
            ctx.set(dut.work.payload, work)
            if ctx.get(dut.issue.valid):
                issued.append((cycle, _issued(ctx.get(dut.issue.payload), config)))
            if offer and ctx.get(dut.work.ready):
                expected.extend((cycle + dut.latency + n, issue)
                                for n, issue in enumerate(issues))
                work, issues = _random_work(rng, config)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    expected = [item for item in expected if item[0] < 400]
    assert len(expected) > 100
    assert issued == expected
    if gaps == 0.0:                               # back to back: an issue in every cycle
        assert [cycle for cycle, _ in issued] == list(range(1, 400))
