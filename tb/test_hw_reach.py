"""Reach-limited lanes with lane skipping (``lane_placement="reach"``): the lane rule of the
spec, the lane spread and the placement check on the Amaranth simulator, and the whole core
against the model and against the crossbar (the same accept cycles, responses, counters)."""

import gc
import itertools
import warnings

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable
from amaranth.sim import Simulator
from core_scenarios import dense_program, malformed_programs, random_tile_program

from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import SPARSE_CORE
from dstc.hw.accumulator import AccumulatorTile
from dstc.hw.class_rounds import ClassRounds
from dstc.hw.class_select import ClassSelect
from dstc.hw.core import accumulator_for
from dstc.hw.lane_spread import LaneSpread
from dstc.hw.placement_check import PlacementCheck
from dstc.hw.reach_accumulator import ReachAccumulator
from dstc.sim.config import preset
from dstc.sim.core_model import CoreModel
from dstc.sim.golden import bitmap_issues, kstep_issues
from dstc.sim.isa import ErrorFlag, Ohmma, lane_reach, lane_reaches, reach_lanes


def _bits(flags):
    return sum(int(flag) << i for i, flag in enumerate(flags))


@pytest.mark.parametrize("width, lanes", [(8, 2), (8, 8), (16, 8), (8, 4)])
def test_reach_lanes_rise_and_stay_in_reach(width, lanes):
    """Every chunk of at most ``lanes`` positions (all of them, exhaustively): the lanes rise
    strictly, stay below ``lanes``, and each offset lies in [0, width - lanes]."""
    for count in range(lanes + 1):
        for positions in itertools.combinations(range(width), count):
            placed = reach_lanes(positions, lanes, width)
            offsets = np.asarray(positions) - placed
            assert (np.diff(placed) > 0).all() and (placed < lanes).all(), positions
            assert ((offsets >= 0) & (offsets <= width - lanes)).all(), positions


def test_reach_lanes_errors():
    with pytest.raises(ValueError, match=r"positions: 3 of them, more than lanes=2"):
        reach_lanes([0, 1, 2], 2, 8)
    with pytest.raises(ValueError, match=r"positions=\[3, 3\]: must rise strictly inside"):
        reach_lanes([3, 3], 2, 8)
    with pytest.raises(ValueError, match=r"side='diagonal': must be 'rows' or 'cols'"):
        lane_reach(preset("small"), "diagonal")


def test_lane_reach_of_each_placement():
    assert lane_reach(preset("default"), "rows")[3] == tuple(range(32))
    rows = lane_reach(preset("default-reach"), "rows")
    assert [len(reach) for reach in rows] == [25] * 8 and rows[3] == tuple(range(3, 28))
    assert [len(reach) for reach in lane_reach(preset("default-reach"), "cols")] == [17] * 16
    # G = 2 on the default shape: lanes 0-3 serve even rows, 4-7 odd; class lane j reaches
    # the class positions j .. j + 12 (13 rows).
    g2 = lane_reach(preset("default-reach").replace(row_classes=2), "rows")
    assert g2[1] == tuple(range(2, 28, 2)) and g2[5] == tuple(range(3, 29, 2))
    # G = 8: lane l owns the rows l mod 8 (4 of them), like a register bank.
    assert lane_reach(preset("default-reach").replace(row_classes=8), "rows")[5] == \
        (5, 13, 21, 29)
    h2 = lane_reach(preset("small8-reach").replace(col_classes=2), "cols")
    assert h2 == ((0, 2, 4, 6, 8, 10, 12), (2, 4, 6, 8, 10, 12, 14),
                  (1, 3, 5, 7, 9, 11, 13), (3, 5, 7, 9, 11, 13, 15))
    reach = preset("small8-reach")
    assert lane_reaches(reach, "rows", [0, 7], [8, 15])
    assert not lane_reaches(reach, "rows", [1], [0])
    assert not lane_reaches(reach, "rows", [0], [9])
    assert lane_reaches(preset("small8"), "rows", [1], [0])      # the crossbar reaches all
    assert not lane_reaches(reach.replace(row_classes=2), "rows", [0], [1])   # odd row


def test_every_chunk_lands_in_reach_with_classes():
    """Lane skipping inside each class puts every class chunk of at most C values on lanes
    that reach its positions (exhaustive over the class bitmaps of the small8 shape)."""
    for classes in (1, 2, 4, 8):
        config = preset("small8-reach").replace(row_classes=classes)
        reach = lane_reach(config, "rows")
        per_class, class_lanes = config.tile_m // classes, config.row_class_lanes
        for g in range(classes):
            for count in range(class_lanes + 1):
                for within in itertools.combinations(range(per_class), count):
                    lanes = g * class_lanes + reach_lanes(within, class_lanes, per_class)
                    rows = [g + classes * q for q in within]
                    assert all(row in reach[lane] for lane, row in zip(lanes, rows, strict=True))


