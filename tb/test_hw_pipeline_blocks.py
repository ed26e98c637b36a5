"""The sparse core's extracted pipeline blocks on the Amaranth simulator, against the golden
arithmetic: PlacementCheck, MultiplyStage and ResponseFormatter."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from dstc.hw.multiply_stage import MultiplyStage
from dstc.hw.placement_check import PlacementCheck
from dstc.hw.response_formatter import ResponseFormatter
from dstc.sim.arith import Arithmetic
from dstc.sim.config import preset

PRESETS = ["small", "small-fp16"]


def _simulate(dut, bench, clocked=True):
    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def _random_placement(rng, config):
    """A placement dict with positions drawn from few values, so that conflicts happen."""
    rows, cols = config.array_rows, config.array_cols
    return {"rows": [int(r) for r in rng.integers(0, rows + 1, size=rows)],
            "row_valid": int(rng.integers(1 << rows)),
            "cols": [int(c) for c in rng.integers(0, cols + 1, size=cols)],
            "col_valid": int(rng.integers(1 << cols))}


def _valid_positions(positions, valid):
    return [p for i, p in enumerate(positions) if valid >> i & 1]


@pytest.mark.parametrize("preset_name", PRESETS)
def test_placement_check(preset_name, rng):
    config = preset(preset_name)
    dut = PlacementCheck(config)
    outcomes = set()

    async def bench(ctx):
        for _ in range(400):
            placement = _random_placement(rng, config)
            ctx.set(dut.placement, placement)
            rows = _valid_positions(placement["rows"], placement["row_valid"])
            cols = _valid_positions(placement["cols"], placement["col_valid"])
            conflict = len(set(rows)) < len(rows) or len(set(cols)) < len(cols)
            empty = not rows or not cols
            assert (ctx.get(dut.conflict), ctx.get(dut.empty)) == (conflict, empty), placement
            outcomes.add((conflict, empty))

    _simulate(dut, bench, clocked=False)
    assert outcomes == {(False, False), (False, True), (True, False), (True, True)}


def _random_raw(rng, number_type, shape):
    return rng.integers(0, 1 << number_type.width, size=shape, dtype=np.uint64)


@pytest.mark.parametrize("preset_name", PRESETS)
def test_multiply_stage(preset_name, rng):
    config = preset(preset_name)
    arith = Arithmetic(config)
    dut = MultiplyStage(config)
    rows, cols = config.array_rows, config.array_cols
    expected, seen = {}, []

    def signed(raw, number_type):
        return [int(v) for v in arith.from_bits(raw, number_type)] \
            if not number_type.is_float else [int(v) for v in raw]

    async def bench(ctx):
        for cycle in range(200):
            valid = int(rng.random() < 0.7)
            a = _random_raw(rng, config.operand, rows)
            b = _random_raw(rng, config.operand, cols)
            placement = _random_placement(rng, config)
            ctx.set(dut.issue.valid, valid)
            ctx.set(dut.issue.payload, {"a_values": signed(a, config.operand),
                                        "b_values": signed(b, config.operand),
                                        "placement": placement})
            if valid:
                products = arith.multiply(
                    arith.from_bits(a, config.operand)[:, None],
                    arith.from_bits(b, config.operand)[None, :])
                expected[cycle + dut.latency] = (
                    placement, arith.to_bits(products, config.product).tolist())
            # busy: an OHMMA issued one cycle ago (in the operand register) or two (in the
            # product register, i.e. on scatter now)
            assert ctx.get(dut.busy) == (cycle + 1 in expected or cycle in expected)
            assert ctx.get(dut.scatter_en) == (cycle in expected)
            if cycle in expected:
                scatter = ctx.get(dut.scatter)
                placement, products = expected[cycle]
                got = scatter.placement
                assert [got.rows[r] for r in range(rows)] == placement["rows"]
                assert got.row_valid == placement["row_valid"]
                assert [got.cols[c] for c in range(cols)] == placement["cols"]
                assert got.col_valid == placement["col_valid"]
                width = config.product.width
                assert [[scatter.products[r][c] & ((1 << width) - 1) for c in range(cols)]
                        for r in range(rows)] == products
                seen.append(cycle)
            await ctx.tick()

    _simulate(dut, bench)
    assert dut.latency == 2 and len(seen) > 100


@pytest.mark.parametrize("preset_name", PRESETS)
def test_response_formatter(preset_name, rng):
    config = preset(preset_name)
    arith = Arithmetic(config)
    dut = ResponseFormatter(config)
    accum, width = config.accum, config.accum.width

    async def bench(ctx):
        for _ in range(300):
            raw = _random_raw(rng, accum, config.tile_n)
            raw[rng.random(config.tile_n) < 0.4] = 0
            row, last = int(rng.integers(config.tile_m)), int(rng.integers(2))
            relu, encode = int(rng.integers(2)), int(rng.integers(2))
            values = arith.from_bits(raw, accum)
            ctx.set(dut.values, [int(v) for v in (raw if accum.is_float else values)])
            ctx.set(dut.row, row)
            ctx.set(dut.last, last)
            ctx.set(dut.mode, {"relu": relu, "encode": encode})
            if relu:
                values = arith.relu(values)
            bitmap = Arithmetic.is_nonzero(values)
            bits = arith.to_bits(values, accum)
            if encode:
                bits = np.concatenate([bits[bitmap], np.zeros((~bitmap).sum(), np.uint64)])
            got = ctx.get(dut.response)
            assert (got.row, got.last, got.encoded, got.count) == (row, last, encode,
                                                                   int(bitmap.sum()))
            assert got.bitmap == sum(1 << i for i in np.flatnonzero(bitmap))
            assert [got.values[i] & ((1 << width) - 1) for i in range(config.tile_n)] == \
                bits.tolist()

    _simulate(dut, bench, clocked=False)