def _settle(dut, check):
    sim = Simulator(dut)

    async def bench(ctx):
        check(ctx)

    sim.add_testbench(bench)
    sim.run()


def test_lane_spread_matches_the_spec(rng):
    """Random chunks of a 16-position bitmap over 8 lanes (every chunk size)."""
    width, lanes = 16, 8
    dut = LaneSpread(width, lanes, 8)
    cases = []
    for count in [0, 1, lanes, *rng.integers(0, lanes + 1, 40)]:
        positions = np.sort(rng.choice(width, size=int(count), replace=False))
        cases.append((positions, rng.integers(0, 256, lanes)))

    def check(ctx):
        for positions, values in cases:
            count = positions.size
            padded = [*positions.tolist(), *[0] * (lanes - count)]
            ctx.set(dut.positions, padded)
            ctx.set(dut.valid, (1 << count) - 1)
            ctx.set(dut.values, [int(v) for v in values])
            placed = reach_lanes(positions, lanes, width)
            expected_valid = _bits(np.isin(np.arange(lanes), placed))
            assert ctx.get(dut.lane_valid) == expected_valid, positions
            for k, lane in enumerate(placed):
                assert ctx.get(dut.lane_positions[int(lane)]) == positions[k]
                assert ctx.get(dut.lane_values[int(lane)]) == values[k]

    _settle(dut, check)


def test_placement_check_flags_lanes_out_of_reach():
    config = preset("small8-reach")
    dut = PlacementCheck(config)
    rows, cols = config.array_rows, config.array_cols
    cases = [   # (rows, cols, row_valid, out_of_reach)
        (list(range(rows)), list(range(cols)), (1 << rows) - 1, 0),
        (list(range(8, 16)), list(range(12, 16)), (1 << rows) - 1, 0),     # every top end
        ([9, *range(1, rows)], list(range(cols)), (1 << rows) - 1, 1),      # lane 0 -> 9
        ([0, 0, *range(2, rows)], list(range(cols)), (1 << rows) - 1, 1),   # lane 1 -> 0
        ([0, 0, *range(2, rows)], list(range(cols)), 0b11111101, 0),        # ... invalid
        (list(range(rows)), [13, 1, 2, 3], (1 << cols) - 1, 1),             # col lane 0 -> 13
    ]

    def check(ctx):
        for lane_rows, lane_cols, valid, expected in cases:
            ctx.set(dut.placement.rows, lane_rows)
            ctx.set(dut.placement.cols, lane_cols)
            ctx.set(dut.placement.row_valid, valid & ((1 << rows) - 1))
            ctx.set(dut.placement.col_valid, (1 << cols) - 1)
            assert ctx.get(dut.out_of_reach) == expected, (lane_rows, lane_cols)

    _settle(dut, check)


def test_accumulator_variant_of_each_placement():
    with warnings.catch_warnings():     # built to look at, never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        assert type(accumulator_for(preset("small8-reach"))) is ReachAccumulator
        assert type(accumulator_for(preset("small8"))) is AccumulatorTile
        gc.collect()


def test_core_model_flags_ohmma_out_of_reach(rng):
    """The command-level model drops an OHMMA whose lanes leave their reach and raises
    OHMMA_REACH; the crossbar executes the same command."""
    reach, crossbar = preset("small8-reach"), preset("small8")
    rows, cols = reach.array_rows, reach.array_cols
    command = Ohmma(a_values=np.ones(rows, np.int8), a_rows=np.roll(np.arange(rows), 1),
                    a_valid=np.ones(rows, bool), b_values=np.ones(cols, np.int8),
                    b_cols=np.arange(cols), b_valid=np.ones(cols, bool))
    model = CoreModel(reach)
    model.execute(command)
    assert model.errors == ErrorFlag.OHMMA_REACH and not model.tile.any()
    assert model.counters["ohmma_issued"] == 0
    model = CoreModel(crossbar)
    model.execute(command)
    assert model.errors == 0 and model.tile.sum() == rows * cols


def test_core_matches_the_model_and_the_crossbar_cycle_for_cycle(rng):
    """Random tiles and dense mode on the reach core: bit- and cycle-exact against the model,
    and the same accept cycles, responses and counters as the crossbar core."""
    reach, crossbar = preset("small8-reach"), preset("small8")
    commands = random_tile_program(rng, reach, tiles=3) + dense_program(rng, reach, tiles=1)
    run = simulate_commands(reach, commands)
    SPARSE_CORE.check(reach, commands, run, timing=True)
    same = simulate_commands(crossbar, commands)
    assert run.accept_cycles == same.accept_cycles and run.cycles == same.cycles
    assert _rows(run.responses) == _rows(same.responses) and run.counters == same.counters


def _rows(responses):
    return [(r.row, r.last, r.encoded, r.count, r.bitmap.tolist(), r.values.tolist())
            for r in responses]


def test_core_drops_ohmma_out_of_reach(rng):
    config = preset("small8-reach")
    commands, flags, dropped = malformed_programs(rng, config)["ohmma_reach"]
    assert dropped
    run = simulate_commands(config, commands)
    model = SPARSE_CORE.check(config, commands, run, timing=True)
    assert run.errors == int(flags) == model.errors == ErrorFlag.OHMMA_REACH


def _class_round(bitmap, values, config, round_):
    """The spec of one ClassSelect round on the row side: ``{lane: (row, value)}``."""
    classes, class_lanes = config.row_classes, config.row_class_lanes
    per_class = config.tile_m // classes
    set_rows = np.flatnonzero(bitmap)
    issued = {}
    for g in range(classes):
        class_rows = [r for r in set_rows if r % classes == g]
        chunk = class_rows[round_ * class_lanes:(round_ + 1) * class_lanes]
        within = [r // classes for r in chunk]
        for row, lane in zip(chunk, reach_lanes(within, class_lanes, per_class), strict=True):
            issued[g * class_lanes + int(lane)] = (row, values[np.searchsorted(set_rows, row)])
    return issued


@pytest.mark.parametrize("classes", [2, 4, 8])
def test_class_select_matches_the_spec(classes, rng):
    """Random bitmaps of every density over 16 rows and 8 lanes, every round."""
    config = preset("small8-reach").replace(row_classes=classes)
    width, lanes = config.tile_m, config.array_rows
    dut = ClassSelect(width, lanes, classes, 8)
    rounds_dut = ClassRounds(width, lanes, classes)
    cases = [np.ones(width, bool), np.zeros(width, bool),
             *(rng.random(width) < rng.random() for _ in range(30))]

    def check(ctx):
        for bitmap in cases:
            values = rng.integers(1, 256, width)
            ctx.set(dut.bitmap, _bits(bitmap))
            ctx.set(dut.values, [int(v) for v in values])
            rounds = int(bitmap_issues(bitmap, np.ones(config.tile_n, bool),
                                       config.replace(array_cols=16)))
            for round_ in range(width // lanes):
                ctx.set(dut.round, round_)
                expected = _class_round(bitmap, values, config, round_)
                assert ctx.get(dut.valid) == _bits(np.isin(np.arange(lanes), list(expected)))
                assert (round_ < rounds) == bool(expected), (bitmap, round_)
                for lane, (row, value) in expected.items():
                    assert ctx.get(dut.positions[lane]) == row
                    assert ctx.get(dut.lane_values[lane]) == value

    def check_rounds(ctx):
        for bitmap in cases:
            ctx.set(rounds_dut.bitmap, _bits(bitmap))
            counts = np.bincount(np.flatnonzero(bitmap) % classes, minlength=classes)
            assert ctx.get(rounds_dut.rounds) == \
                int((-(-counts // config.row_class_lanes)).max())

    _settle(dut, check)
    _settle(rounds_dut, check_rounds)


def test_bitmap_issues_of_lane_classes():
    config = preset("small8-g8")                  # 8 row classes of one lane
    a = np.zeros(16, bool)
    a[[0, 8]] = True                              # both in class 0: two rounds
    b = np.ones(16, bool)                         # 4 column rounds
    assert bitmap_issues(a, b, config) == 2 * 4
    assert bitmap_issues(a, b, preset("small8-reach")) == 1 * 4   # one chunk of 8 lanes
    a[[0, 8]], a[[0, 1]] = False, True            # classes 0 and 1: one round
    assert bitmap_issues(a, b, config) == 4
    assert bitmap_issues(a, np.zeros(16, bool), config) == 0
    full = np.ones(16, bool)
    # Dense: every class holds tile_m / G rows over its lanes, full throughput.
    for name in ("small8-g2", "small8-g4", "small8-g8", "small8-g8h2"):
        assert bitmap_issues(full, full, preset(name)) == preset(name).max_ohmma_per_kstep
    with pytest.raises(ValueError, match=r"row_classes=8, col_classes=1: with lane classes"):
        kstep_issues(2, 4, config)


@pytest.mark.parametrize("preset_name", ["small8-g2", "small8-g8h2"])
def test_class_core_matches_the_model(preset_name, rng):
    """Random tiles, dense mode and an OHMMA out of its class on a lane-class core: bit- and
    cycle-exact against the command-level model (the class cost per k-step)."""
    config = preset(preset_name)
    commands = random_tile_program(rng, config, tiles=2) + dense_program(rng, config, tiles=1)
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    commands, flags, _ = malformed_programs(rng, config)["ohmma_reach"]
    run = simulate_commands(config, commands)
    model = SPARSE_CORE.check(config, commands, run, timing=True)
    assert run.errors == int(flags) == model.errors == ErrorFlag.OHMMA_REACH
